package graphsim

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/dedesales/exchange-connector/internal/model"
)

// noteIDs collects the message IDs of notification POSTs until n items came.
func noteIDs(t *testing.T, sb *subscriber, n int) (ids []string, posts int) {
	t.Helper()
	for len(ids) < n {
		posts++
		for _, it := range recv(t, sb.notes) {
			ids = append(ids, it.(map[string]any)["resourceData"].(map[string]any)["id"].(string))
		}
	}
	return ids, posts
}

func TestDeliveryLatencyHoldsEachNotification(t *testing.T) {
	sb := newSubscriber(t)
	s := startSim(t, sb, nil)
	s.subscribe(sb, nil)
	// Graph's up to 3 minutes, compressed 1,000-fold: 0–180 ms per notification.
	code, _, out := s.do("POST", "/_sim/faults", map[string]any{"notifyLatency": "0s-3m", "timeScale": 0.001}, nil)
	if code != http.StatusOK || out["notifyLatency"] != "0s-3m" {
		t.Fatalf("faults: %d %v", code, out)
	}
	var want []string
	for range 8 {
		want = append(want, s.addMessage(mailbox, "inbox", map[string]any{"subject": "late"}))
	}
	got, _ := noteIDs(t, sb, len(want))
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("delivered %v, want each of %v once", got, want)
	}
	eventually(t, "the delivery counters", func() bool { return s.NotifyStats().Delivered == 8 })
	if st := s.NotifyStats(); st.Delayed != 8 || st.Duplicates != 0 {
		t.Errorf("stats = %+v", st)
	}

	// A fixed latency is served before the POST (a lower bound only).
	s.SetFaults(Faults{Delivery: Delivery{NotifyLatency: "1h", TimeScale: 0.0001}}) // 360 ms
	start := time.Now()
	id := s.addMessage(mailbox, "inbox", map[string]any{"subject": "fixed"})
	if got, _ := noteIDs(t, sb, 1); got[0] != id {
		t.Errorf("got %v, want %s", got, id)
	}
	if d := time.Since(start); d < 360*time.Millisecond {
		t.Errorf("delivered after %v, want at least 360 ms", d)
	}
}

func TestDeliveryDuplicatesArriveInTheirOwnPOST(t *testing.T) {
	sb := newSubscriber(t)
	s := startSim(t, sb, nil)
	s.subscribe(sb, nil)
	s.SetFaults(Faults{Delivery: Delivery{DuplicateRate: 1, DuplicateDelay: "30s", TimeScale: 0.01}}) // 300 ms later
	a := s.addMessage(mailbox, "inbox", map[string]any{"subject": "a"})
	b := s.addMessage(mailbox, "inbox", map[string]any{"subject": "b"})
	if st := s.NotifyStats(); st.InFlight != 2 {
		t.Errorf("in flight before the duplicates went out: %d, want 2", st.InFlight)
	}
	got, _ := noteIDs(t, sb, 4)
	count := map[string]int{}
	for _, id := range got {
		count[id]++
	}
	if count[a] != 2 || count[b] != 2 {
		t.Errorf("deliveries per message = %v, want 2 each", count)
	}
	eventually(t, "the delivery counters", func() bool { return s.NotifyStats().Delivered == 4 })
	if st := s.NotifyStats(); st.Duplicates != 2 {
		t.Errorf("stats = %+v", st)
	}
}

func TestDeliveryNotFoundAfterCreated(t *testing.T) {
	sb := newSubscriber(t)
	s := startSim(t, sb, nil)
	s.subscribe(sb, nil)
	// Delta rounds of Sent Items before the copy exists.
	_, _, dl := s.deltaRound("/users/"+mailbox+"/mailFolders/sentitems/messages/delta?$select=subject", 10)

	s.SetFaults(Faults{Delivery: Delivery{NotFoundAfterCreated: "10m", NotFoundFolders: []string{"sentitems"}, TimeScale: 0.002}}) // 1.2 s
	sent := s.addMessage(mailbox, "sentitems", map[string]any{"subject": "sent copy"})
	inbox := s.addMessage(mailbox, "inbox", map[string]any{"subject": "inbox"})
	got, _ := noteIDs(t, sb, 2)
	if !slices.Contains(got, sent) || !slices.Contains(got, inbox) {
		t.Fatalf("notified %v", got)
	}
	// Notified, yet not there: 404 ErrorItemNotFound, not in delta.
	code, _, e := s.graph("GET", "/users/"+mailbox+"/messages/"+url.PathEscape(sent), nil)
	if code != http.StatusNotFound || e["error"].(map[string]any)["code"] != "ErrorItemNotFound" {
		t.Errorf("GET right after created: %d %v", code, e)
	}
	if items, _, _ := s.deltaRound(dl, 10); len(items) != 0 {
		t.Errorf("delta sees the hidden copy: %v", items)
	}
	// Other folders are not affected.
	if code, _, _ := s.graph("GET", "/users/"+mailbox+"/messages/"+url.PathEscape(inbox), nil); code != http.StatusOK {
		t.Errorf("inbox message: %d", code)
	}
	// Then it appears, for GET and for the next delta round from the old link.
	eventually(t, "the Sent Items copy", func() bool {
		code, _, _ := s.graph("GET", "/users/"+mailbox+"/messages/"+url.PathEscape(sent), nil)
		return code == http.StatusOK
	})
	items, _, _ := s.deltaRound(dl, 10)
	if len(items) != 1 || items[0]["id"] != sent {
		t.Errorf("delta after the copy appeared: %v", items)
	}
	if st := s.NotifyStats(); st.NotFoundAfterCreated != 1 {
		t.Errorf("stats = %+v", st)
	}

	// The wait runs on the simulator's clock: advancing it ends the wait.
	s.SetFaults(Faults{Delivery: Delivery{NotFoundAfterCreated: "3h"}})
	late := s.addMessage(mailbox, "inbox", map[string]any{"subject": "three hours"})
	if code, _, _ := s.graph("GET", "/users/"+mailbox+"/messages/"+url.PathEscape(late), nil); code != http.StatusNotFound {
		t.Errorf("before the clock moved: %d", code)
	}
	s.AdvanceClock(2 * time.Hour)
	if code, _, _ := s.graph("GET", "/users/"+mailbox+"/messages/"+url.PathEscape(late), nil); code != http.StatusNotFound {
		t.Errorf("after 2 h: %d", code)
	}
	s.AdvanceClock(time.Hour)
	if code, _, _ := s.graph("GET", "/users/"+mailbox+"/messages/"+url.PathEscape(late), nil); code != http.StatusOK {
		t.Errorf("after 3 h: %d", code)
	}
}

func TestDeliveryGraphRetrySchedule(t *testing.T) {
	d := Delivery{RetryWindow: "4h"}
	got := d.retrySchedule(RetryPolicy{})
	want := []time.Duration{10 * time.Minute, 20 * time.Minute, 40 * time.Minute, 80 * time.Minute, 90 * time.Minute}
	if !slices.Equal(got, want) {
		t.Errorf("4-hour schedule = %v, want %v", got, want)
	}
	var sum time.Duration
	for _, w := range got {
		sum += w
	}
	if sum != 4*time.Hour {
		t.Errorf("the last retry comes after %v, want 4h", sum)
	}
	d.TimeScale = 0.001
	if got := d.retrySchedule(RetryPolicy{}); got[0] != 600*time.Millisecond {
		t.Errorf("scaled first retry = %v", got[0])
	}
	// Without a window, the simulator's own policy.
	p := RetryPolicy{MaxAttempts: 4, InitialBackoff: time.Second, MaxBackoff: 3 * time.Second}
	if got := (&Delivery{}).retrySchedule(p); !slices.Equal(got, []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}) {
		t.Errorf("policy schedule = %v", got)
	}
}

func TestDeliveryRetriesForTheWindowThenDrops(t *testing.T) {
	sb := newSubscriber(t)
	s := startSim(t, sb, nil)
	s.subscribe(sb, nil)
	// 4 hours at 1/10,000: retries after 60, 120, 240, 480, 540 ms.
	s.SetFaults(Faults{Delivery: Delivery{RetryWindow: "4h", TimeScale: 0.0001}})
	sb.set(func(sb *subscriber) { sb.failNext = 3 }) // the endpoint is down for three attempts
	id := s.addMessage(mailbox, "inbox", map[string]any{"subject": "retried"})
	for i := range 4 {
		if got, _ := noteIDs(t, sb, 1); got[0] != id {
			t.Fatalf("attempt %d: %v", i+1, got)
		}
	}
	eventually(t, "delivery", func() bool { return s.NotifyStats().Delivered == 1 })
	if st := s.NotifyStats(); st.Retries != 3 || st.Failed != 0 {
		t.Errorf("stats = %+v", st)
	}

	// Down for longer than the window: dropped after the last retry, then
	// a "missed" lifecycle event.
	s.SetFaults(Faults{MissedAfterDrop: true, Delivery: Delivery{RetryWindow: "4h", TimeScale: 0.0001}})
	sb.set(func(sb *subscriber) { sb.failNext = 1000 })
	s.addMessage(mailbox, "inbox", map[string]any{"subject": "dropped"})
	_, posts := noteIDs(t, sb, 6) // the first attempt and five retries
	if posts != 6 {
		t.Errorf("%d POSTs", posts)
	}
	lc := recv(t, sb.lifecycle)
	if lc[0].(map[string]any)["lifecycleEvent"] != model.EventMissed {
		t.Errorf("lifecycle = %v", lc)
	}
	eventually(t, "the failure counter", func() bool { return s.NotifyStats().Failed == 1 })
	if st := s.NotifyStats(); st.Retries != 8 {
		t.Errorf("stats = %+v", st)
	}
	// The missed event fails too (the endpoint is still down) and is retried
	// in turn; then nothing more is to come.
	eventually(t, "nothing in flight", func() bool { return s.NotifyStats().InFlight == 0 })
}

func TestDeliveryKnobsAreValidated(t *testing.T) {
	s := startSim(t, nil, nil)
	for _, bad := range []map[string]any{
		{"notifyLatency": "3m-10s"}, {"notifyLatency": "soon"}, {"duplicateRate": 1.5},
		{"timeScale": -1}, {"retryWindow": "-4h"}, {"notFoundAfterCreated": "x-1m"},
	} {
		if code, _, out := s.do("POST", "/_sim/faults", bad, nil); code != http.StatusBadRequest {
			t.Errorf("%v accepted: %d %v", bad, code, out)
		}
	}
	if _, err := ParseScenario([]byte("faults: {notifyLatency: 20s-3m, duplicateRate: 0.3, retryWindow: 4h, timeScale: 0.01}\n")); err != nil {
		t.Fatal(err)
	}
	sc, _ := ParseScenario([]byte("faults: {notifyLatency: 3m-20s}\n"))
	if err := s.ApplyScenario(sc); err == nil {
		t.Error("a scenario with a reversed span was applied")
	}
	sc, _ = ParseScenario([]byte("faults: {notifyLatency: 20s-3m, notFoundAfterCreated: 1m, notFoundFolders: [sentitems], retryWindow: 4h}\n"))
	if err := s.ApplyScenario(sc); err != nil {
		t.Fatal(err)
	}
	if f := s.CurrentFaults(); f.NotifyLatency != "20s-3m" || f.RetryWindow != "4h" || f.NotFoundFolders[0] != "sentitems" {
		t.Errorf("faults = %+v", f)
	}
}
