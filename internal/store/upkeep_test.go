package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dedesales/exchange-connector/internal/crmfile"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// TestUpkeepDue: the upkeep sees exactly the mailboxes with something due,
// in keyset batches.
func TestUpkeepDue(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)
		s.SetClock(func() time.Time { return now })
		f := &crmfile.File{}
		for i := 1; i <= 15; i++ {
			mb := fmt.Sprintf("mb%02d@dedenet.de", i)
			f.Employees = append(f.Employees, model.Employee{ID: int64(i), Name: mb, Email: mb, ExchangeMailbox: &mb, Active: i != 9})
		}
		if _, err := s.ImportCRM(ctx, f); err != nil {
			t.Fatal(err)
		}
		sub := func(id int64, expires time.Time) {
			t.Helper()
			if err := s.SaveSubscription(ctx, id, model.Subscription{ID: fmt.Sprintf("g%d", id), Resource: "r", ExpiresAt: expires}); err != nil {
				t.Fatal(err)
			}
		}
		synced := func(id int64, at time.Time) {
			t.Helper()
			s.SetClock(func() time.Time { return at })
			if err := s.MailboxSynced(ctx, id); err != nil {
				t.Fatal(err)
			}
			s.SetClock(func() time.Time { return now })
		}
		far, recent := now.Add(5*24*time.Hour), now.Add(-10*time.Minute)
		// 1, 2, 3: nothing due (subscribed, far from expiry, synced recently).
		for id := int64(1); id <= 3; id++ {
			sub(id, far)
			synced(id, recent)
		}
		// 4: no subscription. 5: expiring within a day. 6: not synced for
		// an hour. 7: never synced. 8: subscription failed.
		synced(4, recent)
		sub(5, now.Add(2*time.Hour))
		synced(5, recent)
		sub(6, far)
		synced(6, now.Add(-time.Hour))
		s.SetClock(func() time.Time { return now.Add(-2 * time.Hour) })
		sub(7, far) // made two hours ago, and still no sync: its first sync is lost
		s.SetClock(func() time.Time { return now })
		sub(13, far) // 13: made just now, its first sync queued: not due
		sub(8, far)
		synced(8, recent)
		if err := s.SubscriptionFailedNow(ctx, 8, "boom"); err != nil {
			t.Fatal(err)
		}
		// 9: inactive with a subscription left (to delete). 10: paused
		// without one (nothing). 11: denied, re-check not due; 12: denied,
		// due (the mark is two hours old).
		sub(9, far)
		if err := s.SetMailboxDisabled(ctx, 10, true); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkMailboxAccessDenied(ctx, 11, "denied"); err != nil {
			t.Fatal(err)
		}
		s.SetClock(func() time.Time { return now.Add(-2 * time.Hour) })
		if err := s.MarkMailboxAccessDenied(ctx, 12, "denied"); err != nil {
			t.Fatal(err)
		}
		s.SetClock(func() time.Time { return now })
		// 14: not found, re-check not due; 15: not found, due.
		sub(14, far)
		if err := s.MarkMailboxNotFound(ctx, 14, "ErrorInvalidUser"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteSubscriptionRow(ctx, 14); err != nil {
			t.Fatal(err)
		}
		s.SetClock(func() time.Time { return now.Add(-2 * time.Hour) })
		if err := s.MarkMailboxNotFound(ctx, 15, "ErrorInvalidUser"); err != nil {
			t.Fatal(err)
		}
		s.SetClock(func() time.Time { return now })

		q := store.UpkeepDueQuery{Now: now, RenewBy: now.Add(24 * time.Hour), SweepBefore: now.Add(-30 * time.Minute), Limit: 2}
		var got []int64
		for batches := 0; ; batches++ {
			if batches > 10 {
				t.Fatal("keyset paging does not end")
			}
			mbs, err := s.UpkeepDue(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if len(mbs) > q.Limit {
				t.Fatalf("batch of %d > limit %d", len(mbs), q.Limit)
			}
			for _, mb := range mbs {
				got = append(got, mb.EmployeeID)
			}
			if len(mbs) < q.Limit {
				break
			}
			q.AfterID = mbs[len(mbs)-1].EmployeeID
		}
		if want := []int64{4, 5, 6, 7, 8, 9, 12, 15}; !slices.Equal(got, want) {
			t.Errorf("due = %v, want %v", got, want)
		}
	})
}
