package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/jmoiron/sqlx"
)

// Document is a filed attachment.
type Document struct {
	ID          int64      `db:"id"`
	CustomerID  int64      `db:"customer_id"`
	ActivityID  int64      `db:"activity_id"`
	SourceKey   string     `db:"source_key"` // "{activity}:{attachment id}": filed once
	Path        string     `db:"path"`
	Name        string     `db:"name"`
	Size        int64      `db:"size"`
	SHA256      string     `db:"sha256"`
	ContentType string     `db:"content_type"`
	ThreadKey   string     `db:"thread_key"`
	MailDate    *time.Time `db:"mail_date"`
	Sender      string     `db:"sender"`
	CreatedAt   time.Time  `db:"created_at"`
}

// ThreadDocuments returns the files filed for a customer's thread, oldest first.
func (s *Store) ThreadDocuments(ctx context.Context, customerID int64, threadKey string) ([]Document, error) {
	var out []Document
	err := s.db.SelectContext(ctx, &out, s.q(`
		SELECT id, customer_id, COALESCE(activity_id, 0) AS activity_id, source_key, path, name, size, sha256, content_type,
			thread_key, mail_date, sender, created_at
		FROM documents WHERE customer_id = ? AND thread_key = ? ORDER BY id`), customerID, threadKey)
	if err != nil {
		return nil, fmt.Errorf("store: documents of customer %d: %w", customerID, err)
	}
	return out, nil
}

// DocumentFiled reports whether an attachment has been filed (by source key).
func (s *Store) DocumentFiled(ctx context.Context, sourceKey string) (bool, error) {
	var n int
	if err := s.db.GetContext(ctx, &n, s.q(`SELECT COUNT(*) FROM documents WHERE source_key = ?`), sourceKey); err != nil {
		return false, fmt.Errorf("store: document %s: %w", sourceKey, err)
	}
	return n > 0, nil
}

// RecordDocument stores a filed attachment; recording it again updates it.
// The first recording enters the change log (document.filed), so the CRM
// sees the activity again with its new document.
func (s *Store) RecordDocument(ctx context.Context, d Document) error {
	mailDate := utcPtr(d.MailDate)
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var id int64
		err := tx.GetContext(ctx, &id, s.q(`
			INSERT INTO documents (customer_id, activity_id, source_key, path, name, size, sha256, content_type, thread_key, mail_date, sender, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (source_key) DO NOTHING RETURNING id`),
			d.CustomerID, d.ActivityID, d.SourceKey, d.Path, d.Name, d.Size, d.SHA256, d.ContentType, d.ThreadKey, mailDate, d.Sender, s.now())
		if errors.Is(err, sql.ErrNoRows) {
			_, err = tx.ExecContext(ctx, s.q(`UPDATE documents SET path = ?, name = ?, size = ?, sha256 = ?, content_type = ? WHERE source_key = ?`),
				d.Path, d.Name, d.Size, d.SHA256, d.ContentType, d.SourceKey)
			return err
		}
		if err != nil || d.ActivityID == 0 {
			return err
		}
		return s.appendChange(ctx, tx, ChangeDocumentFiled, d.ActivityID, &id)
	})
	if err != nil {
		return fmt.Errorf("store: record document %s: %w", d.Path, err)
	}
	return nil
}

// MoveDocument records that a filed file was moved.
func (s *Store) MoveDocument(ctx context.Context, customerID int64, from, to string) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE documents SET path = ? WHERE customer_id = ? AND path = ?`), to, customerID, from)
	if err != nil {
		return fmt.Errorf("store: move document %s: %w", from, err)
	}
	return nil
}

// Customer returns a customer by ID.
func (s *Store) Customer(ctx context.Context, id int64) (model.Customer, error) {
	var c model.Customer
	err := s.db.GetContext(ctx, &c, s.q(`SELECT id, number, name, email FROM customers WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("store: customer %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("store: customer %d: %w", id, err)
	}
	return c, nil
}

// AddDecisionNote appends a note to the decision about a message (e.g. an
// attachment left out because of its size).
func (s *Store) AddDecisionNote(ctx context.Context, employeeID int64, messageID, note string) error {
	_, err := s.db.ExecContext(ctx, s.q(`
		UPDATE decisions SET note = CASE WHEN note = '' THEN ? ELSE note || '; ' || ? END
		WHERE employee_id = ? AND graph_message_id = ?`), note, note, employeeID, messageID)
	if err != nil {
		return fmt.Errorf("store: decision note: %w", err)
	}
	return nil
}
