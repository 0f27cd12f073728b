package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// DocumentByID returns a filed document's row (where it lies, its name,
// size, SHA-256 and media type); ErrNotFound when there is none.
func (s *Store) DocumentByID(ctx context.Context, id int64) (Document, error) {
	var d Document
	err := s.db.GetContext(ctx, &d, s.q(`
		SELECT id, customer_id, COALESCE(activity_id, 0) AS activity_id, source_key, path, name, size, sha256, content_type,
			thread_key, mail_date, sender, created_at
		FROM documents WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return Document{}, fmt.Errorf("store: document %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Document{}, fmt.Errorf("store: document %d: %w", id, err)
	}
	d.MailDate, d.CreatedAt = utcPtr(d.MailDate), d.CreatedAt.UTC()
	return d, nil
}
