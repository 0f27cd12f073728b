package jobs

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/alert"
	"github.com/dedesales/exchange-connector/internal/crmfile"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/queue"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// TestExpirySpread: the expiries of 10,000 subscriptions made at once are
// spread over lifetime/16 (so are their renewals), none beyond it.
func TestExpirySpread(t *testing.T) {
	lifetime := 156 * time.Hour
	span := lifetime / expirySpreadShare
	const n, bin = 10000, 10 * time.Minute
	bins := make([]int, span/bin+1)
	for id := int64(1); id <= n; id++ {
		d := expirySpread(id, lifetime)
		if d < 0 || d >= span {
			t.Fatalf("employee %d: spread %v outside [0, %v)", id, d, span)
		}
		bins[d/bin]++
	}
	mean := float64(n) / float64(len(bins))
	for i, c := range bins[:len(bins)-1] { // the last bin is partial
		if float64(c) > 2*mean || float64(c) < mean/2 {
			t.Errorf("%v–%v after the earliest: %d expiries, mean %.0f", time.Duration(i)*bin, time.Duration(i+1)*bin, c, mean)
		}
	}
	if expirySpread(42, lifetime) != expirySpread(42, lifetime) {
		t.Error("the spread of one mailbox changes")
	}
	if d := expirySpread(42, time.Second); d != 0 {
		t.Errorf("a lifetime too short to spread: %v", d)
	}
}

// countingLocker is a Locker (one holder per key) that records how many
// held it at once.
type countingLocker struct {
	mu                sync.Mutex
	held, max, rounds int
	lock              sync.Mutex
}

func (l *countingLocker) Acquire(ctx context.Context, key string) (func(), error) {
	l.lock.Lock()
	l.mu.Lock()
	l.held++
	l.rounds++
	l.max = max(l.max, l.held)
	l.mu.Unlock()
	return func() {
		l.mu.Lock()
		l.held--
		l.mu.Unlock()
		l.lock.Unlock()
	}, nil
}

// TestUpkeepRoundsDoNotOverlap: two processes' rounds at once (every worker
// enqueues one at its start) create each missing subscription once, the
// later round waiting for the lock and finding nothing due; the due
// mailboxes of a round are all handled, in batches past upkeepBatch.
func TestUpkeepRoundsDoNotOverlap(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		s.SetClock(func() time.Time { return now })
		g, q, lock := newScriptGraph(), &taskQueue{}, &countingLocker{}
		h := newTestHandlers(t, s, Deps{Graph: g, Enqueuer: q, Keys: testKeys(t), PublicURL: "https://connector.example", Now: func() time.Time { return now },
			SubscriptionLifetime: 48 * time.Hour, RenewBefore: 12 * time.Hour, SweepEvery: time.Hour, UpkeepLock: lock})
		// More mailboxes than one batch, none subscribed.
		n := upkeepBatch + 30
		f := &crmfile.File{}
		for i := 1; i <= n; i++ {
			mb := fmt.Sprintf("mb%04d@firma.example", i)
			f.Employees = append(f.Employees, model.Employee{ID: int64(i), Name: mb, Email: mb, ExchangeMailbox: &mb, Active: true})
		}
		if _, err := s.ImportCRM(ctx, f); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteSubscriptionRow(ctx, 1); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range errs {
			wg.Go(func() {
				errs[i] = h.EnsureSubscriptions.ProcessTask(ctx, asynq.NewTask(queue.TypeEnsureSubscriptions, nil))
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if c := g.count(opCreate); c != n {
			t.Errorf("%d subscriptions created for %d mailboxes", c, n)
		}
		if lock.rounds != 2 || lock.max != 1 {
			t.Errorf("lock: %d rounds, at most %d at once; want 2, 1", lock.rounds, lock.max)
		}
		rows, err := s.SubscriptionRows(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != n {
			t.Errorf("%d subscription rows, want %d", len(rows), n)
		}
	})
}

// listingAlerts is a memAlerts that lists its open keys (as alert.Alerter
// does) and counts the clears asked for.
type listingAlerts struct {
	memAlerts
	clears int
}

func (l *listingAlerts) Clear(ctx context.Context, kind, key string) error {
	l.mu.Lock()
	l.clears++
	l.mu.Unlock()
	return l.memAlerts.Clear(ctx, kind, key)
}

func (l *listingAlerts) OpenKeys(_ context.Context, kind string) (map[string]bool, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	keys := map[string]bool{}
	for _, a := range l.raised {
		if a.Kind == kind {
			keys[a.Key] = true
		}
	}
	return keys, true, nil
}

// TestHealthClearsOnlyOpenAlerts: with Alerts that list their open keys,
// the mailbox check asks to clear only alerts that are open, not three per
// mailbox per round; an open one is still cleared when its condition ends.
func TestHealthClearsOnlyOpenAlerts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		alerts := &listingAlerts{}
		h := newTestHandlers(t, s, Deps{Alerts: alerts})
		run := func() {
			t.Helper()
			if err := h.Health.ProcessTask(ctx, asynq.NewTask(queue.TypeHealthCheck, nil)); err != nil {
				t.Fatal(err)
			}
		}
		run()
		if alerts.clears != 0 || len(alerts.raised) != 0 {
			t.Errorf("a healthy mailbox: %d clears, raised %v", alerts.clears, alerts.raised)
		}
		const address = "anna@firma.example"
		if err := s.SubscriptionFailedNow(ctx, 1, "503 from Graph"); err != nil {
			t.Fatal(err)
		}
		run()
		if !alerts.has(alert.KindSubscriptionFailed, address) {
			t.Fatalf("failed subscription not raised: %v", alerts.raised)
		}
		if err := s.SaveSubscription(ctx, 1, model.Subscription{ID: "s2", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		alerts.clears = 0
		run()
		if alerts.has(alert.KindSubscriptionFailed, address) || alerts.clears != 1 {
			t.Errorf("renewed: %d clears, raised %v; want the one alert cleared", alerts.clears, alerts.raised)
		}
	})
}

// TestSweepDue: a mailbox whose first sync was queued with its new
// subscription gets no further sync from each upkeep round until that one
// had sweepEvery to run.
func TestSweepDue(t *testing.T) {
	now := time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)
	every := 30 * time.Minute
	at := func(d time.Duration) *time.Time { t := now.Add(d); return &t }
	active := func(created time.Duration) store.SubscriptionRow {
		return store.SubscriptionRow{Status: store.SubscriptionActive, CreatedAt: now.Add(created)}
	}
	for _, c := range []struct {
		name       string
		lastSync   *time.Time
		sub        store.SubscriptionRow
		subscribed bool
		want       bool
	}{
		{"synced lately", at(-time.Minute), active(-48 * time.Hour), true, false},
		{"not synced for longer than the sweep period", at(-31 * time.Minute), active(-48 * time.Hour), true, true},
		{"never synced, subscribed a minute ago", nil, active(-time.Minute), true, false},
		{"never synced, subscribed an hour ago", nil, active(-time.Hour), true, true},
		{"never synced, no subscription", nil, store.SubscriptionRow{}, false, true},
		{"never synced, subscription failed", nil, store.SubscriptionRow{Status: store.SubscriptionFailed, CreatedAt: now}, true, true},
	} {
		if got := sweepDue(store.Mailbox{LastSyncAt: c.lastSync}, c.sub, c.subscribed, now, every); got != c.want {
			t.Errorf("%s: sweep due %v, want %v", c.name, got, c.want)
		}
	}
}
