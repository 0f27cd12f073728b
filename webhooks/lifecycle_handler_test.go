package webhooks

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dedesales/exchange-connector/internal/metrics"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/queue"
)

func TestLifecycleEvents(t *testing.T) {
	tests := []struct {
		file  string
		event string
	}{
		{"lifecycle-missed.json", model.EventMissed},
		{"lifecycle-reauthorization-required.json", model.EventReauthorizationRequired},
		{"lifecycle-subscription-removed.json", model.EventSubscriptionRemoved},
	}
	for _, tt := range tests {
		t.Run(tt.event, func(t *testing.T) {
			ev := newEnv(t)
			ev.post(t, PathLifecycle, fixture(t, tt.file, ev.keys.Generate(7)), http.StatusAccepted)
			want := []queue.LifecyclePayload{{
				EmployeeID:     7,
				SubscriptionID: "7f105c7d-2dc5-4530-97cd-4e7ae6534c07",
				Event:          tt.event,
				NotifiedAt:     testNow,
			}}
			if diff := cmp.Diff(want, lifecyclePayloads(t, ev)); diff != "" {
				t.Errorf("pending tasks mismatch (-want +got):\n%s", diff)
			}
			if got := testutil.ToFloat64(ev.m.WebhookReceived.WithLabelValues(metrics.KindLifecycle)); got != 1 {
				t.Errorf("received{lifecycle} = %v, want 1", got)
			}
		})
	}
}

func TestLifecycleOlderMissedShape(t *testing.T) {
	// Outlook REST's shape: PascalCase keys, ChangeType "Missed", no lifecycleEvent.
	ev := newEnv(t)
	body, _ := json.Marshal(map[string]any{"value": []map[string]any{{
		"SubscriptionId": "7f105c7d-2dc5-4530-97cd-4e7ae6534c07",
		"ChangeType":     "Missed",
		"ClientState":    ev.keys.Generate(7),
	}}})
	ev.post(t, PathLifecycle, body, http.StatusAccepted)
	got := lifecyclePayloads(t, ev)
	if len(got) != 1 || got[0].Event != model.EventMissed || got[0].EmployeeID != 7 {
		t.Errorf("payloads %+v, want one missed event of employee 7", got)
	}
}

func TestLifecycleDropped(t *testing.T) {
	tests := []struct {
		name, event, subscription, reason string
		forged                            bool
	}{
		{"unknown event", "somethingNew", "7f105c7d", metrics.ReasonUnknownEvent, false},
		{"forged", model.EventMissed, "7f105c7d", metrics.ReasonBadClientState, true},
		{"no subscription", model.EventSubscriptionRemoved, "", metrics.ReasonBadSubscription, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := newEnv(t)
			state := ev.keys.Generate(7)
			if tt.forged {
				state = state[:len(state)-1] + "x"
			}
			body, _ := json.Marshal(map[string]any{"value": []map[string]any{{
				"subscriptionId": tt.subscription, "clientState": state, "lifecycleEvent": tt.event,
			}}})
			ev.post(t, PathLifecycle, body, http.StatusAccepted)
			if n := len(ev.pending(t)); n != 0 {
				t.Errorf("%d tasks, want none", n)
			}
			if got := testutil.ToFloat64(ev.m.WebhookDropped.WithLabelValues(metrics.KindLifecycle, tt.reason)); got != 1 {
				t.Errorf("dropped{%s} = %v, want 1", tt.reason, got)
			}
			logs := ev.log.String()
			if !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "reason="+tt.reason) {
				t.Errorf("no warning with the reason logged:\n%s", logs)
			}
			if tt.reason == metrics.ReasonUnknownEvent && !strings.Contains(logs, "event="+tt.event) {
				t.Errorf("the unknown event's name is not logged:\n%s", logs)
			}
		})
	}
}

// lifecyclePayloads decodes the pending lifecycle tasks.
func lifecyclePayloads(t *testing.T, ev *env) []queue.LifecyclePayload {
	t.Helper()
	var out []queue.LifecyclePayload
	for _, ti := range ev.pending(t) {
		if ti.Type != queue.TypeLifecycle {
			t.Errorf("task type %q", ti.Type)
			continue
		}
		var p queue.LifecyclePayload
		if err := json.Unmarshal(ti.Payload, &p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}
