package graphsim

import (
	"net/http"
	"sync"
	"testing"

	"github.com/dedesales/exchange-connector/internal/model"
)

func TestThrottleConcurrency(t *testing.T) {
	s := startSim(t, nil, nil)
	s.graph("GET", "/users/"+mailbox, nil) // token + user
	entered := make(chan struct{}, 8)
	release := make(chan struct{})
	s.SetGraphHook(func(r *http.Request) {
		if r.PathValue("uid") == mailbox {
			entered <- struct{}{}
			<-release
		}
	})

	var wg sync.WaitGroup
	codes := make(chan int, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _, _ := s.graph("GET", "/users/"+mailbox+"/mailFolders/inbox", nil)
			codes <- code
		}()
	}
	for i := 0; i < 4; i++ {
		<-entered
	}
	// The fifth concurrent request for the same mailbox is throttled.
	code, h, e := s.graph("GET", "/users/"+mailbox+"/mailFolders/inbox", nil)
	if code != http.StatusTooManyRequests || h.Get("Retry-After") == "" ||
		e["error"].(map[string]any)["code"] != "ApplicationThrottled" {
		t.Errorf("fifth request: %d %v %v", code, h, e)
	}
	// Another mailbox is not affected.
	s.AddUser(UserInput{Mail: "other@example.com"})
	if code, _, _ := s.graph("GET", "/users/other@example.com", nil); code != http.StatusOK {
		t.Errorf("other mailbox: %d", code)
	}
	close(release)
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusOK {
			t.Errorf("held request: %d", c)
		}
	}
}

func TestThrottleStormAndAccessPolicy(t *testing.T) {
	s := startSim(t, nil, nil)
	s.graph("GET", "/users/"+mailbox, nil)
	code, _, out := s.do("POST", "/_sim/faults", map[string]any{"throttleEveryN": 2, "retryAfterSeconds": 7}, nil)
	if code != http.StatusOK || out["throttleEveryN"] != float64(2) {
		t.Fatalf("faults: %d %v", code, out)
	}
	var n429 int
	for i := 0; i < 10; i++ {
		code, h, _ := s.graph("GET", "/users/"+mailbox, nil)
		if code == http.StatusTooManyRequests {
			n429++
			if h.Get("Retry-After") != "7" {
				t.Errorf("Retry-After = %q", h.Get("Retry-After"))
			}
		}
	}
	if n429 != 5 {
		t.Errorf("%d of 10 throttled, want 5", n429)
	}

	// Graph's fractional Retry-After, sent verbatim.
	if code, _, out := s.do("POST", "/_sim/faults", map[string]any{"throttleEveryN": 1, "retryAfter": "2.128"}, nil); code != http.StatusOK {
		t.Fatalf("fractional faults: %d %v", code, out)
	}
	if code, h, _ := s.graph("GET", "/users/"+mailbox, nil); code != http.StatusTooManyRequests || h.Get("Retry-After") != "2.128" {
		t.Errorf("fractional: %d Retry-After = %q", code, h.Get("Retry-After"))
	}
	if code, _, _ := s.do("POST", "/_sim/faults", map[string]any{"retryAfter": "soon"}, nil); code != http.StatusBadRequest {
		t.Errorf("garbage retryAfter accepted: %d", code)
	}

	s.do("POST", "/_sim/faults", map[string]any{"reset": true, "allowedMailboxes": []string{mailbox}}, nil)
	if code, _, _ := s.graph("GET", "/users/"+mailbox+"/mailFolders/inbox", nil); code != http.StatusOK {
		t.Errorf("allowed mailbox: %d", code)
	}
	s.AddUser(UserInput{Mail: "outsider@example.com"})
	code, _, e := s.graph("GET", "/users/outsider@example.com/mailFolders/inbox", nil)
	if code != http.StatusForbidden || e["error"].(map[string]any)["code"] != "ErrorAccessDenied" ||
		e["error"].(map[string]any)["message"] != "Access to OData is disabled." {
		t.Errorf("denied mailbox: %d %v", code, e)
	}
}

func TestNotificationFaults(t *testing.T) {
	sb := newSubscriber(t)
	s := startSim(t, sb, nil)
	s.subscribe(sb, nil)

	// Duplicates: each POST three times.
	s.SetFaults(Faults{DuplicateNotifications: 3})
	id := s.addMessage(mailbox, "inbox", map[string]any{"subject": "dup"})
	for i := 0; i < 3; i++ {
		got := recv(t, sb.notes)
		if got[0].(map[string]any)["resourceData"].(map[string]any)["id"] != id {
			t.Errorf("duplicate %d: %v", i, got)
		}
	}

	// Drops, then a missed lifecycle event.
	s.SetFaults(Faults{DropNotifications: 1, MissedAfterDrop: true})
	s.addMessage(mailbox, "inbox", map[string]any{"subject": "dropped"})
	lc := recv(t, sb.lifecycle)
	if lc[0].(map[string]any)["lifecycleEvent"] != model.EventMissed {
		t.Errorf("lifecycle = %v", lc)
	}
	if st := s.NotifyStats(); st.Dropped != 1 {
		t.Errorf("dropped = %d", st.Dropped)
	}
	// The drop budget is used up: the next one is delivered.
	id = s.addMessage(mailbox, "inbox", map[string]any{"subject": "delivered"})
	if got := recv(t, sb.notes); got[0].(map[string]any)["resourceData"].(map[string]any)["id"] != id {
		t.Errorf("after drop: %v", got)
	}

	// Reordering: newest first, one POST each.
	s.SetFaults(Faults{ReorderNotifications: true, ReorderWindowMS: 300})
	var ids []string
	for i := 0; i < 3; i++ {
		ids = append(ids, s.addMessage(mailbox, "inbox", map[string]any{"subject": "r"}))
	}
	var order []string
	for len(order) < 3 {
		for _, it := range recv(t, sb.notes) {
			order = append(order, it.(map[string]any)["resourceData"].(map[string]any)["id"].(string))
		}
	}
	if order[0] != ids[2] || order[2] != ids[0] {
		t.Errorf("order %v, want reverse of %v", order, ids)
	}
}
