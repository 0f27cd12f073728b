package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/dedesales/exchange-connector/internal/model"
)

// Subscription states.
const (
	SubscriptionActive = "active"
	SubscriptionFailed = "failed" // could not be created or renewed; see LastError
)

// SubscriptionRow is the connector's record of a mailbox's Graph subscription.
type SubscriptionRow struct {
	ID                 int64      `db:"id" json:"-"`
	EmployeeID         int64      `db:"employee_id" json:"employee_id"`
	GraphID            string     `db:"graph_subscription_id" json:"graph_subscription_id"`
	Resource           string     `db:"resource" json:"resource"`
	ExpiresAt          time.Time  `db:"expires_at" json:"expires_at"`
	Status             string     `db:"status" json:"status"`
	LastNotificationAt *time.Time `db:"last_notification_at" json:"last_notification_at,omitempty"`
	LastError          string     `db:"last_error" json:"last_error,omitempty"`
	CreatedAt          time.Time  `db:"created_at" json:"created_at"`
	UpdatedAt          time.Time  `db:"updated_at" json:"updated_at"`
}

// SubscriptionOf returns the subscription of a mailbox, or ErrNotFound.
func (s *Store) SubscriptionOf(ctx context.Context, employeeID int64) (SubscriptionRow, error) {
	var r SubscriptionRow
	err := s.db.GetContext(ctx, &r, s.q(`SELECT * FROM subscriptions WHERE employee_id = ?`), employeeID)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("store: subscription of employee %d: %w", employeeID, ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("store: subscription of employee %d: %w", employeeID, err)
	}
	return r, nil
}

// SubscriptionRows lists every stored subscription.
func (s *Store) SubscriptionRows(ctx context.Context) ([]SubscriptionRow, error) {
	var out []SubscriptionRow
	if err := s.db.SelectContext(ctx, &out, `SELECT * FROM subscriptions ORDER BY employee_id`); err != nil {
		return nil, fmt.Errorf("store: subscriptions: %w", err)
	}
	return out, nil
}

// SaveSubscription records a mailbox's live subscription (created or renewed).
func (s *Store) SaveSubscription(ctx context.Context, employeeID int64, sub model.Subscription) error {
	now := s.now()
	_, err := s.db.ExecContext(ctx, s.q(`
		INSERT INTO subscriptions (employee_id, graph_subscription_id, resource, expires_at, status, last_error, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, '', ?, ?)
		ON CONFLICT (employee_id) DO UPDATE SET graph_subscription_id = excluded.graph_subscription_id,
			resource = excluded.resource, expires_at = excluded.expires_at, status = excluded.status,
			last_error = '', updated_at = excluded.updated_at`),
		employeeID, sub.ID, sub.Resource, sub.ExpiresAt.UTC(), SubscriptionActive, now, now)
	if err != nil {
		return fmt.Errorf("store: save subscription of employee %d: %w", employeeID, err)
	}
	return nil
}

// SubscriptionFailedNow notes that a mailbox's subscription could not be
// created or renewed, keeping the row (or making one) for the status page.
func (s *Store) SubscriptionFailedNow(ctx context.Context, employeeID int64, reason string) error {
	now := s.now()
	_, err := s.db.ExecContext(ctx, s.q(`
		INSERT INTO subscriptions (employee_id, graph_subscription_id, resource, expires_at, status, last_error, created_at, updated_at)
		VALUES (?, ?, '', ?, ?, ?, ?, ?)
		ON CONFLICT (employee_id) DO UPDATE SET status = excluded.status, last_error = excluded.last_error, updated_at = excluded.updated_at`),
		employeeID, fmt.Sprintf("failed:%d", employeeID), now, SubscriptionFailed, reason, now, now)
	if err != nil {
		return fmt.Errorf("store: subscription failure of employee %d: %w", employeeID, err)
	}
	return nil
}

// DeleteSubscriptionRow forgets a mailbox's subscription.
func (s *Store) DeleteSubscriptionRow(ctx context.Context, employeeID int64) error {
	if _, err := s.db.ExecContext(ctx, s.q(`DELETE FROM subscriptions WHERE employee_id = ?`), employeeID); err != nil {
		return fmt.Errorf("store: delete subscription of employee %d: %w", employeeID, err)
	}
	return nil
}

// TouchSubscription notes that a notification arrived for a subscription.
func (s *Store) TouchSubscription(ctx context.Context, graphID string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`
		UPDATE subscriptions SET last_notification_at = ? WHERE graph_subscription_id = ?
		AND (last_notification_at IS NULL OR last_notification_at < ?)`), at.UTC(), graphID, at.UTC())
	if err != nil {
		return fmt.Errorf("store: touch subscription: %w", err)
	}
	return nil
}

// MailboxSynced notes the end of a mailbox's sync.
func (s *Store) MailboxSynced(ctx context.Context, employeeID int64) error {
	now := s.now()
	_, err := s.db.ExecContext(ctx, s.q(`
		INSERT INTO mailbox_states (employee_id, last_sync_at, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (employee_id) DO UPDATE SET last_sync_at = excluded.last_sync_at, updated_at = excluded.updated_at`),
		employeeID, now, now)
	if err != nil {
		return fmt.Errorf("store: mailbox synced: %w", err)
	}
	return nil
}

// SyncProgress counts the syncable mailboxes that have an active
// subscription and a completed sync (done) and those still without (pending).
// Two queries whatever the number of mailboxes (`connector report
// --wait-synced` and the scale bench poll it).
func (s *Store) SyncProgress(ctx context.Context) (done, pending int, err error) {
	mbs, err := s.Mailboxes(ctx)
	if err != nil {
		return 0, 0, err
	}
	var active []int64
	if err := s.db.SelectContext(ctx, &active, s.q(`SELECT employee_id FROM subscriptions WHERE status = ?`), SubscriptionActive); err != nil {
		return 0, 0, fmt.Errorf("store: sync progress: %w", err)
	}
	subscribed := make(map[int64]bool, len(active))
	for _, id := range active {
		subscribed[id] = true
	}
	for _, mb := range mbs {
		if !mb.Syncable() {
			continue
		}
		if subscribed[mb.EmployeeID] && mb.LastSyncAt != nil {
			done++
		} else {
			pending++
		}
	}
	return done, pending, nil
}
