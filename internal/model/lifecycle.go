package model

import "strings"

// Lifecycle events of Outlook message subscriptions (Graph's lifecycleEvent;
// the older Outlook REST shape sends "Missed" as changeType). The webhook
// intake, the jobs and the Graph simulator all use these names.
//
// To add an event: add it here and to lifecycleEvents, then handle it in
// jobs.LifecycleHandler; until then both sides count and log it as unknown.
const (
	EventSubscriptionRemoved     = "subscriptionRemoved"
	EventReauthorizationRequired = "reauthorizationRequired"
	EventMissed                  = "missed"
)

// lifecycleEvents maps the lower-cased event names to their canonical form.
var lifecycleEvents = map[string]string{
	"subscriptionremoved":     EventSubscriptionRemoved,
	"reauthorizationrequired": EventReauthorizationRequired,
	"missed":                  EventMissed,
}

// ParseLifecycleEvent returns the canonical name of a lifecycle event,
// compared case-insensitively; ok is false for a name it does not know.
func ParseLifecycleEvent(name string) (event string, ok bool) {
	event, ok = lifecycleEvents[strings.ToLower(strings.TrimSpace(name))]
	return event, ok
}
