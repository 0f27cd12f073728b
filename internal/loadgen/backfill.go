package loadgen

import (
	"context"
	"fmt"
	"time"

	"github.com/dedesales/exchange-connector/internal/store"
)

// BackfillResult is the outcome of WaitBackfill.
type BackfillResult struct {
	Mailboxes       int     `json:"mailboxes"`
	SyncedSeconds   float64 `json:"synced_s"`     // every enabled mailbox subscribed with a completed sync
	ActivitySeconds float64 `json:"activities_s"` // Expect activities exist (0 when Expect is 0)
	Activities      int     `json:"activities"`
	Rate            float64 `json:"activities_per_s"`
	MaxRSSKB        int64   `json:"max_rss_kb,omitempty"`
	HWMKB           int64   `json:"vmhwm_kb,omitempty"`
	Complete        bool    `json:"complete"`
}

// WaitBackfill measures a fresh connector's initial sync from since: until
// every enabled mailbox has an active subscription and a completed sync (what
// `connector report --wait-synced` waits for) and until expect activities
// exist. It polls the database read-only.
func WaitBackfill(ctx context.Context, st *store.Store, since time.Time, expect, pid int, timeout time.Duration) (*BackfillResult, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res := &BackfillResult{}
	for {
		if pid > 0 {
			if m, err := ReadMem(pid); err == nil {
				res.MaxRSSKB, res.HWMKB = max(res.MaxRSSKB, m.RSSKB), max(res.HWMKB, m.HWMKB)
			}
		}
		if res.SyncedSeconds == 0 {
			if done, pending, err := st.SyncProgress(ctx); err == nil && pending == 0 && done > 0 {
				res.SyncedSeconds = time.Since(since).Seconds()
				res.Mailboxes = done
			}
		}
		if n, _, err := st.ActivityCount(ctx); err == nil {
			res.Activities = n
			if expect > 0 && n >= expect && res.ActivitySeconds == 0 {
				res.ActivitySeconds = time.Since(since).Seconds()
			}
		}
		if res.SyncedSeconds > 0 && (expect == 0 || res.ActivitySeconds > 0) {
			res.Complete = true
			if res.ActivitySeconds > 0 {
				res.Rate = float64(res.Activities) / res.ActivitySeconds
			}
			return res, nil
		}
		select {
		case <-ctx.Done():
			return res, fmt.Errorf("loadgen: backfill not done after %s (synced after %.1f s, %d of %d activities)",
				timeout, res.SyncedSeconds, res.Activities, expect)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
