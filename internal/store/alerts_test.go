package store_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
	"github.com/google/go-cmp/cmp"
)

// alertClock is a settable clock for the alert tests.
type alertClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *alertClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *alertClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func withAlertClock(s *store.Store) *alertClock {
	c := &alertClock{t: time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)}
	s.SetClock(c.now)
	return c
}

func mustOpen(t *testing.T, s *store.Store, kind, key, level, msg string) bool {
	t.Helper()
	isNew, err := s.OpenAlert(context.Background(), kind, key, level, msg)
	if err != nil {
		t.Fatalf("OpenAlert(%s, %s, %s): %v", kind, key, level, err)
	}
	return isNew
}

// alertSummary is what the tests compare: the fields that carry meaning.
type alertSummary struct {
	Kind, Key, Level, Message string
	Sent, Resolved            bool
	Attempts                  int
	LastError                 string
}

func summarize(as []store.Alert) []alertSummary {
	var out []alertSummary
	for _, a := range as {
		out = append(out, alertSummary{a.Kind, a.SubjectKey, a.Level, a.Message, a.SentAt != nil, a.ResolvedAt != nil, a.Attempts, a.LastError})
	}
	return out
}

func TestOpenAlertOncePerLevel(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		clock := withAlertClock(s)
		if !mustOpen(t, s, "secret_expiring", "cred-1", "30d", "expires in 30 days") {
			t.Fatal("first OpenAlert: isNew = false")
		}
		clock.add(time.Hour)
		if mustOpen(t, s, "secret_expiring", "cred-1", "30d", "expires in 29 days") {
			t.Fatal("second OpenAlert of the same level: isNew = true")
		}
		if !mustOpen(t, s, "secret_expiring", "cred-1", "14d", "expires in 14 days") {
			t.Fatal("OpenAlert of a new level: isNew = false")
		}
		if !mustOpen(t, s, "secret_expiring", "cred-2", "30d", "other credential") {
			t.Fatal("OpenAlert of another key: isNew = false")
		}
		open, err := s.OpenAlerts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []alertSummary{
			{Kind: "secret_expiring", Key: "cred-1", Level: "30d", Message: "expires in 30 days"},
			{Kind: "secret_expiring", Key: "cred-1", Level: "14d", Message: "expires in 14 days"},
			{Kind: "secret_expiring", Key: "cred-2", Level: "30d", Message: "other credential"},
		}
		if diff := cmp.Diff(want, summarize(open)); diff != "" {
			t.Errorf("OpenAlerts mismatch (-want +got):\n%s", diff)
		}
		if !open[0].OpenedAt.Equal(time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)) {
			t.Errorf("OpenedAt = %v, want the first opening", open[0].OpenedAt)
		}
	})
}

func TestResolveAlertsReturnsSentAndReopens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		clock := withAlertClock(s)
		mustOpen(t, s, "mailbox_access_denied", "anna@firma.de", "", "denied")
		mustOpen(t, s, "secret_expiring", "cred-1", "30d", "30")
		clock.add(time.Minute)
		mustOpen(t, s, "secret_expiring", "cred-1", "14d", "14")
		if err := s.MarkAlertSent(ctx, "secret_expiring", "cred-1", "30d"); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkAlertSent(ctx, "secret_expiring", "nope", "30d"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("MarkAlertSent of a missing alert: %v, want ErrNotFound", err)
		}

		resolved, err := s.ResolveAlerts(ctx, "secret_expiring", "cred-1")
		if err != nil {
			t.Fatal(err)
		}
		want := []alertSummary{{Kind: "secret_expiring", Key: "cred-1", Level: "30d", Message: "30", Sent: true, Resolved: true, Attempts: 1}}
		if diff := cmp.Diff(want, summarize(resolved)); diff != "" {
			t.Errorf("ResolveAlerts mismatch (-want +got):\n%s", diff)
		}
		again, err := s.ResolveAlerts(ctx, "secret_expiring", "cred-1")
		if err != nil || len(again) != 0 {
			t.Errorf("second ResolveAlerts = %v, %v; want nothing", again, err)
		}
		open, err := s.OpenAlerts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]alertSummary{{Kind: "mailbox_access_denied", Key: "anna@firma.de", Message: "denied"}}, summarize(open)); diff != "" {
			t.Errorf("OpenAlerts after resolve mismatch (-want +got):\n%s", diff)
		}

		// The condition comes back: it alerts again, from a clean row.
		clock.add(24 * time.Hour)
		if !mustOpen(t, s, "secret_expiring", "cred-1", "30d", "back") {
			t.Fatal("OpenAlert after resolve: isNew = false, want a reopened alert")
		}
		if mustOpen(t, s, "secret_expiring", "cred-1", "30d", "back again") {
			t.Fatal("OpenAlert of a reopened alert: isNew = true")
		}
		open, err = s.OpenAlerts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wantOpen := []alertSummary{
			{Kind: "mailbox_access_denied", Key: "anna@firma.de", Message: "denied"},
			{Kind: "secret_expiring", Key: "cred-1", Level: "30d", Message: "back"},
		}
		if diff := cmp.Diff(wantOpen, summarize(open)); diff != "" {
			t.Errorf("OpenAlerts after reopen mismatch (-want +got):\n%s", diff)
		}
		if !open[1].OpenedAt.Equal(clock.now()) {
			t.Errorf("reopened OpenedAt = %v, want %v", open[1].OpenedAt, clock.now())
		}
	})
}

func TestClaimAlertRetriesUnsent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		clock := withAlertClock(s)
		const kind, key, level = "subscription_failed", "anna@firma.de", ""
		mustOpen(t, s, kind, key, level, "renew failed")
		claim := func() bool {
			t.Helper()
			ok, err := s.ClaimAlert(ctx, kind, key, level)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if claim() {
			t.Error("ClaimAlert while the opener sends: true")
		}
		if err := s.MarkAlertFailed(ctx, kind, key, level, errors.New("554 refused")); err != nil {
			t.Fatal(err)
		}
		open, _ := s.OpenAlerts(ctx)
		if diff := cmp.Diff([]alertSummary{{Kind: kind, Key: key, Message: "renew failed", Attempts: 1, LastError: "554 refused"}}, summarize(open)); diff != "" {
			t.Errorf("after failure (-want +got):\n%s", diff)
		}
		if !claim() {
			t.Fatal("ClaimAlert after a failed send: false")
		}
		if claim() {
			t.Error("second ClaimAlert within the lease: true")
		}
		clock.add(store.AlertClaimLease + time.Second)
		if !claim() {
			t.Fatal("ClaimAlert after the lease ran out: false")
		}
		if err := s.MarkAlertSent(ctx, kind, key, level); err != nil {
			t.Fatal(err)
		}
		clock.add(store.AlertClaimLease + time.Second)
		if claim() {
			t.Error("ClaimAlert of a sent alert: true")
		}
	})
}

func TestOpenAlertRace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var (
			wg    sync.WaitGroup
			fresh atomic.Int32
			errs  = make(chan error, 10)
		)
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				isNew, err := s.OpenAlert(ctx, "tasks_dead", "graph:fetch_message", "", "dead tasks")
				if err != nil {
					errs <- err
					return
				}
				if isNew {
					fresh.Add(1)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if n := fresh.Load(); n != 1 {
			t.Errorf("%d of 10 racing OpenAlert calls got isNew, want exactly 1", n)
		}
	})
}

func TestResolveAlertsRace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		mustOpen(t, s, "auth_failed", "tenant/client", "", "AADSTS7000222")
		if err := s.MarkAlertSent(ctx, "auth_failed", "tenant/client", ""); err != nil {
			t.Fatal(err)
		}
		var (
			wg    sync.WaitGroup
			total atomic.Int32
		)
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := s.ResolveAlerts(ctx, "auth_failed", "tenant/client")
				if err != nil {
					t.Error(err)
					return
				}
				total.Add(int32(len(got)))
			}()
		}
		wg.Wait()
		if n := total.Load(); n != 1 {
			t.Errorf("racing ResolveAlerts returned the sent alert %d times, want 1", n)
		}
	})
}
