package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/dedesales/exchange-connector/internal/address"
	"github.com/jmoiron/sqlx"
)

// Mailbox states as shown to operators.
const (
	MailboxEnabled      = "enabled"
	MailboxDisabled     = "disabled"      // paused by an operator
	MailboxAccessDenied = "access_denied" // outside the app's scope in Entra/Exchange
	MailboxNotFound     = "not_found"     // Graph does not know the user (404 ErrorInvalidUser)
	MailboxInactive     = "inactive"      // the employee is inactive in the CRM
)

// Mailbox is an employee's Exchange mailbox and the connector's view of it.
type Mailbox struct {
	EmployeeID     int64      `db:"employee_id" json:"employee_id"`
	Name           string     `db:"name" json:"name"`
	Email          string     `db:"email" json:"email"`
	Address        string     `db:"address" json:"address"`
	Active         bool       `db:"active" json:"active"`
	Disabled       bool       `db:"disabled" json:"disabled"`
	AccessDeniedAt *time.Time `db:"access_denied_at" json:"access_denied_at,omitempty"`
	LastError      string     `db:"last_error" json:"last_error,omitempty"`
	LastSyncAt     *time.Time `db:"last_sync_at" json:"last_sync_at,omitempty"`
	// AccessCheckAt is when an access-denied mailbox is tried again;
	// AccessChecks counts the tries so far (see AccessRecheckDelay).
	// The same schedule re-checks a not-found mailbox.
	AccessCheckAt *time.Time `db:"access_check_at" json:"access_check_at,omitempty"`
	AccessChecks  int        `db:"access_checks" json:"access_checks,omitempty"`
	// NotFoundAt is when Graph first answered that the user does not exist
	// (404 ErrorInvalidUser); LastError then holds Graph's words.
	NotFoundAt *time.Time `db:"not_found_at" json:"not_found_at,omitempty"`
	// GraphUser is the user's ID the connector resolved for Address when
	// Address is a mail address that is not the UPN (SetMailboxGraphUser);
	// GraphUserFor is the address it was resolved for.
	GraphUser    string `db:"graph_user" json:"graph_user,omitempty"`
	GraphUserFor string `db:"graph_user_for" json:"-"`
}

// GraphRef is how Graph requests name the mailbox's user: the resolved
// user ID when there is one for the current address, else the address
// (a UPN, or a mail address that Graph may not resolve).
func (m Mailbox) GraphRef() string {
	if m.GraphUser != "" && m.GraphUserFor == m.Address {
		return m.GraphUser
	}
	return m.Address
}

// AccessCheckDue reports whether an access-denied or not-found mailbox is
// due for its re-check at now (rows marked before re-checks existed are due
// at once).
func (m Mailbox) AccessCheckDue(now time.Time) bool {
	st := m.State()
	return (st == MailboxAccessDenied || st == MailboxNotFound) && (m.AccessCheckAt == nil || !now.Before(*m.AccessCheckAt))
}

// Re-check back-off of an access-denied mailbox: Microsoft says access
// policy changes "can take longer than 1 hour to take effect" and RBAC for
// Applications caches permissions for 30 min to 2 h, so an early denial
// after an admin's change is normal. A user that does not exist yet (an
// employee entered in the CRM before the account is in Entra and Exchange,
// whose mailbox provisioning takes its time) is re-checked on the same
// schedule.
const (
	AccessRecheckFirst = 15 * time.Minute
	AccessRecheckMax   = 2 * time.Hour
)

// AccessRecheckDelay is the wait before re-check n+1 of a denied mailbox:
// 15 min, 30 min, 1 h, then every 2 h.
func AccessRecheckDelay(n int) time.Duration {
	return min(AccessRecheckFirst<<min(max(n, 0), 4), AccessRecheckMax)
}

// State summarises the mailbox for operators.
func (m Mailbox) State() string {
	switch {
	case !m.Active:
		return MailboxInactive
	case m.Disabled:
		return MailboxDisabled
	case m.AccessDeniedAt != nil:
		return MailboxAccessDenied
	case m.NotFoundAt != nil:
		return MailboxNotFound
	default:
		return MailboxEnabled
	}
}

// Syncable reports whether the connector should subscribe to and sync it.
func (m Mailbox) Syncable() bool { return m.State() == MailboxEnabled }

const mailboxSelect = `
	SELECT e.id AS employee_id, e.name, e.email, e.mailbox_norm AS address, e.active,
	       COALESCE(ms.disabled, FALSE) AS disabled, ms.access_denied_at,
	       COALESCE(ms.last_error, '') AS last_error, ms.last_sync_at,
	       ms.access_check_at, COALESCE(ms.access_checks, 0) AS access_checks, ms.not_found_at,
	       COALESCE(ms.graph_user, '') AS graph_user, COALESCE(ms.graph_user_for, '') AS graph_user_for
	FROM employees e LEFT JOIN mailbox_states ms ON ms.employee_id = e.id
	WHERE e.mailbox_norm IS NOT NULL AND e.mailbox_norm <> ''`

// Mailboxes lists every employee with an Exchange mailbox, by address.
func (s *Store) Mailboxes(ctx context.Context) ([]Mailbox, error) {
	var out []Mailbox
	if err := s.db.SelectContext(ctx, &out, mailboxSelect+` ORDER BY e.mailbox_norm`); err != nil {
		return nil, fmt.Errorf("store: mailboxes: %w", err)
	}
	return out, nil
}

// MailboxByEmployee returns the mailbox of an employee.
func (s *Store) MailboxByEmployee(ctx context.Context, employeeID int64) (Mailbox, error) {
	var m Mailbox
	err := s.db.GetContext(ctx, &m, s.q(mailboxSelect+` AND e.id = ?`), employeeID)
	if errors.Is(err, sql.ErrNoRows) {
		return Mailbox{}, fmt.Errorf("store: mailbox of employee %d: %w", employeeID, ErrNotFound)
	}
	if err != nil {
		return Mailbox{}, fmt.Errorf("store: mailbox of employee %d: %w", employeeID, err)
	}
	return m, nil
}

// FindMailbox finds a mailbox by its address, the employee's e-mail or the
// employee ID written as a number.
func (s *Store) FindMailbox(ctx context.Context, ref string) (Mailbox, error) {
	var m Mailbox
	norm, _ := address.Normalize(ref)
	err := s.db.GetContext(ctx, &m, s.q(mailboxSelect+` AND (e.mailbox_norm = ? OR e.email_norm = ? OR CAST(e.id AS TEXT) = ?)`), norm, norm, ref)
	if errors.Is(err, sql.ErrNoRows) {
		return Mailbox{}, fmt.Errorf("store: no employee with an Exchange mailbox matches %q: %w", ref, ErrNotFound)
	}
	if err != nil {
		return Mailbox{}, fmt.Errorf("store: mailbox %q: %w", ref, err)
	}
	return m, nil
}

// SetMailboxDisabled pauses or resumes syncing a mailbox. Enabling also
// clears an access-denied or not-found mark, so that the next run tries
// again.
func (s *Store) SetMailboxDisabled(ctx context.Context, employeeID int64, disabled bool) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		q := `INSERT INTO mailbox_states (employee_id, disabled, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (employee_id) DO UPDATE SET disabled = excluded.disabled, updated_at = excluded.updated_at`
		if !disabled {
			q += `, access_denied_at = NULL, not_found_at = NULL, access_check_at = NULL, access_checks = 0, last_error = ''`
		}
		if _, err := tx.ExecContext(ctx, s.q(q), employeeID, disabled, s.now()); err != nil {
			return fmt.Errorf("store: mailbox of employee %d: %w", employeeID, err)
		}
		return nil
	})
}

// MarkMailboxAccessDenied records that Graph refused access to the mailbox
// (Graph's words in reason). It is not synced until a re-check succeeds
// (ClearMailboxAccessDenied) or an operator enables it again; each call
// schedules the next re-check further out (AccessRecheckDelay).
func (s *Store) MarkMailboxAccessDenied(ctx context.Context, employeeID int64, reason string) error {
	return s.markMailbox(ctx, employeeID, "access_denied_at", "not_found_at", reason)
}

// MarkMailboxNotFound records that Graph does not know the mailbox's user
// (404 ErrorInvalidUser; Graph's words in reason): a mistyped address, a
// user not created yet, or one deleted. It is not synced until a re-check
// finds the user (ClearMailboxNotFound) or an operator enables it again;
// each call schedules the next re-check further out (AccessRecheckDelay).
// An access-denied mark gives way to it.
func (s *Store) MarkMailboxNotFound(ctx context.Context, employeeID int64, reason string) error {
	return s.markMailbox(ctx, employeeID, "not_found_at", "access_denied_at", reason)
}

// markMailbox sets the mark column (keeping its first time), clears the
// other one, and schedules the next re-check; the back-off counts on only
// while the same mark stays.
func (s *Store) markMailbox(ctx context.Context, employeeID int64, mark, other, reason string) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		var checks sql.NullInt64
		err := tx.GetContext(ctx, &checks, s.q(`SELECT access_checks FROM mailbox_states WHERE employee_id = ? AND `+mark+` IS NOT NULL`), employeeID)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: mark mailbox of employee %d: %w", employeeID, err)
		}
		n := int(checks.Int64) // 0 when not marked so before
		now := s.now()
		_, err = tx.ExecContext(ctx, s.q(`
			INSERT INTO mailbox_states (employee_id, `+mark+`, last_error, access_check_at, access_checks, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (employee_id) DO UPDATE SET
				`+mark+` = COALESCE(mailbox_states.`+mark+`, excluded.`+mark+`), `+other+` = NULL,
				last_error = excluded.last_error, access_check_at = excluded.access_check_at,
				access_checks = excluded.access_checks, updated_at = excluded.updated_at`),
			employeeID, now, reason, now.Add(AccessRecheckDelay(n)), n+1, now)
		if err != nil {
			return fmt.Errorf("store: mark mailbox of employee %d: %w", employeeID, err)
		}
		return nil
	})
}

// ClearMailboxAccessDenied resumes a mailbox whose re-check found access:
// the mark (access denied or not found), the back-off and the error go.
func (s *Store) ClearMailboxAccessDenied(ctx context.Context, employeeID int64) error {
	_, err := s.db.ExecContext(ctx, s.q(`
		UPDATE mailbox_states SET access_denied_at = NULL, not_found_at = NULL, access_check_at = NULL, access_checks = 0,
			last_error = '', updated_at = ? WHERE employee_id = ?`), s.now(), employeeID)
	if err != nil {
		return fmt.Errorf("store: clear access denied of employee %d: %w", employeeID, err)
	}
	return nil
}

// ClearMailboxNotFound resumes a mailbox whose re-check found the user;
// it clears the same as ClearMailboxAccessDenied.
func (s *Store) ClearMailboxNotFound(ctx context.Context, employeeID int64) error {
	return s.ClearMailboxAccessDenied(ctx, employeeID)
}

// SetMailboxGraphUser records the user ID that the mail address address
// (the mailbox's exchange_mailbox, normalised) resolved to; Graph requests
// use it while the address stays the same (Mailbox.GraphRef). An empty
// userID forgets it.
func (s *Store) SetMailboxGraphUser(ctx context.Context, employeeID int64, address, userID string) error {
	if userID == "" {
		address = ""
	}
	_, err := s.db.ExecContext(ctx, s.q(`
		INSERT INTO mailbox_states (employee_id, graph_user, graph_user_for, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (employee_id) DO UPDATE SET graph_user = excluded.graph_user,
			graph_user_for = excluded.graph_user_for, updated_at = excluded.updated_at`),
		employeeID, userID, address, s.now())
	if err != nil {
		return fmt.Errorf("store: graph user of employee %d: %w", employeeID, err)
	}
	return nil
}

// SetMailboxError shows an error on the mailbox's status (e.g. the
// document store refusing access while its attachments are filed).
func (s *Store) SetMailboxError(ctx context.Context, employeeID int64, msg string) error {
	_, err := s.db.ExecContext(ctx, s.q(`
		INSERT INTO mailbox_states (employee_id, last_error, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (employee_id) DO UPDATE SET last_error = excluded.last_error, updated_at = excluded.updated_at`),
		employeeID, msg, s.now())
	if err != nil {
		return fmt.Errorf("store: mailbox error of employee %d: %w", employeeID, err)
	}
	return nil
}
