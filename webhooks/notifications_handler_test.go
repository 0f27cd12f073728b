package webhooks

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dedesales/exchange-connector/internal/clientstate"
	"github.com/dedesales/exchange-connector/internal/metrics"
	"github.com/dedesales/exchange-connector/internal/queue"
)

// samplePayload is the task payload expected from notification-created.json
// for employee 42.
var samplePayload = queue.ProcessMessagePayload{
	EmployeeID:     42,
	UserID:         "4c1a7b1e-9f3a-4f0e-8d5c-2b1f0e6a9c11",
	MessageID:      "AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0AqVxH3fJ-YkqsV8Dl9aqRcgAAAJ5W2bYAAA=",
	SubscriptionID: "7f105c7d-2dc5-4530-97cd-4e7ae6534c07",
	ChangeType:     "created",
	ETag:           `W/"CQAAABYAAACpXEfd8n5iSqxXwOX1qpFyAAAAnlbaGQ=="`,
	NotifiedAt:     testNow,
}

// messagePayloads decodes the payloads of message tasks.
func messagePayloads(t *testing.T, tasks []*asynq.TaskInfo) []queue.ProcessMessagePayload {
	t.Helper()
	var out []queue.ProcessMessagePayload
	for _, ti := range tasks {
		if ti.Type != queue.TypeProcessMessage {
			t.Errorf("task type %q, want %q", ti.Type, queue.TypeProcessMessage)
			continue
		}
		var p queue.ProcessMessagePayload
		if err := json.Unmarshal(ti.Payload, &p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func TestNotificationEnqueued(t *testing.T) {
	ev := newEnv(t)
	ev.post(t, PathNotifications, fixture(t, "notification-created.json", ev.keys.Generate(42)), http.StatusAccepted)
	tasks := ev.pending(t)
	want := []queue.ProcessMessagePayload{samplePayload}
	if diff := cmp.Diff(want, messagePayloads(t, tasks)); diff != "" {
		t.Errorf("pending tasks mismatch (-want +got):\n%s", diff)
	}
	if got := testutil.ToFloat64(ev.m.TasksEnqueued.WithLabelValues(queue.TypeProcessMessage)); got != 1 {
		t.Errorf("enqueued counted %v, want 1", got)
	}
	if got := testutil.ToFloat64(ev.m.WebhookReceived.WithLabelValues(metrics.KindNotification)); got != 1 {
		t.Errorf("received counted %v, want 1", got)
	}
}

func TestDuplicateStorm(t *testing.T) {
	ev := newEnv(t)
	body := fixture(t, "notification-created.json", ev.keys.Generate(42))
	for range 50 {
		ev.post(t, PathNotifications, body, http.StatusAccepted)
	}
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if rec := ev.do(http.MethodPost, PathNotifications, body); rec.Code != http.StatusAccepted {
				t.Errorf("concurrent POST: %d %q", rec.Code, rec.Body.String())
			}
		})
	}
	wg.Wait()
	if diff := cmp.Diff([]queue.ProcessMessagePayload{samplePayload}, messagePayloads(t, ev.pending(t))); diff != "" {
		t.Errorf("pending tasks mismatch (-want +got):\n%s", diff)
	}
	if got := testutil.ToFloat64(ev.m.TasksDuplicate.WithLabelValues(queue.TypeProcessMessage)); got != 99 {
		t.Errorf("duplicates counted %v, want 99", got)
	}
}

func TestChangedETagIsANewTask(t *testing.T) {
	ev := newEnv(t)
	body := fixture(t, "notification-created.json", ev.keys.Generate(42))
	ev.post(t, PathNotifications, body, http.StatusAccepted)
	changed := strings.Replace(string(body), "nlbaGQ==", "nlbaGR==", 1)
	ev.post(t, PathNotifications, []byte(changed), http.StatusAccepted)
	ev.post(t, PathNotifications, []byte(changed), http.StatusAccepted)
	got := messagePayloads(t, ev.pending(t))
	if len(got) != 2 {
		t.Fatalf("%d pending tasks, want 2", len(got))
	}
	etags := map[string]bool{got[0].ETag: true, got[1].ETag: true}
	if !etags[samplePayload.ETag] || !etags[`W/"CQAAABYAAACpXEfd8n5iSqxXwOX1qpFyAAAAnlbaGR=="`] {
		t.Errorf("etags %v", etags)
	}
}

func TestInvalidItemsDropped(t *testing.T) {
	other, err := clientstate.NewKeys([]byte(otherSecret))
	if err != nil {
		t.Fatal(err)
	}
	keys := testKeys(t)
	good := keys.Generate(42)
	sample := func(edit func(item map[string]any)) []byte {
		var env struct {
			Value []map[string]any `json:"value"`
		}
		if err := json.Unmarshal(fixture(t, "notification-created.json", good), &env); err != nil {
			t.Fatal(err)
		}
		edit(env.Value[0])
		b, _ := json.Marshal(env)
		return b
	}
	set := func(k string, v any) func(map[string]any) { return func(m map[string]any) { m[k] = v } }
	tests := []struct {
		name   string
		body   []byte
		reason string
	}{
		{"placeholder clientState", fixture(t, "notification-created.json", placeholder), metrics.ReasonBadClientState},
		{"forged clientState", sample(set("clientState", "v1.42.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA")), metrics.ReasonBadClientState},
		{"other key", sample(set("clientState", other.Generate(42))), metrics.ReasonBadClientState},
		{"other employee", sample(set("clientState", strings.Replace(good, ".42.", ".43.", 1))), metrics.ReasonBadClientState},
		{"no clientState", sample(func(m map[string]any) { delete(m, "clientState") }), metrics.ReasonBadClientState},
		{"bad resource", sample(set("resource", "Users/u1/Events/e1")), metrics.ReasonBadResource},
		{"traversal resource", sample(set("resource", "Users/u1/Messages/..")), metrics.ReasonBadResource},
		{"no resource", sample(func(m map[string]any) { delete(m, "resource") }), metrics.ReasonBadResource},
		{"resourceData id differs", sample(func(m map[string]any) { m["resourceData"].(map[string]any)["id"] = "other" }), metrics.ReasonBadResource},
		{"deleted", sample(set("changeType", "deleted")), metrics.ReasonBadChangeType},
		{"bad subscription", sample(set("subscriptionId", "../x")), metrics.ReasonBadSubscription},
		{"resource not a string", sample(set("resource", 5)), metrics.ReasonBadItem},
		{"item not an object", []byte(`{"value":[1]}`), metrics.ReasonBadItem},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := newEnv(t)
			ev.post(t, PathNotifications, tt.body, http.StatusAccepted)
			if n := len(ev.pending(t)); n != 0 {
				t.Errorf("%d tasks enqueued, want none", n)
			}
			if got := testutil.ToFloat64(ev.m.WebhookDropped.WithLabelValues(metrics.KindNotification, tt.reason)); got != 1 {
				t.Errorf("dropped{reason=%s} = %v, want 1", tt.reason, got)
			}
		})
	}
}

func TestMixedBatch(t *testing.T) {
	ev := newEnv(t)
	valid := fixture(t, "notification-created.json", ev.keys.Generate(42))
	forged := fixture(t, "notification-created.json", "forged")
	var a, b struct {
		Value []json.RawMessage `json:"value"`
	}
	json.Unmarshal(valid, &a)
	json.Unmarshal(forged, &b)
	batch, _ := json.Marshal(map[string]any{"value": []json.RawMessage{b.Value[0], a.Value[0], json.RawMessage(`"junk"`)}})
	ev.post(t, PathNotifications, batch, http.StatusAccepted)
	if diff := cmp.Diff([]queue.ProcessMessagePayload{samplePayload}, messagePayloads(t, ev.pending(t))); diff != "" {
		t.Errorf("pending tasks mismatch (-want +got):\n%s", diff)
	}
}

func TestNotificationsRouteTakesLifecycleEvents(t *testing.T) {
	// Graph allows lifecycleNotificationUrl == notificationUrl.
	ev := newEnv(t)
	ev.post(t, PathNotifications, fixture(t, "lifecycle-missed.json", ev.keys.Generate(7)), http.StatusAccepted)
	tasks := ev.pending(t)
	if len(tasks) != 1 || tasks[0].Type != queue.TypeLifecycle {
		t.Fatalf("tasks %v, want one %s", tasks, queue.TypeLifecycle)
	}
}
