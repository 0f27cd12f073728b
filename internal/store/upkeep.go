package store

import (
	"context"
	"fmt"
	"time"
)

// UpkeepDueQuery selects the mailboxes the subscription upkeep has work for.
type UpkeepDueQuery struct {
	Now         time.Time // access re-checks due at or before it
	RenewBy     time.Time // subscriptions expiring before it are renewed
	SweepBefore time.Time // mailboxes last synced before it get a safety-net sync
	AfterID     int64     // keyset: employees after this ID
	Limit       int
}

// UpkeepDue lists, by employee ID after q.AfterID, the mailboxes with work
// for the subscription upkeep: syncable ones without an active subscription,
// with one expiring before q.RenewBy, not synced since q.SweepBefore, or
// never synced with no active subscription made after q.SweepBefore (its
// first sync is queued; jobs' sweepDue);
// access-denied and not-found ones due for their re-check; and unsyncable ones that still
// have a subscription row. One query per batch whatever the number of
// mailboxes, and the upkeep's work (with its queries) is per due mailbox.
//
// "Syncable" here is Mailbox.Syncable in SQL (active, not paused, not
// denied, not not-found); the upkeep decides with Mailbox.Syncable again.
func (s *Store) UpkeepDue(ctx context.Context, q UpkeepDueQuery) ([]Mailbox, error) {
	if q.Limit <= 0 {
		q.Limit = 500
	}
	var out []Mailbox
	err := s.db.SelectContext(ctx, &out, s.q(mailboxSelect+`
	AND e.id > ?
	AND (
		((ms.access_denied_at IS NOT NULL OR ms.not_found_at IS NOT NULL) AND (ms.access_check_at IS NULL OR ms.access_check_at <= ?))
		OR ((NOT e.active OR COALESCE(ms.disabled, FALSE) OR ms.access_denied_at IS NOT NULL OR ms.not_found_at IS NOT NULL)
			AND EXISTS (SELECT 1 FROM subscriptions s WHERE s.employee_id = e.id))
		OR (e.active AND NOT COALESCE(ms.disabled, FALSE) AND ms.access_denied_at IS NULL AND ms.not_found_at IS NULL AND (
			ms.last_sync_at < ?
			OR (ms.last_sync_at IS NULL AND NOT EXISTS (SELECT 1 FROM subscriptions s WHERE s.employee_id = e.id
				AND s.status = ? AND s.created_at > ?))
			OR NOT EXISTS (SELECT 1 FROM subscriptions s WHERE s.employee_id = e.id AND s.status = ? AND s.expires_at >= ?)))
	)
	ORDER BY e.id LIMIT ?`), q.AfterID, q.Now.UTC(), q.SweepBefore.UTC(), SubscriptionActive, q.SweepBefore.UTC(),
		SubscriptionActive, q.RenewBy.UTC(), q.Limit)
	if err != nil {
		return nil, fmt.Errorf("store: mailboxes due for upkeep: %w", err)
	}
	return out, nil
}
