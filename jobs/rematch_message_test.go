package jobs

import (
	"errors"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/grapherr"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// A message that now matches but is gone from the mailbox is asked for
// notFoundRetries more times and then noted on its decision with the
// change that made it match; nothing is imported.
func TestRematchMessageOfAVanishedMessage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newRematchFixture(t, st)
		f.deliver(t, inbound("gone", newSender))
		f.graph.mu.Lock()
		delete(f.graph.messages, "gone")
		f.graph.mu.Unlock()
		task, err := NewRematchMessageTask(RematchMessagePayload{EmployeeID: 1, MessageID: "gone", Cause: "contact 7 saved", Requested: f.now})
		if err != nil {
			t.Fatal(err)
		}
		attempts := runRetried(t, f.p.RematchMessage, task, 12)
		if len(attempts) != notFoundRetries+1 || attempts[notFoundRetries].err != nil {
			t.Fatalf("attempts %+v, want %d, the last done", attempts, notFoundRetries+1)
		}
		for _, a := range attempts[:notFoundRetries] {
			if !errors.Is(a.err, grapherr.ErrNotFound) || errors.Is(a.err, asynq.SkipRetry) {
				t.Errorf("attempt %+v, want a retried not-found", a)
			}
		}
		d := f.decision(t, "gone")
		if d.Outcome != "ignored" || !strings.Contains(d.Notes(), "retroactive import after a change (contact 7 saved) failed: the message is no longer in the mailbox") {
			t.Errorf("decision %s, notes %q", d.Outcome, d.Notes())
		}
	})
}
