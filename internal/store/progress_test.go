package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/dedesales/exchange-connector/internal/crmfile"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

func TestFirstSyncEstimate(t *testing.T) {
	t0 := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	for _, tc := range []struct {
		name string
		p    store.FirstSync
		now  time.Time
		want store.FirstSyncEstimate
	}{{
		name: "just started: nothing known",
		p:    store.FirstSync{StartedAt: t0, UpdatedAt: t0, FoldersTotal: 4, ItemsTotal: 1000},
		now:  at(time.Second),
		want: store.FirstSyncEstimate{Idle: time.Second, MessagesLeft: 1000, UpperBound: true, Left: -1},
	}, {
		// No folder with mail is finished: every message of the
		// unfinished folders counts, less those read in the current one.
		name: "upper bound before a folder is done",
		p:    store.FirstSync{StartedAt: t0, UpdatedAt: at(10 * time.Second), FoldersTotal: 4, MessagesSeen: 200, ItemsTotal: 1000},
		now:  at(12 * time.Second),
		want: store.FirstSyncEstimate{Elapsed: 10 * time.Second, Idle: 2 * time.Second, Rate: 20, MessagesLeft: 800,
			UpperBound: true, Left: 40 * time.Second, Fraction: 0.2},
	}, {
		// Half of the finished folders' mail was in the window: so is
		// half of the rest (2,000 × 0.5), less 100 read in the current one.
		name: "share of the window from the finished folders",
		p: store.FirstSync{StartedAt: t0, UpdatedAt: at(100 * time.Second), FoldersTotal: 4, FoldersDone: 2,
			MessagesSeen: 600, MessagesDone: 500, ItemsTotal: 3000, ItemsDone: 1000},
		now: at(100 * time.Second),
		want: store.FirstSyncEstimate{Elapsed: 100 * time.Second, Rate: 6, MessagesLeft: 900,
			Left: 150 * time.Second, Fraction: 0.4},
	}, {
		name: "the estimate ran out before the folders did",
		p: store.FirstSync{StartedAt: t0, UpdatedAt: at(10 * time.Second), FoldersTotal: 2, FoldersDone: 1,
			MessagesSeen: 300, MessagesDone: 100, ItemsTotal: 400, ItemsDone: 200},
		now:  at(10 * time.Second),
		want: store.FirstSyncEstimate{Elapsed: 10 * time.Second, Rate: 30, MessagesLeft: 0, Left: 0, Fraction: 0.99},
	}, {
		name: "no counts from Graph: folders only",
		p:    store.FirstSync{StartedAt: t0, UpdatedAt: at(10 * time.Second), FoldersTotal: 4, FoldersDone: 1, MessagesSeen: 50},
		now:  at(70 * time.Second),
		want: store.FirstSyncEstimate{Elapsed: 10 * time.Second, Idle: time.Minute, Rate: 5, MessagesLeft: -1, Left: -1, Fraction: 0.25},
	}, {
		name: "finished",
		p: store.FirstSync{StartedAt: t0, UpdatedAt: at(20 * time.Second), FinishedAt: ptr(at(20 * time.Second)), FoldersTotal: 3,
			FoldersDone: 3, MessagesSeen: 100, MessagesDone: 100, ItemsTotal: 500, ItemsDone: 500},
		now:  at(80 * time.Second),
		want: store.FirstSyncEstimate{Elapsed: 20 * time.Second, Idle: time.Minute, Rate: 5, Fraction: 1},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.p.Estimate(tc.now), cmpopts.EquateApprox(0, 1e-9)); diff != "" {
				t.Errorf("mismatch (-want +got)\n%s", diff)
			}
		})
	}
}

// The running first syncs are listed oldest first, at most the limit, with
// the count of all; a finished one leaves the list, a restarted one keeps
// its place.
func TestFirstSyncsInProgress(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var emps []model.Employee
		for i := 1; i <= 30; i++ {
			mb := fmt.Sprintf("user%02d@firma.example", i)
			emps = append(emps, model.Employee{ID: int64(i), Name: fmt.Sprintf("User %d", i), Email: mb, ExchangeMailbox: &mb, Active: true})
		}
		if _, err := s.ImportCRM(ctx, &crmfile.File{Employees: emps}); err != nil {
			t.Fatal(err)
		}
		t0 := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
		clock := t0
		s.SetClock(func() time.Time { return clock })
		for i := 30; i >= 1; i-- { // the last employee starts first
			clock = t0.Add(time.Duration(30-i) * time.Minute)
			if _, err := s.StartFirstSync(ctx, int64(i), store.FirstSyncStart{FoldersTotal: 3, ItemsTotal: 90}); err != nil {
				t.Fatal(err)
			}
		}
		clock = t0.Add(time.Hour)
		if err := s.RecordFirstSync(ctx, 30, store.FirstSyncStep{FoldersDone: 1, MessagesSeen: 40, MessagesDone: 40, ItemsDone: 30, Folder: "Inbox"}); err != nil {
			t.Fatal(err)
		}
		if err := s.FirstSyncFailed(ctx, 30, "Graph: 503"); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishFirstSync(ctx, 29); err != nil {
			t.Fatal(err)
		}
		// A restart of 30 keeps its start and finished folder.
		if p, err := s.StartFirstSync(ctx, 30, store.FirstSyncStart{FoldersTotal: 3, FoldersDone: 1, ItemsTotal: 90, ItemsDone: 30}); err != nil ||
			!p.StartedAt.Equal(t0) || p.MessagesSeen != 40 || p.LastError != "Graph: 503" {
			t.Errorf("restarted: %+v, %v", p, err)
		}
		got, n, err := s.FirstSyncsInProgress(ctx, 20)
		if err != nil {
			t.Fatal(err)
		}
		if n != 29 || len(got) != 20 {
			t.Fatalf("%d listed of %d, want 20 of 29", len(got), n)
		}
		if got[0].EmployeeID != 30 || got[0].Address != "user30@firma.example" || got[0].Name != "User 30" ||
			got[0].FoldersDone != 1 || got[0].LastErrorAt == nil {
			t.Errorf("first: %+v", got[0])
		}
		for i, p := range got[1:] {
			if want := int64(28 - i); p.EmployeeID != want {
				t.Errorf("row %d: employee %d, want %d (oldest start first)", i+1, p.EmployeeID, want)
			}
		}
		done, err := s.FirstSyncOf(ctx, 29)
		if err != nil || done.FinishedAt == nil || done.FoldersDone != 3 {
			t.Errorf("finished: %+v, %v", done, err)
		}
		// A new first sync after a finished one starts afresh.
		clock = t0.Add(2 * time.Hour)
		if p, err := s.StartFirstSync(ctx, 29, store.FirstSyncStart{FoldersTotal: 4, FoldersDone: 3}); err != nil ||
			!p.StartedAt.Equal(clock) || p.FinishedAt != nil || p.MessagesSeen != 0 {
			t.Errorf("new first sync: %+v, %v", p, err)
		}
		if err := s.ForgetFirstSync(ctx, 29); err != nil {
			t.Fatal(err)
		}
		if _, err := s.FirstSyncOf(ctx, 29); err == nil {
			t.Error("forgotten first sync still there")
		}
	})
}

// The running first syncs are read from their partial index, whatever the
// number of mailboxes: no table scan (and on SQLite, in its order).
func TestFirstSyncsInProgressUsesIndex(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		for _, q := range []struct {
			query string
			args  []any
		}{{store.FirstSyncsRunningQuery, []any{20}}, {store.FirstSyncsCountQuery, nil}} {
			plan := explain(t, s, q.query, q.args)
			for _, line := range plan {
				line = strings.TrimSpace(line)
				// SQLite: "SCAN t" without an index is a full scan, a temporary
				// B-tree a sort of every running row; PostgreSQL: "Seq Scan".
				if (strings.HasPrefix(line, "SCAN ") && !strings.Contains(line, "USING")) || strings.Contains(line, "Seq Scan") ||
					strings.Contains(line, "TEMP B-TREE") {
					t.Errorf("plan has a table scan or sort: %q\nplan:\n%s", line, strings.Join(plan, "\n"))
				}
			}
			if !strings.Contains(strings.Join(plan, "\n"), "sync_progress_running") {
				t.Errorf("plan does not use sync_progress_running:\n%s", strings.Join(plan, "\n"))
			}
		}
	})
}
