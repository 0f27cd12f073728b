package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"
)

// Alert is one row of the alerts table: a condition (kind + subject key)
// at one level, and whether its e-mail went out. The table is the
// de-duplication state of internal/alert: a condition mails once per
// level while it lasts, and again only after it was resolved and came back.
type Alert struct {
	ID         int64      `db:"id" json:"-"`
	Kind       string     `db:"kind" json:"kind"`
	SubjectKey string     `db:"subject_key" json:"subject_key"`
	Level      string     `db:"level" json:"level,omitempty"`
	Message    string     `db:"message" json:"message"`
	OpenedAt   time.Time  `db:"opened_at" json:"opened_at"`
	SentAt     *time.Time `db:"sent_at" json:"sent_at,omitempty"`
	ResolvedAt *time.Time `db:"resolved_at" json:"resolved_at,omitempty"`
	// ClaimedAt is set while a worker sends the alert's e-mail (a lease of
	// AlertClaimLease); nil otherwise.
	ClaimedAt *time.Time `db:"claimed_at" json:"-"`
	// Attempts counts the tries to send the e-mail; LastError is why the
	// last one failed ("" once sent).
	Attempts  int    `db:"attempts" json:"attempts"`
	LastError string `db:"last_error" json:"last_error,omitempty"`
}

// AlertClaimLease is how long a worker may take to send an alert's e-mail
// before another worker may take the alert over (the first one crashed).
const AlertClaimLease = 5 * time.Minute

// OpenAlert records that a condition holds at a level. It reports isNew
// true only to the one caller that opened it: the first time, or the first
// time again after the condition had been resolved (the row is then reset:
// unsent, unresolved, new message and opened_at). That caller also holds
// the claim to send its e-mail (see ClaimAlert). Safe under concurrent
// callers: one INSERT … ON CONFLICT statement decides, and RowsAffected
// says whether it inserted or reopened.
func (s *Store) OpenAlert(ctx context.Context, kind, key, level, message string) (isNew bool, err error) {
	now := s.now()
	res, err := s.db.ExecContext(ctx, s.q(`
		INSERT INTO alerts (kind, subject_key, level, message, opened_at, claimed_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (kind, subject_key, level) DO UPDATE SET
			message = excluded.message, opened_at = excluded.opened_at, claimed_at = excluded.claimed_at,
			sent_at = NULL, resolved_at = NULL, attempts = 0, last_error = ''
		WHERE alerts.resolved_at IS NOT NULL`), kind, key, level, message, now, now)
	if err != nil {
		return false, fmt.Errorf("store: open alert %s/%s/%s: %w", kind, key, level, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: open alert %s/%s/%s: %w", kind, key, level, err)
	}
	return n == 1, nil
}

// ClaimAlert takes the right to send an open alert's e-mail that has not
// been sent yet and that no other worker is sending (or whose sender's
// lease ran out). It reports false when there is nothing to send or
// someone else is sending it. This is how an unsent alert is retried.
func (s *Store) ClaimAlert(ctx context.Context, kind, key, level string) (bool, error) {
	now := s.now()
	res, err := s.db.ExecContext(ctx, s.q(`
		UPDATE alerts SET claimed_at = ?
		WHERE kind = ? AND subject_key = ? AND level = ?
		  AND resolved_at IS NULL AND sent_at IS NULL
		  AND (claimed_at IS NULL OR claimed_at < ?)`),
		now, kind, key, level, now.Add(-AlertClaimLease))
	if err != nil {
		return false, fmt.Errorf("store: claim alert %s/%s/%s: %w", kind, key, level, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: claim alert %s/%s/%s: %w", kind, key, level, err)
	}
	return n == 1, nil
}

// MarkAlertSent records that an alert's e-mail went out and releases the
// claim. ErrNotFound if there is no such alert.
func (s *Store) MarkAlertSent(ctx context.Context, kind, key, level string) error {
	return s.updateAlert(ctx, "mark alert sent", `
		UPDATE alerts SET sent_at = ?, claimed_at = NULL, attempts = attempts + 1, last_error = ''
		WHERE kind = ? AND subject_key = ? AND level = ?`, s.now(), kind, key, level)
}

// MarkAlertFailed records a failed attempt to send an alert's e-mail and
// releases the claim, so that the next ClaimAlert retries at once.
// ErrNotFound if there is no such alert.
func (s *Store) MarkAlertFailed(ctx context.Context, kind, key, level string, cause error) error {
	msg := "unknown error"
	if cause != nil {
		msg = cause.Error()
	}
	return s.updateAlert(ctx, "mark alert failed", `
		UPDATE alerts SET claimed_at = NULL, attempts = attempts + 1, last_error = ?
		WHERE kind = ? AND subject_key = ? AND level = ? AND sent_at IS NULL`, msg, kind, key, level)
}

func (s *Store) updateAlert(ctx context.Context, op, query string, args ...any) error {
	res, err := s.db.ExecContext(ctx, s.q(query), args...)
	if err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	if n == 0 {
		return fmt.Errorf("store: %s: %w", op, ErrNotFound)
	}
	return nil
}

// ResolveAlerts closes every open alert of a condition (all its levels)
// and returns those whose e-mail had been sent, oldest first: the caller
// owes a recovery e-mail for them. Under concurrent callers each row is
// returned to exactly one of them (the UPDATE only matches unresolved rows).
func (s *Store) ResolveAlerts(ctx context.Context, kind, key string) ([]Alert, error) {
	var rows []Alert
	err := s.db.SelectContext(ctx, &rows, s.q(`
		UPDATE alerts SET resolved_at = ?, claimed_at = NULL
		WHERE kind = ? AND subject_key = ? AND resolved_at IS NULL
		RETURNING *`), s.now(), kind, key)
	if err != nil {
		return nil, fmt.Errorf("store: resolve alerts %s/%s: %w", kind, key, err)
	}
	var sent []Alert
	for _, a := range rows {
		if a.SentAt != nil {
			sent = append(sent, a)
		}
	}
	sortAlerts(sent)
	return sent, nil
}

// OpenAlerts lists the alerts whose condition still holds, oldest first
// (the status page). Unsent ones have SentAt nil and say why in LastError.
func (s *Store) OpenAlerts(ctx context.Context) ([]Alert, error) {
	var out []Alert
	err := s.db.SelectContext(ctx, &out, `SELECT * FROM alerts WHERE resolved_at IS NULL ORDER BY opened_at, id`)
	if err != nil {
		return nil, fmt.Errorf("store: open alerts: %w", err)
	}
	return out, nil
}

func sortAlerts(as []Alert) {
	slices.SortFunc(as, func(a, b Alert) int {
		if c := a.OpenedAt.Compare(b.OpenedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}
