package store

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/jmoiron/sqlx"
)

// LatencyBoundsMs are the upper bounds, in milliseconds, of the buckets of
// the notification-to-decision latency kept per hour (decision_hours). A
// latency above the last falls into LatencyOverMs. Bounds may be added, never
// changed: stored rows name their bound.
var LatencyBoundsMs = []int64{500, 1_000, 2_000, 5_000, 10_000, 30_000, 60_000, 120_000, 300_000, 600_000, 1_800_000, 3_600_000}

const (
	// LatencyNone is latency_le_ms of a decision not made from a change
	// notification (delta round, backfill, rematch).
	LatencyNone int64 = -1
	// LatencyOverMs is latency_le_ms of a latency above every bound.
	LatencyOverMs int64 = math.MaxInt64
)

// HourCount is the number of decisions made in the hour starting at Hour
// with this outcome and reason.
type HourCount struct {
	Hour    time.Time `db:"hour"`
	Outcome string    `db:"outcome"`
	Reason  string    `db:"reason"`
	N       int64     `db:"n"`
}

// HourLatency is the number of decisions made in the hour starting at Hour
// whose change notification came at most LatencyLeMs before
// (LatencyOverMs: longer).
type HourLatency struct {
	Hour        time.Time `db:"hour"`
	LatencyLeMs int64     `db:"latency_le_ms"`
	N           int64     `db:"n"`
}

// DecisionHours is what the /ops charts read: decisions per hour by verdict,
// and the latency histogram per hour of those made from a notification.
type DecisionHours struct {
	Verdicts  []HourCount
	Latencies []HourLatency
}

// The queries of DecisionHours: ranges on the primary key's first column
// (TestDecisionHoursUseTheIndex), summed in the database so that the
// busiest week is a few thousand rows.
const (
	verdictHoursSince = `
	SELECT hour, outcome, reason, CAST(SUM(n) AS BIGINT) AS n FROM decision_hours
	WHERE hour >= ? GROUP BY hour, outcome, reason ORDER BY hour, outcome, reason`
	latencyHoursSince = `
	SELECT hour, latency_le_ms, CAST(SUM(n) AS BIGINT) AS n FROM decision_hours
	WHERE hour >= ? AND latency_le_ms <> -1 GROUP BY hour, latency_le_ms ORDER BY hour, latency_le_ms`
)

// DecisionHours returns the hourly counts from the hour of since on, by
// hour. It reads the rollup, never the decisions: a week is at most a few
// thousand rows whatever the number of decisions.
func (s *Store) DecisionHours(ctx context.Context, since time.Time) (DecisionHours, error) {
	var out DecisionHours
	from := since.UTC().Truncate(time.Hour)
	if err := s.db.SelectContext(ctx, &out.Verdicts, s.q(verdictHoursSince), from); err != nil {
		return out, fmt.Errorf("store: decisions per hour since %s: %w", since.Format(time.RFC3339), err)
	}
	if err := s.db.SelectContext(ctx, &out.Latencies, s.q(latencyHoursSince), from); err != nil {
		return out, fmt.Errorf("store: latency per hour since %s: %w", since.Format(time.RFC3339), err)
	}
	for i := range out.Verdicts {
		out.Verdicts[i].Hour = out.Verdicts[i].Hour.UTC()
	}
	for i := range out.Latencies {
		out.Latencies[i].Hour = out.Latencies[i].Hour.UTC()
	}
	return out, nil
}

// LatencyBucket is latency_le_ms of a latency: the least bound it does not
// exceed, or LatencyOverMs. A negative latency (clocks of two processes
// apart) counts as zero.
func LatencyBucket(d time.Duration) int64 {
	ms := max(d.Milliseconds(), 0)
	for _, b := range LatencyBoundsMs {
		if ms <= b {
			return b
		}
	}
	return LatencyOverMs
}

// decisionHourShards is how many rows share the count of one hour,
// verdict and latency bucket (decision_hours.shard).
const decisionHourShards = 4

func shardOf(employeeID int64) int64 {
	return (employeeID%decisionHourShards + decisionHourShards) % decisionHourShards
}

// countDecision adds a decision to its hour in decision_hours, in the
// caller's transaction. RecordMessage calls it last, so that the row lock
// of a busy hour is held only until the commit.
func (s *Store) countDecision(ctx context.Context, tx *sqlx.Tx, employeeID int64, at time.Time, outcome, reason string, notifiedAt time.Time) error {
	le := LatencyNone
	if !notifiedAt.IsZero() {
		le = LatencyBucket(at.Sub(notifiedAt))
	}
	_, err := tx.ExecContext(ctx, s.q(`
		INSERT INTO decision_hours (hour, outcome, reason, latency_le_ms, shard, n) VALUES (?, ?, ?, ?, ?, 1)
		ON CONFLICT (hour, outcome, reason, latency_le_ms, shard) DO UPDATE SET n = decision_hours.n + 1`),
		at.UTC().Truncate(time.Hour), outcome, reason, le, shardOf(employeeID))
	if err != nil {
		return fmt.Errorf("counting the decision per hour: %w", err)
	}
	return nil
}

// MailboxCounts counts the mailboxes for the metrics read at scrape time.
type MailboxCounts struct {
	// ByState: by Mailbox.State (enabled, disabled, inactive, access_denied).
	ByState map[string]int
	// Of the enabled mailboxes: those with a last error, and those whose
	// subscription failed.
	LastError, SubscriptionFailed int
}

// MailboxCounts counts mailboxes by state in one aggregate: a scrape of
// /metrics costs one query however many mailboxes there are.
func (s *Store) MailboxCounts(ctx context.Context) (MailboxCounts, error) {
	var rows []struct {
		State     string `db:"state"`
		LastError int    `db:"last_error"`
		SubFailed int    `db:"sub_failed"`
		N         int    `db:"n"`
	}
	// The state is mailboxStateSQL, the /ops page's: one definition of the
	// states, so a new one is counted here too.
	err := s.db.SelectContext(ctx, &rows, s.q(`
		SELECT state, last_error, sub_failed, COUNT(*) AS n FROM (
			SELECT `+mailboxStateSQL()+` AS state,
			       CASE WHEN m.last_error <> '' THEN 1 ELSE 0 END AS last_error,
			       CASE WHEN sub.status = ? THEN 1 ELSE 0 END AS sub_failed`+
		mailboxPageFrom+`) c
		GROUP BY state, last_error, sub_failed`), SubscriptionFailed)
	if err != nil {
		return MailboxCounts{}, fmt.Errorf("store: counting mailboxes: %w", err)
	}
	out := MailboxCounts{ByState: map[string]int{}}
	for _, r := range rows {
		out.ByState[r.State] += r.N
		if r.State != MailboxEnabled {
			continue
		}
		out.LastError += r.LastError * r.N
		out.SubscriptionFailed += r.SubFailed * r.N
	}
	return out, nil
}
