package model

import "testing"

func TestParseLifecycleEvent(t *testing.T) {
	for name, want := range map[string]string{
		"missed":                  EventMissed,
		"Missed":                  EventMissed, // the Outlook REST changeType
		"subscriptionRemoved":     EventSubscriptionRemoved,
		"SUBSCRIPTIONREMOVED":     EventSubscriptionRemoved,
		"reauthorizationRequired": EventReauthorizationRequired,
		" missed ":                EventMissed,
	} {
		if got, ok := ParseLifecycleEvent(name); !ok || got != want {
			t.Errorf("ParseLifecycleEvent(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
	for _, name := range []string{"", "subscriptionDeleted", "missedd"} {
		if got, ok := ParseLifecycleEvent(name); ok {
			t.Errorf("ParseLifecycleEvent(%q) = %q, known", name, got)
		}
	}
}
