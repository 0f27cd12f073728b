package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// TestDecisionHours: each decision is counted once in the hour it was made,
// with the latency bucket of its notification; a retry, a concurrent
// redelivery or a move counts nothing, a changed verdict counts again.
func TestDecisionHours(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, err := s.ImportCRM(ctx, sampleCRM()); err != nil {
			t.Fatal(err)
		}
		h0 := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
		now := h0.Add(10 * time.Minute)
		s.SetClock(func() time.Time { return now })
		inbox := []model.FolderRef{{WellKnownName: "inbox", DisplayName: "Inbox"}}
		kunden := append(inbox, model.FolderRef{DisplayName: "Kunden"})
		noMatch := match.Decision{Outcome: match.OutcomeIgnored, Reason: match.ReasonNoMatch, Direction: match.DirectionInbound,
			Candidates: []string{"x@unknown.example"}}
		internal := match.Decision{Outcome: match.OutcomeIgnored, Reason: match.ReasonInternal, Direction: match.DirectionInbound}
		record := func(r store.MessageRecord) {
			t.Helper()
			if _, err := s.RecordMessage(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		// A notified message, decided by four workers at once, then retried.
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.RecordMessage(ctx, store.MessageRecord{EmployeeID: 1, Message: testMessage("AAMk-c1", "<c1@x>"),
					Folder: inbox, Decision: importedDecision(), Note: "notification", NotifiedAt: now.Add(-1500 * time.Millisecond)}); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		record(store.MessageRecord{EmployeeID: 1, Message: testMessage("AAMk-c1", "<c1@x>"), Folder: inbox, Decision: importedDecision(),
			Note: "notification", NotifiedAt: now.Add(-3 * time.Second)})
		// The same e-mail in a second mailbox: a duplicate, slow.
		record(store.MessageRecord{EmployeeID: 2, Message: testMessage("AAMk-c1p", "<c1@x>"), Folder: inbox, Decision: importedDecision(),
			Note: "notification", NotifiedAt: now.Add(-2 * time.Hour)})
		// Two ignored by a delta round, in two mailboxes (two shards of the
		// hour's count); one moved (nothing), then decided again.
		for i := range 2 {
			record(store.MessageRecord{EmployeeID: int64(2 - i), Message: testMessage(fmt.Sprintf("AAMk-c%d", i+2), ""), Folder: inbox, Decision: noMatch, Note: "delta"})
		}
		record(store.MessageRecord{EmployeeID: 2, Message: testMessage("AAMk-c2", ""), Folder: kunden, Decision: noMatch, Note: "notification",
			NotifiedAt: now})
		now = h0.Add(time.Hour + 5*time.Minute)
		record(store.MessageRecord{EmployeeID: 1, Message: testMessage("AAMk-c3", ""), Folder: inbox, Decision: internal, Note: "delta"})

		got, err := s.DecisionHours(ctx, h0.Add(-24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		h1 := h0.Add(time.Hour)
		want := store.DecisionHours{
			Verdicts: []store.HourCount{
				{Hour: h0, Outcome: match.OutcomeDuplicate, Reason: match.ReasonMatched, N: 1},
				{Hour: h0, Outcome: match.OutcomeIgnored, Reason: match.ReasonNoMatch, N: 2},
				{Hour: h0, Outcome: match.OutcomeImported, Reason: match.ReasonMatched, N: 1},
				{Hour: h1, Outcome: match.OutcomeIgnored, Reason: match.ReasonInternal, N: 1},
			},
			Latencies: []store.HourLatency{{Hour: h0, LatencyLeMs: 2_000, N: 1}, {Hour: h0, LatencyLeMs: store.LatencyOverMs, N: 1}},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("decision hours (-want +got):\n%s", diff)
		}
		if got, err := s.DecisionHours(ctx, h1.Add(30*time.Minute)); err != nil || len(got.Verdicts) != 1 || got.Verdicts[0].Hour != h1 || len(got.Latencies) != 0 {
			t.Errorf("since the middle of the second hour: %+v, %v; want that whole hour", got, err)
		}
	})
}

func TestLatencyBucket(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want int64
	}{
		{-time.Second, 500}, {0, 500}, {500 * time.Millisecond, 500}, {501 * time.Millisecond, 1_000},
		{59 * time.Second, 60_000}, {time.Hour, 3_600_000}, {time.Hour + time.Millisecond, store.LatencyOverMs},
	} {
		if got := store.LatencyBucket(c.d); got != c.want {
			t.Errorf("LatencyBucket(%v) = %d, want %d", c.d, got, c.want)
		}
	}
}

// The charts' queries are ranges on decision_hours' primary key, never a
// scan (and they never read the decisions).
func TestDecisionHoursUseTheIndex(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		for _, q := range store.DecisionHoursQueries {
			plan := explain(t, s, q, []any{time.Now().UTC().Truncate(time.Hour)})
			joined := strings.Join(plan, "\n")
			for _, line := range plan {
				line = strings.TrimSpace(line)
				if strings.HasPrefix(line, "SCAN ") || strings.Contains(line, "Seq Scan") {
					t.Errorf("plan has a table scan: %q\nplan:\n%s", line, joined)
				}
			}
			if !strings.Contains(joined, "decision_hours") || strings.Contains(joined, "decisions ") {
				t.Errorf("plan does not read decision_hours alone:\n%s", joined)
			}
		}
	})
}

// BenchmarkDecisionHours reads a week of the densest rollup the pipeline
// makes (every outcome and reason in every latency bucket, every hour):
// what the /ops chart costs however many decisions there are.
func BenchmarkDecisionHours(b *testing.B) {
	for _, dialect := range []string{store.SQLite, store.Postgres} {
		b.Run(dialect, func(b *testing.B) {
			s := storetest.Open(b, dialect)
			ctx := context.Background()
			start := time.Now().UTC().Truncate(time.Hour).Add(-7 * 24 * time.Hour)
			verdicts := [][2]string{{"imported", "matched"}, {"duplicate", "matched"}, {"ignored", "no_match"}, {"ignored", "internal"},
				{"ignored", "ignored_domain"}, {"ignored", "excluded_folder"}, {"ignored", "draft"}}
			buckets := append([]int64{store.LatencyNone, store.LatencyOverMs}, store.LatencyBoundsMs...)
			tx := s.DB().MustBegin()
			for h := range 7*24 + 1 {
				for _, v := range verdicts {
					for _, le := range buckets {
						for shard := range 4 { // a busy hour's counts spread over shards
							tx.MustExec(tx.Rebind(`INSERT INTO decision_hours (hour, outcome, reason, latency_le_ms, shard, n) VALUES (?, ?, ?, ?, ?, ?)`),
								start.Add(time.Duration(h)*time.Hour), v[0], v[1], le, shard, 1000)
						}
					}
				}
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				rows, err := s.DecisionHours(ctx, start)
				if err != nil || len(rows.Verdicts) == 0 || len(rows.Latencies) == 0 {
					b.Fatal(len(rows.Verdicts), err)
				}
			}
		})
	}
}

// MailboxCounts agrees with Mailbox.State and counts the errors of the
// enabled mailboxes only.
func TestMailboxCounts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		crm := sampleCRM()
		crm.Employees = append(crm.Employees, model.Employee{ID: 99, Name: "Jana Roth", Email: "jana.roth@dedenet.de", ExchangeMailbox: ptr("j.roth@dedenet.onmicrosoft.com"), Active: true})
		if _, err := s.ImportCRM(ctx, crm); err != nil {
			t.Fatal(err)
		}
		if err := s.SetMailboxError(ctx, 1, "delta: 503"); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkMailboxAccessDenied(ctx, 2, "403"); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkMailboxNotFound(ctx, 99, "404 ErrorInvalidUser"); err != nil {
			t.Fatal(err)
		}
		got, err := s.MailboxCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		mbs, err := s.Mailboxes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := store.MailboxCounts{ByState: map[string]int{}}
		for _, mb := range mbs {
			want.ByState[mb.State()]++
			if mb.State() == store.MailboxEnabled && mb.LastError != "" {
				want.LastError++
			}
		}
		if diff := cmp.Diff(want, got); diff != "" || got.ByState[store.MailboxAccessDenied] != 1 || got.ByState[store.MailboxNotFound] != 1 || got.LastError != 1 {
			t.Errorf("counts (-from Mailboxes +MailboxCounts):\n%s\ngot %+v", diff, got)
		}
	})
}

// Migration 00018 fills decision_hours with the last week of the decisions
// made before it, in both dialects' time formats.
func TestDecisionHoursMigrationBackfills(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, err := s.ImportCRM(ctx, sampleCRM()); err != nil {
			t.Fatal(err)
		}
		recent := time.Now().UTC().Truncate(time.Hour).Add(-30 * time.Minute) // mid-hour: recent and a second later share it
		for i, at := range []time.Time{recent.Add(-8 * 24 * time.Hour), recent, recent.Add(time.Second)} {
			s.SetClock(func() time.Time { return at })
			if _, err := s.RecordMessage(ctx, store.MessageRecord{EmployeeID: 1, Message: testMessage(fmt.Sprintf("AAMk-m%d", i), ""),
				Decision: match.Decision{Outcome: match.OutcomeIgnored, Reason: match.ReasonNoMatch}, NotifiedAt: at.Add(-time.Second)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.MigrateRedo(ctx, 18); err != nil {
			t.Fatal(err)
		}
		got, err := s.DecisionHours(ctx, recent.Add(-30*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		want := store.DecisionHours{Verdicts: []store.HourCount{{Hour: recent.Truncate(time.Hour), Outcome: match.OutcomeIgnored,
			Reason: match.ReasonNoMatch, N: 2}}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("backfilled hours (-want +got):\n%s", diff)
		}
	})
}
