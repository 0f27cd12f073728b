package webhooks

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dedesales/exchange-connector/internal/metrics"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/queue"
)

// Microsoft's own examples (testdata/graph-real, copied verbatim from the
// Graph documentation; see its SOURCES.md) through the intake. Their
// placeholders are Microsoft's; they are replaced here as the docs mean
// them: a subscription ID, the tenant's and user's GUIDs, a message ID and
// the clientState the connector gave the subscription.

const (
	realSubscription = "9a6f2c1e-4b7d-4e2a-8c3f-5d1e0b9a7c42"
	realUser         = "622eaaff-0683-4862-9de4-f2ec83c2bd98"
	realTenant       = "84bd8158-6d4d-4958-8b9f-9d6445542f95"
	realMessage      = "AAMkAGUwNjQ4ZjIxAAA="
)

// realFixture reads testdata/graph-real/name with the replacements applied
// (pairs of placeholder and value).
func realFixture(t *testing.T, name string, replace ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "graph-real", name))
	if err != nil {
		t.Fatal(err)
	}
	return []byte(strings.NewReplacer(replace...).Replace(string(b)))
}

func TestGraphRealNotifications(t *testing.T) {
	for _, tc := range []struct {
		file    string
		replace func(clientState string) []string
		want    queue.ProcessMessagePayload
	}{
		{
			// The webhooks page's example: resource "users/{user}@{tenant}/messages/{id}" in lower case.
			file: "notification-message-created.json",
			replace: func(cs string) []string {
				return []string{"{subscription_guid}", realSubscription, "secretClientValue", cs,
					"{user_guid}", realUser, "{tenant_guid}", realTenant, "{long_id_string}", realMessage}
			},
			want: queue.ProcessMessagePayload{EmployeeID: 42, UserID: realUser + "@" + realTenant, MessageID: realMessage,
				SubscriptionID: realSubscription, ChangeType: "created", ETag: `W/"CQAAABYAAADkrWGo7bouTKlsgTZMr9KwAAAUWRHf"`, NotifiedAt: testNow},
		},
		{
			// The Outlook overview's example: concrete IDs, an @odata.id that differs from resource (a doc typo).
			file: "notification-message-created-outlook-overview.json",
			replace: func(cs string) []string {
				return []string{"<<--SpecifiedClientState-->>", cs, "<<--TenantForWhichNotificationWasSent-->>", realTenant}
			},
			want: queue.ProcessMessagePayload{EmployeeID: 42, UserID: realUser, MessageID: realMessage,
				SubscriptionID: "c6126aa3-0ed8-412f-a988-71e6cee627c4", ChangeType: "created",
				ETag: `W/"CQAAABYAAACQ2fKdhq8oSKEDSVrdi3lRAAGDUUXn"`, NotifiedAt: testNow},
		},
	} {
		t.Run(tc.file, func(t *testing.T) {
			ev := newEnv(t)
			ev.post(t, PathNotifications, realFixture(t, tc.file, tc.replace(ev.keys.Generate(42))...), http.StatusAccepted)
			if diff := cmp.Diff([]queue.ProcessMessagePayload{tc.want}, messagePayloads(t, ev.pending(t))); diff != "" {
				t.Errorf("pending tasks mismatch (-want +got):\n%s", diff)
			}
			if got := testutil.ToFloat64(ev.m.TasksEnqueued.WithLabelValues(queue.TypeProcessMessage)); got != 1 {
				t.Errorf("enqueued counted %v, want 1", got)
			}
		})
		t.Run(tc.file+" verbatim", func(t *testing.T) {
			// Unreplaced, the docs' clientState placeholder cannot verify:
			// accepted (Graph must not retry), dropped, counted, logged.
			ev := newEnv(t)
			ev.post(t, PathNotifications, realFixture(t, tc.file), http.StatusAccepted)
			if n := len(ev.pending(t)); n != 0 {
				t.Errorf("%d tasks from the verbatim example, want none", n)
			}
			if got := testutil.ToFloat64(ev.m.WebhookDropped.WithLabelValues(metrics.KindNotification, metrics.ReasonBadClientState)); got != 1 {
				t.Errorf("dropped{bad client state} = %v, want 1", got)
			}
			if !strings.Contains(ev.log.String(), "reason="+metrics.ReasonBadClientState) {
				t.Errorf("no warning logged:\n%s", ev.log.String())
			}
		})
	}
}

func TestGraphRealLifecycleEvents(t *testing.T) {
	expires := "2019-03-20T11:00:00.0000000Z"
	angle := func(cs string) []string {
		return []string{"<subscription_guid>", realSubscription, "<tenant_guid>", realTenant, "<secretClientState>", cs}
	}
	for _, tc := range []struct {
		name, file string
		replace    func(clientState string) []string
		sub, event string
	}{
		{"missed", "lifecycle-missed.json", angle, realSubscription, model.EventMissed},
		{"subscriptionRemoved", "lifecycle-subscriptionRemoved.json", angle, realSubscription, model.EventSubscriptionRemoved},
		{"reauthorizationRequired", "lifecycle-reauthorizationRequired.json",
			func(cs string) []string { return []string{"{secret client state}", cs} },
			"e3898f08-5cd0-4a6a-80fc-6addbfb73b7b", model.EventReauthorizationRequired},
		// The current docs' template names the three events in one string.
		{"template as missed", "lifecycle-generic-template-current.json", templated(angle, model.EventMissed), realSubscription, model.EventMissed},
		{"template as subscriptionRemoved", "lifecycle-generic-template-current.json", templated(angle, model.EventSubscriptionRemoved), realSubscription, model.EventSubscriptionRemoved},
		{"template as reauthorizationRequired", "lifecycle-generic-template-current.json", templated(angle, model.EventReauthorizationRequired), realSubscription, model.EventReauthorizationRequired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := newEnv(t)
			body := realFixture(t, tc.file, tc.replace(ev.keys.Generate(7))...)
			if !strings.Contains(string(body), expires) && !strings.Contains(string(body), "2019-09-18T00:52:45") {
				t.Fatalf("%s is not the expected example", tc.file)
			}
			ev.post(t, PathLifecycle, body, http.StatusAccepted)
			want := []queue.LifecyclePayload{{EmployeeID: 7, SubscriptionID: tc.sub, Event: tc.event, NotifiedAt: testNow}}
			if diff := cmp.Diff(want, lifecyclePayloads(t, ev)); diff != "" {
				t.Errorf("pending tasks mismatch (-want +got):\n%s", diff)
			}
		})
	}
	// The template verbatim (its event is "subscriptionRemoved or missed or
	// reauthorizationRequired"): no event the connector knows, so it is
	// dropped with its name logged, not guessed.
	t.Run("template verbatim event", func(t *testing.T) {
		ev := newEnv(t)
		ev.post(t, PathLifecycle, realFixture(t, "lifecycle-generic-template-current.json", angle(ev.keys.Generate(7))...), http.StatusAccepted)
		if n := len(ev.pending(t)); n != 0 {
			t.Errorf("%d tasks, want none", n)
		}
		if got := testutil.ToFloat64(ev.m.WebhookDropped.WithLabelValues(metrics.KindLifecycle, metrics.ReasonUnknownEvent)); got != 1 {
			t.Errorf("dropped{unknown event} = %v, want 1", got)
		}
		if !strings.Contains(ev.log.String(), "subscriptionRemoved or missed") {
			t.Errorf("the unknown event's name is not logged:\n%s", ev.log.String())
		}
	})
}

// templated adds the replacement of the template's event text to replace.
func templated(replace func(string) []string, event string) func(string) []string {
	return func(cs string) []string {
		return append(replace(cs), "subscriptionRemoved or missed or reauthorizationRequired", event)
	}
}

// Every Microsoft example of this folder is used above.
func TestGraphRealFixturesAllUsed(t *testing.T) {
	used := map[string]bool{"notification-message-created.json": true, "notification-message-created-outlook-overview.json": true,
		"lifecycle-missed.json": true, "lifecycle-subscriptionRemoved.json": true, "lifecycle-reauthorizationRequired.json": true,
		"lifecycle-generic-template-current.json": true}
	files, err := filepath.Glob(filepath.Join("testdata", "graph-real", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		if !used[filepath.Base(f)] {
			t.Errorf("%s is not used by a test", f)
		}
	}
}
