package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// WebhookEndpoint is a CRM endpoint that receives signed events (DESIGN
// §11, internal/crmhook). The signing secret itself is only in
// SecretSealed (see internal/secret); nothing here prints it.
type WebhookEndpoint struct {
	ID           int64  `db:"id" json:"id"`
	URL          string `db:"url" json:"url"`
	EventsList   string `db:"events" json:"-"` // comma-separated change kinds; see Events
	SecretSealed string `db:"secret_sealed" json:"-"`
	// AllowPrivate lets deliveries go to private, loopback and link-local
	// addresses and over plain http:// (a CRM on the same network).
	AllowPrivate  bool       `db:"allow_private" json:"allow_private"`
	CreatedAt     time.Time  `db:"created_at" json:"created_at"`
	LastSuccessAt *time.Time `db:"last_success_at" json:"last_success_at,omitempty"`
	// FailingSince is when the deliveries started failing; nil while the
	// last delivery succeeded.
	FailingSince *time.Time `db:"failing_since" json:"failing_since,omitempty"`
	LastError    string     `db:"last_error" json:"last_error,omitempty"`
}

// Events are the change kinds the endpoint subscribed to.
func (e WebhookEndpoint) Events() []string {
	if e.EventsList == "" {
		return nil
	}
	return strings.Split(e.EventsList, ",")
}

// Subscribed reports whether the endpoint receives changes of kind.
func (e WebhookEndpoint) Subscribed(kind string) bool {
	for _, k := range e.Events() {
		if k == kind {
			return true
		}
	}
	return false
}

// WebhookSecretContext is the context an endpoint's secret is sealed with,
// so that a sealed secret cannot be moved to another endpoint.
func WebhookSecretContext(url string) string { return "webhook:" + url }

// AddWebhookEndpoint stores an endpoint with the given events; its ID is
// returned. A URL that is already registered is ErrInvalid.
func (s *Store) AddWebhookEndpoint(ctx context.Context, e WebhookEndpoint, events []string) (int64, error) {
	if len(events) == 0 {
		return 0, fmt.Errorf("store: webhook %s: no events: %w", e.URL, ErrInvalid)
	}
	var n int
	if err := s.db.GetContext(ctx, &n, s.q(`SELECT COUNT(*) FROM webhook_endpoints WHERE url = ?`), e.URL); err != nil {
		return 0, fmt.Errorf("store: webhook %s: %w", e.URL, err)
	}
	if n > 0 {
		return 0, fmt.Errorf("store: webhook %s is already registered: %w", e.URL, ErrInvalid)
	}
	var id int64
	err := s.db.GetContext(ctx, &id, s.q(`
		INSERT INTO webhook_endpoints (url, events, secret_sealed, allow_private, created_at)
		VALUES (?, ?, ?, ?, ?) RETURNING id`),
		e.URL, strings.Join(events, ","), e.SecretSealed, e.AllowPrivate, s.now())
	if err != nil {
		return 0, fmt.Errorf("store: adding webhook %s: %w", e.URL, err)
	}
	return id, nil
}

// WebhookEndpoints lists the endpoints by ID.
func (s *Store) WebhookEndpoints(ctx context.Context) ([]WebhookEndpoint, error) {
	var out []WebhookEndpoint
	if err := s.db.SelectContext(ctx, &out, `SELECT * FROM webhook_endpoints ORDER BY id`); err != nil {
		return nil, fmt.Errorf("store: webhooks: %w", err)
	}
	return out, nil
}

// WebhookEndpoint returns one endpoint (ErrNotFound when none).
func (s *Store) WebhookEndpoint(ctx context.Context, id int64) (WebhookEndpoint, error) {
	return s.webhookEndpoint(ctx, `SELECT * FROM webhook_endpoints WHERE id = ?`, id)
}

// WebhookEndpointByURL returns the endpoint of a URL (ErrNotFound when none).
func (s *Store) WebhookEndpointByURL(ctx context.Context, url string) (WebhookEndpoint, error) {
	return s.webhookEndpoint(ctx, `SELECT * FROM webhook_endpoints WHERE url = ?`, url)
}

func (s *Store) webhookEndpoint(ctx context.Context, query string, arg any) (WebhookEndpoint, error) {
	var e WebhookEndpoint
	err := s.db.GetContext(ctx, &e, s.q(query), arg)
	if errors.Is(err, sql.ErrNoRows) {
		return e, fmt.Errorf("store: webhook %v: %w", arg, ErrNotFound)
	}
	if err != nil {
		return e, fmt.Errorf("store: webhook %v: %w", arg, err)
	}
	return e, nil
}

// RemoveWebhookEndpoint deletes an endpoint; its queued deliveries find it
// gone and are dropped. ErrNotFound when there is none.
func (s *Store) RemoveWebhookEndpoint(ctx context.Context, id int64) error {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM webhook_endpoints WHERE id = ?`), id)
	if err != nil {
		return fmt.Errorf("store: removing webhook %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: webhook %d: %w", id, ErrNotFound)
	}
	return nil
}

// ResealWebhookEndpoint replaces an endpoint's sealed secret (the same
// secret sealed under a new master key).
func (s *Store) ResealWebhookEndpoint(ctx context.Context, id int64, sealed string) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE webhook_endpoints SET secret_sealed = ? WHERE id = ?`), sealed, id)
	if err != nil {
		return fmt.Errorf("store: reseal webhook %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: webhook %d: %w", id, ErrNotFound)
	}
	return nil
}

// RecordWebhookSuccess notes a successful delivery: the endpoint is no
// longer failing.
func (s *Store) RecordWebhookSuccess(ctx context.Context, id int64) error {
	_, err := s.db.ExecContext(ctx, s.q(`
		UPDATE webhook_endpoints SET last_success_at = ?, failing_since = NULL, last_error = '' WHERE id = ?`), s.now(), id)
	if err != nil {
		return fmt.Errorf("store: webhook %d: %w", id, err)
	}
	return nil
}

// RecordWebhookFailure notes a failed delivery attempt that started at
// attempt, and why; failing_since keeps the start of the failure. A failure
// is not recorded when a delivery that started later has succeeded already
// (the endpoint has recovered; a slow failure must not mark it failing again).
func (s *Store) RecordWebhookFailure(ctx context.Context, id int64, attempt time.Time, cause string) error {
	_, err := s.db.ExecContext(ctx, s.q(`
		UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, ?), last_error = ?
		WHERE id = ? AND (last_success_at IS NULL OR last_success_at < ?)`), s.now(), cause, id, attempt.UTC())
	if err != nil {
		return fmt.Errorf("store: webhook %d: %w", id, err)
	}
	return nil
}

// WebhookCursor is the webhook dispatcher's position in the change log:
// the deliveries of every change up to it have been enqueued.
func (s *Store) WebhookCursor(ctx context.Context) (Cursor, error) {
	var row struct {
		Tx  int64 `db:"cursor_tx"`
		Seq int64 `db:"cursor_seq"`
	}
	if err := s.db.GetContext(ctx, &row, `SELECT cursor_tx, cursor_seq FROM webhook_dispatch WHERE id = 1`); err != nil {
		return Cursor{}, fmt.Errorf("store: webhook cursor: %w", err)
	}
	return Cursor{Tx: uint64(row.Tx), Seq: row.Seq}, nil
}

// AdvanceWebhookCursor moves the dispatcher's cursor from from to to, only
// if it still is at from (compare and set): it reports false when another
// dispatcher moved it meanwhile, so the cursor never goes back.
func (s *Store) AdvanceWebhookCursor(ctx context.Context, from, to Cursor) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.q(`
		UPDATE webhook_dispatch SET cursor_tx = ?, cursor_seq = ?, updated_at = ?
		WHERE id = 1 AND cursor_tx = ? AND cursor_seq = ?`),
		int64(to.Tx), to.Seq, s.now(), int64(from.Tx), from.Seq)
	if err != nil {
		return false, fmt.Errorf("store: advance webhook cursor: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: advance webhook cursor: %w", err)
	}
	return n == 1, nil
}
