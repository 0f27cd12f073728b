package store

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Kinds of change in the change log (activity_changes), which the CRM's
// feed and webhooks read (DESIGN §11).
const (
	ChangeActivityCreated = "activity.created"
	ChangeActivityUpdated = "activity.updated"
	ChangeDocumentFiled   = "document.filed"
)

// Cursor is a position in the change log; the zero Cursor is its beginning.
// On PostgreSQL the log is ordered by the writing transaction's ID, then by
// sequence number; on SQLite Tx is always 0.
type Cursor struct {
	Tx  uint64
	Seq int64
}

// cursorPrefix versions the token, so its form can change later.
const cursorPrefix = "c1."

// String is the cursor as an opaque token for clients ("" for the beginning).
func (c Cursor) String() string {
	if c == (Cursor{}) {
		return ""
	}
	raw := strconv.FormatUint(c.Tx, 10) + "." + strconv.FormatInt(c.Seq, 10)
	return cursorPrefix + base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// ParseCursor reads a token made by Cursor.String; "" is the beginning. A
// malformed token is an error wrapping ErrInvalid.
func ParseCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	bad := fmt.Errorf("%w: malformed cursor", ErrInvalid)
	b64, ok := strings.CutPrefix(s, cursorPrefix)
	if !ok {
		return Cursor{}, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(b64)
	if err != nil {
		return Cursor{}, bad
	}
	txs, seqs, ok := strings.Cut(string(raw), ".")
	if !ok {
		return Cursor{}, bad
	}
	tx, err1 := strconv.ParseUint(txs, 10, 64)
	seq, err2 := strconv.ParseInt(seqs, 10, 64)
	if err1 != nil || err2 != nil || seq < 0 {
		return Cursor{}, bad
	}
	return Cursor{Tx: tx, Seq: seq}, nil
}

// Change is one row of the change log.
type Change struct {
	Cursor     Cursor
	Kind       string
	ActivityID int64
	CustomerID int64
	DocumentID *int64
	CreatedAt  time.Time
}

// appendChange records a change of an activity inside the transaction that
// makes it, so the log holds exactly the changes that were committed.
func (s *Store) appendChange(ctx context.Context, tx *sqlx.Tx, kind string, activityID int64, documentID *int64) error {
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO activity_changes (kind, activity_id, document_id, created_at) VALUES (?, ?, ?, ?)`),
		kind, activityID, documentID, s.now())
	if err != nil {
		return fmt.Errorf("recording %s of activity %d: %w", kind, activityID, err)
	}
	return nil
}

// maxChangesPage bounds one read of the log.
const maxChangesPage = 10_000

// skipHorizon turns the transaction horizon off; only tests set it, to show
// that a reader without it skips changes.
var skipHorizon = false

// Changes returns up to limit changes after the cursor, in log order, and
// only changes that are final: a later call never returns a change that
// sorts before one returned now.
//
// On PostgreSQL sequence numbers and transaction IDs are taken before commit,
// so a writer that started earlier may commit later. The read is bounded by
// the oldest transaction still running (pg_snapshot_xmin): every transaction
// below it has ended, and every later writer gets an ID at or above it. A
// long-open transaction therefore holds the feed back (never skips it); it
// moves on as soon as that transaction ends.
func (s *Store) Changes(ctx context.Context, after Cursor, limit int) ([]Change, error) {
	limit = min(max(limit, 1), maxChangesPage)
	type row struct {
		Tx         string    `db:"tx_id"`
		Seq        int64     `db:"seq"`
		Kind       string    `db:"kind"`
		ActivityID int64     `db:"activity_id"`
		CustomerID int64     `db:"customer_id"`
		DocumentID *int64    `db:"document_id"`
		CreatedAt  time.Time `db:"created_at"`
	}
	var rows []row
	var err error
	switch s.dialect {
	case Postgres:
		horizon := "18446744073709551615" // the largest xid8
		if !skipHorizon {
			if err = s.db.GetContext(ctx, &horizon, `SELECT pg_snapshot_xmin(pg_current_snapshot())::text`); err != nil {
				return nil, fmt.Errorf("store: change log horizon: %w", err)
			}
		}
		err = s.db.SelectContext(ctx, &rows, `
			SELECT c.tx_id::text AS tx_id, c.seq, c.kind, c.activity_id, a.customer_id, c.document_id, c.created_at
			FROM activity_changes c JOIN activities a ON a.id = c.activity_id
			WHERE (c.tx_id, c.seq) > ($1::text::xid8, $2) AND c.tx_id < $3::text::xid8
			ORDER BY c.tx_id, c.seq LIMIT $4`,
			strconv.FormatUint(after.Tx, 10), after.Seq, horizon, limit)
	default:
		err = s.db.SelectContext(ctx, &rows, `
			SELECT '0' AS tx_id, c.seq, c.kind, c.activity_id, a.customer_id, c.document_id, c.created_at
			FROM activity_changes c JOIN activities a ON a.id = c.activity_id
			WHERE c.seq > ? ORDER BY c.seq LIMIT ?`, after.Seq, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("store: reading the change log: %w", err)
	}
	out := make([]Change, len(rows))
	for i, r := range rows {
		tx, err := strconv.ParseUint(r.Tx, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("store: change log transaction ID %q: %w", r.Tx, err)
		}
		out[i] = Change{Cursor: Cursor{Tx: tx, Seq: r.Seq}, Kind: r.Kind, ActivityID: r.ActivityID,
			CustomerID: r.CustomerID, DocumentID: r.DocumentID, CreatedAt: r.CreatedAt.UTC()}
	}
	return out, nil
}
