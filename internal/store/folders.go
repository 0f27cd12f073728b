package store

import (
	"context"
	"fmt"
	"time"

	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/jmoiron/sqlx"
)

// Folder is a mailbox folder as the connector keeps it, with the delta link
// of its last completed delta round.
type Folder struct {
	model.MailFolder
	DeltaLink string    `db:"delta_link"`
	UpdatedAt time.Time `db:"updated_at"`
}

type folderRow struct {
	FolderID      string    `db:"folder_id"`
	ParentID      string    `db:"parent_id"`
	WellKnownName string    `db:"well_known_name"`
	DisplayName   string    `db:"display_name"`
	Hidden        bool      `db:"hidden"`
	ItemCount     int64     `db:"item_count"`
	DeltaLink     string    `db:"delta_link"`
	UpdatedAt     time.Time `db:"updated_at"`
}

// Folders returns the stored folder tree of a mailbox.
func (s *Store) Folders(ctx context.Context, employeeID int64) ([]Folder, error) {
	var rows []folderRow
	err := s.db.SelectContext(ctx, &rows, s.q(`
		SELECT folder_id, parent_id, well_known_name, display_name, hidden, item_count, delta_link, updated_at
		FROM folders WHERE employee_id = ? ORDER BY folder_id`), employeeID)
	if err != nil {
		return nil, fmt.Errorf("store: folders of employee %d: %w", employeeID, err)
	}
	out := make([]Folder, len(rows))
	for i, r := range rows {
		out[i] = Folder{
			MailFolder: model.MailFolder{ID: r.FolderID, ParentID: r.ParentID, WellKnownName: r.WellKnownName, DisplayName: r.DisplayName, Hidden: r.Hidden,
				ItemCount: r.ItemCount},
			DeltaLink: r.DeltaLink, UpdatedAt: r.UpdatedAt,
		}
	}
	return out, nil
}

// ReplaceFolders stores a freshly read folder tree: new folders are added,
// renamed or moved ones updated (keeping their delta links), vanished ones removed.
func (s *Store) ReplaceFolders(ctx context.Context, employeeID int64, tree []model.MailFolder) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		var ids []string
		if err := tx.SelectContext(ctx, &ids, s.q(`SELECT folder_id FROM folders WHERE employee_id = ?`), employeeID); err != nil {
			return fmt.Errorf("store: folders: %w", err)
		}
		gone := make(map[string]bool, len(ids))
		for _, id := range ids {
			gone[id] = true
		}
		now := s.now()
		for _, f := range tree {
			delete(gone, f.ID)
			_, err := tx.ExecContext(ctx, s.q(`
				INSERT INTO folders (employee_id, folder_id, parent_id, well_known_name, display_name, hidden, item_count, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (employee_id, folder_id) DO UPDATE SET parent_id = excluded.parent_id,
					well_known_name = excluded.well_known_name, display_name = excluded.display_name,
					hidden = excluded.hidden, item_count = excluded.item_count, updated_at = excluded.updated_at`),
				employeeID, f.ID, f.ParentID, f.WellKnownName, f.DisplayName, f.Hidden, f.ItemCount, now)
			if err != nil {
				return fmt.Errorf("store: folder %s: %w", f.DisplayName, err)
			}
		}
		for id := range gone {
			if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM folders WHERE employee_id = ? AND folder_id = ?`), employeeID, id); err != nil {
				return fmt.Errorf("store: folder %s: %w", id, err)
			}
		}
		return nil
	})
}

// SetDeltaLink stores the delta link of a folder's completed round (empty
// to force a fresh round).
func (s *Store) SetDeltaLink(ctx context.Context, employeeID int64, folderID, link string) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE folders SET delta_link = ?, updated_at = ? WHERE employee_id = ? AND folder_id = ?`),
		link, s.now(), employeeID, folderID)
	if err != nil {
		return fmt.Errorf("store: delta link of folder %s: %w", folderID, err)
	}
	return nil
}
