package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// FirstSync is the recorded progress of a mailbox's first sync: the
// backfill of every considered folder that has no delta link yet. It is
// written per page of messages and per finished folder, never per message.
type FirstSync struct {
	EmployeeID int64      `db:"employee_id" json:"employee_id"`
	Address    string     `db:"address" json:"address"`
	Name       string     `db:"name" json:"name"`
	StartedAt  time.Time  `db:"started_at" json:"started_at"`
	UpdatedAt  time.Time  `db:"updated_at" json:"updated_at"` // the last progress
	FinishedAt *time.Time `db:"finished_at" json:"finished_at,omitempty"`
	// FoldersDone of FoldersTotal considered folders have a delta link.
	FoldersTotal int `db:"folders_total" json:"folders_total"`
	FoldersDone  int `db:"folders_done" json:"folders_done"`
	// MessagesSeen counts the messages read so far, MessagesDone those of
	// the finished folders (a resumed sync starts the unfinished folder
	// over, so it goes back to MessagesDone).
	MessagesSeen int64 `db:"messages_seen" json:"messages_seen"`
	MessagesDone int64 `db:"messages_done" json:"messages_done"`
	// ItemsTotal and ItemsDone sum Graph's totalItemCount of the considered
	// and of the finished folders: all their mail, of any age.
	ItemsTotal  int64      `db:"items_total" json:"items_total"`
	ItemsDone   int64      `db:"items_done" json:"items_done"`
	Folder      string     `db:"folder" json:"folder,omitempty"` // being read
	LastError   string     `db:"last_error" json:"last_error,omitempty"`
	LastErrorAt *time.Time `db:"last_error_at" json:"last_error_at,omitempty"`
}

// FirstSyncStart describes the folders of a first sync as it (re)starts:
// the considered folders and those of them already done.
type FirstSyncStart struct {
	FoldersTotal, FoldersDone int
	ItemsTotal, ItemsDone     int64
}

// FirstSyncStep is the progress of a running first sync, written as a whole.
type FirstSyncStep struct {
	FoldersDone                           int
	MessagesSeen, MessagesDone, ItemsDone int64
	Folder                                string
}

const firstSyncSelect = `
	SELECT p.employee_id, COALESCE(e.mailbox_norm, '') AS address, e.name, p.started_at, p.updated_at,
	       p.finished_at, p.folders_total, p.folders_done, p.messages_seen, p.messages_done,
	       p.items_total, p.items_done, p.folder, p.last_error, p.last_error_at
	FROM sync_progress p JOIN employees e ON e.id = p.employee_id`

// StartFirstSync records that a first sync runs. A sync that resumes an
// unfinished one keeps its start and the messages of its finished folders;
// otherwise the record starts afresh. It returns the record as it now is.
func (s *Store) StartFirstSync(ctx context.Context, employeeID int64, st FirstSyncStart) (FirstSync, error) {
	var p FirstSync
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		now := s.now()
		var running int
		err := tx.GetContext(ctx, &running, s.q(`SELECT COUNT(*) FROM sync_progress WHERE employee_id = ? AND finished_at IS NULL`), employeeID)
		if err != nil {
			return err
		}
		if running > 0 {
			_, err = tx.ExecContext(ctx, s.q(`
				UPDATE sync_progress SET folders_total = ?, folders_done = ?, items_total = ?, items_done = ?,
					messages_done = CASE WHEN ? = 0 THEN 0 ELSE messages_done END,
					messages_seen = CASE WHEN ? = 0 THEN 0 ELSE messages_done END,
					folder = '', updated_at = ?
				WHERE employee_id = ?`),
				st.FoldersTotal, st.FoldersDone, st.ItemsTotal, st.ItemsDone, st.FoldersDone, st.FoldersDone, now, employeeID)
		} else {
			_, err = tx.ExecContext(ctx, s.q(`
				INSERT INTO sync_progress (employee_id, started_at, updated_at, finished_at, folders_total, folders_done,
					messages_seen, messages_done, items_total, items_done, folder, last_error, last_error_at)
				VALUES (?, ?, ?, NULL, ?, ?, 0, 0, ?, ?, '', '', NULL)
				ON CONFLICT (employee_id) DO UPDATE SET started_at = excluded.started_at, updated_at = excluded.updated_at,
					finished_at = NULL, folders_total = excluded.folders_total, folders_done = excluded.folders_done,
					messages_seen = 0, messages_done = 0, items_total = excluded.items_total, items_done = excluded.items_done,
					folder = '', last_error = '', last_error_at = NULL`),
				employeeID, now, now, st.FoldersTotal, st.FoldersDone, st.ItemsTotal, st.ItemsDone)
		}
		if err != nil {
			return err
		}
		return tx.GetContext(ctx, &p, s.q(firstSyncSelect+` WHERE p.employee_id = ?`), employeeID)
	})
	if err != nil {
		return FirstSync{}, fmt.Errorf("store: start first sync of employee %d: %w", employeeID, err)
	}
	return p, nil
}

// RecordFirstSync writes the progress of a running first sync.
func (s *Store) RecordFirstSync(ctx context.Context, employeeID int64, st FirstSyncStep) error {
	_, err := s.db.ExecContext(ctx, s.q(`
		UPDATE sync_progress SET folders_done = ?, messages_seen = ?, messages_done = ?, items_done = ?, folder = ?, updated_at = ?
		WHERE employee_id = ? AND finished_at IS NULL`),
		st.FoldersDone, st.MessagesSeen, st.MessagesDone, st.ItemsDone, st.Folder, s.now(), employeeID)
	if err != nil {
		return fmt.Errorf("store: first sync progress of employee %d: %w", employeeID, err)
	}
	return nil
}

// FirstSyncFailed records the error a running first sync stopped at (it is
// retried); its progress stays.
func (s *Store) FirstSyncFailed(ctx context.Context, employeeID int64, msg string) error {
	_, err := s.db.ExecContext(ctx, s.q(`
		UPDATE sync_progress SET last_error = ?, last_error_at = ? WHERE employee_id = ? AND finished_at IS NULL`),
		msg, s.now(), employeeID)
	if err != nil {
		return fmt.Errorf("store: first sync error of employee %d: %w", employeeID, err)
	}
	return nil
}

// FinishFirstSync records that every considered folder has its delta link.
func (s *Store) FinishFirstSync(ctx context.Context, employeeID int64) error {
	now := s.now()
	_, err := s.db.ExecContext(ctx, s.q(`
		UPDATE sync_progress SET finished_at = ?, updated_at = ?, folders_done = folders_total, messages_done = messages_seen,
			items_done = items_total, folder = ''
		WHERE employee_id = ? AND finished_at IS NULL`), now, now, employeeID)
	if err != nil {
		return fmt.Errorf("store: finish first sync of employee %d: %w", employeeID, err)
	}
	return nil
}

// ForgetFirstSync drops a mailbox's record, so that the next sync starts a
// new one (a resync that forgets the delta links).
func (s *Store) ForgetFirstSync(ctx context.Context, employeeID int64) error {
	if _, err := s.db.ExecContext(ctx, s.q(`DELETE FROM sync_progress WHERE employee_id = ?`), employeeID); err != nil {
		return fmt.Errorf("store: forget first sync of employee %d: %w", employeeID, err)
	}
	return nil
}

// FirstSyncOf returns a mailbox's record, running or finished; ErrNotFound
// when it never had one.
func (s *Store) FirstSyncOf(ctx context.Context, employeeID int64) (FirstSync, error) {
	var p FirstSync
	err := s.db.GetContext(ctx, &p, s.q(firstSyncSelect+` WHERE p.employee_id = ?`), employeeID)
	if errors.Is(err, sql.ErrNoRows) {
		return FirstSync{}, fmt.Errorf("store: first sync of employee %d: %w", employeeID, ErrNotFound)
	}
	if err != nil {
		return FirstSync{}, fmt.Errorf("store: first sync of employee %d: %w", employeeID, err)
	}
	return p, nil
}

// firstSyncsRunningQuery lists running first syncs, oldest start first,
// from the partial index sync_progress_running.
const firstSyncsRunningQuery = firstSyncSelect + `
	WHERE p.finished_at IS NULL ORDER BY p.started_at, p.employee_id LIMIT ?`

// firstSyncsCountQuery counts them from the same index.
const firstSyncsCountQuery = `SELECT COUNT(*) FROM sync_progress WHERE finished_at IS NULL`

// FirstSyncsInProgress returns at most limit running first syncs, the
// oldest start first, and how many run in all. Both read the partial index
// of running syncs only, so the cost follows the syncs in progress, not
// the mailboxes.
func (s *Store) FirstSyncsInProgress(ctx context.Context, limit int) ([]FirstSync, int, error) {
	var out []FirstSync
	if err := s.db.SelectContext(ctx, &out, s.q(firstSyncsRunningQuery), limit); err != nil {
		return nil, 0, fmt.Errorf("store: first syncs in progress: %w", err)
	}
	var n int
	if err := s.db.GetContext(ctx, &n, firstSyncsCountQuery); err != nil {
		return nil, 0, fmt.Errorf("store: first syncs in progress: %w", err)
	}
	return out, n, nil
}

// FirstSyncEstimate is what the recorded numbers say about a first sync.
type FirstSyncEstimate struct {
	// Elapsed runs from the start to the last progress.
	Elapsed time.Duration
	// Idle is the time since the last progress: a sync that is stuck shows
	// a growing Idle (and usually a LastError).
	Idle time.Duration
	// Rate is messages per second over Elapsed; 0 when not known yet.
	Rate float64
	// MessagesLeft estimates the messages still to read, -1 when unknown.
	// UpperBound says it counts every message of the unfinished folders,
	// of any age, because no finished folder told yet which share of its
	// mail falls in the backfill window.
	MessagesLeft int64
	UpperBound   bool
	// Left is MessagesLeft at Rate; -1 when either is unknown.
	Left time.Duration
	// Fraction done, 0–1: messages seen of seen + left when that is
	// known, else folders done of total.
	Fraction float64
	// Stalled: a running sync without progress for FirstSyncStallAfter.
	Stalled bool
}

// FirstSyncStallAfter is how long a running first sync may go without
// progress before operators are shown it as stalled: a page of mail takes
// seconds, and a retried task (asynq's back-off after a Graph error, a
// throttled mailbox's Retry-After) is back within minutes.
const FirstSyncStallAfter = 15 * time.Minute

// maxRunningFraction keeps a running sync short of 100 % when the estimate
// says nothing is left.
const maxRunningFraction = 0.99

// minEstimateElapsed is the shortest run whose rate is worth a forecast.
const minEstimateElapsed = time.Second

// Estimate computes rate and time left from the recorded numbers at now.
// Graph reports no count of a folder's messages in the backfill window,
// only totalItemCount (all of its mail), so the messages left are
//
//	(ItemsTotal − ItemsDone) × MessagesDone/ItemsDone − (read in the current folder)
//
// — the unfinished folders' mail times the share of the window in the
// finished ones — and, before a folder with mail is finished, the whole
// of the unfinished folders' mail (an upper bound). Both assume the rate
// so far holds.
func (p FirstSync) Estimate(now time.Time) FirstSyncEstimate {
	e := FirstSyncEstimate{Elapsed: p.UpdatedAt.Sub(p.StartedAt), Idle: now.Sub(p.UpdatedAt), MessagesLeft: -1, Left: -1}
	if e.Idle < 0 {
		e.Idle = 0
	}
	e.Stalled = p.FinishedAt == nil && e.Idle >= FirstSyncStallAfter
	if p.FinishedAt != nil {
		e.MessagesLeft, e.Left, e.Fraction = 0, 0, 1
		if e.Elapsed >= minEstimateElapsed {
			e.Rate = float64(p.MessagesSeen) / e.Elapsed.Seconds()
		}
		return e
	}
	if p.FoldersTotal > 0 {
		e.Fraction = float64(p.FoldersDone) / float64(p.FoldersTotal)
	}
	if e.Elapsed >= minEstimateElapsed && p.MessagesSeen > 0 {
		e.Rate = float64(p.MessagesSeen) / e.Elapsed.Seconds()
	}
	current := max(p.MessagesSeen-p.MessagesDone, 0) // read in the unfinished folder
	rest := max(p.ItemsTotal-p.ItemsDone, 0)         // mail of the unfinished folders
	if p.ItemsTotal == 0 && p.FoldersDone < p.FoldersTotal {
		return e // no counts from Graph: nothing to estimate from
	}
	if p.ItemsDone > 0 {
		share := min(float64(p.MessagesDone)/float64(p.ItemsDone), 1)
		e.MessagesLeft = max(int64(float64(rest)*share+0.5)-current, 0)
	} else {
		e.MessagesLeft, e.UpperBound = max(rest-current, 0), true
	}
	if all := p.MessagesSeen + e.MessagesLeft; all > 0 {
		e.Fraction = min(float64(p.MessagesSeen)/float64(all), maxRunningFraction)
	}
	if e.Rate > 0 {
		e.Left = time.Duration(float64(e.MessagesLeft) / e.Rate * float64(time.Second))
	}
	return e
}
