package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/dedesales/exchange-connector/internal/crmfile"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jmoiron/sqlx"
)

// ErrConflict: the change contradicts what is stored (a record that is
// still referenced).
var ErrConflict = errors.New("conflict")

// ConflictError says which field of a write conflicts with the stored data.
type ConflictError struct {
	Field  string
	Detail string
}

func (e *ConflictError) Error() string { return e.Field + ": " + e.Detail }

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// foreignKeyConflict turns a foreign-key violation — a record that a
// concurrent transaction deleted or started to reference between the
// checks and the write — into a *ConflictError naming field.
func foreignKeyConflict(err error, field, detail string) error {
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == "23503" ||
		err != nil && strings.Contains(err.Error(), "FOREIGN KEY constraint failed") {
		return &ConflictError{Field: field, Detail: detail}
	}
	return err
}

// CRM record sections, as in the import file.
var crmSections = map[string]string{
	"employees": "employee", "customers": "customer", "contacts": "contact",
	"leads": "lead", "opportunities": "opportunity",
}

// activityLinks are the sections whose records activities point to and
// lose on a delete (the column of activities that is cleared).
var activityLinks = map[string]string{"contacts": "contact_id", "leads": "lead_id", "opportunities": "opportunity_id"}

// DeleteCRMRecord deletes record id of section (employees, customers,
// contacts, leads, opportunities). A customer with activities, contacts,
// leads, opportunities or documents, and an employee whose mailbox has been
// synced, are refused with a *ConflictError; activities are CRM history.
// Deleting a contact, lead or opportunity clears the link of its activities
// and records each as changed in the change log, in the same transaction.
// It returns how many activities were unlinked; ErrNotFound when there is
// no such record.
func (s *Store) DeleteCRMRecord(ctx context.Context, section string, id int64) (unlinked int, err error) {
	kind, ok := crmSections[section]
	if !ok {
		return 0, fmt.Errorf("%w: unknown section %q", ErrInvalid, section)
	}
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		var n int
		if err := tx.GetContext(ctx, &n, s.q("SELECT COUNT(*) FROM "+section+" WHERE id = ?"), id); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("no %s with id %d: %w", kind, id, ErrNotFound)
		}
		var refs []struct{ table, col, why string }
		switch section {
		case "employees":
			for _, t := range []string{"activity_mailboxes", "decisions", "mailbox_states", "subscriptions", "folders"} {
				refs = append(refs, struct{ table, col, why string }{t, "employee_id",
					"the employee's mailbox has been synced (" + t + "); set active to false instead"})
			}
		case "customers":
			refs = []struct{ table, col, why string }{
				{"activities", "customer_id", "the customer has activities, which are CRM history"},
				{"documents", "customer_id", "the customer has filed documents"},
				{"contacts", "customer_id", "the customer still has contacts; delete them first"},
				{"leads", "customer_id", "the customer still has leads; delete them first"},
				{"opportunities", "customer_id", "the customer still has opportunities; delete them first"},
			}
		}
		for _, r := range refs {
			var c int
			if err := tx.GetContext(ctx, &c, s.q("SELECT COUNT(*) FROM "+r.table+" WHERE "+r.col+" = ?"), id); err != nil {
				return err
			}
			if c > 0 {
				return &ConflictError{Field: "id", Detail: fmt.Sprintf("%s %d cannot be deleted: %s (%d)", kind, id, r.why, c)}
			}
		}
		if col, ok := activityLinks[section]; ok {
			var acts []int64
			if err := tx.SelectContext(ctx, &acts, s.q("UPDATE activities SET "+col+" = NULL WHERE "+col+" = ? RETURNING id"), id); err != nil {
				return fmt.Errorf("unlinking activities: %w", err)
			}
			for _, a := range acts {
				if err := s.appendChange(ctx, tx, ChangeActivityUpdated, a, nil); err != nil {
					return err
				}
			}
			unlinked = len(acts)
		}
		if _, err := tx.ExecContext(ctx, s.q("DELETE FROM "+section+" WHERE id = ?"), id); err != nil {
			return foreignKeyConflict(err, "id", fmt.Sprintf("%s %d cannot be deleted: it is referenced", kind, id))
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: delete %s %d: %w", kind, id, err)
	}
	return unlinked, nil
}

// KnownSetting reports whether key is a setting the connector knows.
func KnownSetting(key string) bool {
	_, ok := settingDefs[key]
	return ok
}

// ExportCRM returns the master data as an import file, ordered by ID:
// importing it into an empty database gives the same master data.
func (s *Store) ExportCRM(ctx context.Context) (*crmfile.File, error) {
	f := &crmfile.File{Settings: map[string]json.RawMessage{}}
	for _, q := range []struct {
		dst   any
		query string
	}{
		{&f.Employees, `SELECT id, name, email, exchange_mailbox, active FROM employees ORDER BY id`},
		{&f.Customers, `SELECT id, number, name, email FROM customers ORDER BY id`},
		{&f.Contacts, `SELECT id, customer_id, name, email FROM contacts ORDER BY id`},
		{&f.Leads, `SELECT id, customer_id, title, status, created_at FROM leads ORDER BY id`},
		{&f.Opportunities, `SELECT id, customer_id, title, status, created_at FROM opportunities ORDER BY id`},
	} {
		if err := s.db.SelectContext(ctx, q.dst, q.query); err != nil {
			return nil, fmt.Errorf("store: export: %w", err)
		}
	}
	var doms []struct {
		CustomerID int64  `db:"customer_id"`
		Domain     string `db:"domain"`
	}
	if err := s.db.SelectContext(ctx, &doms, `SELECT customer_id, domain FROM customer_domains ORDER BY customer_id, domain_norm`); err != nil {
		return nil, fmt.Errorf("store: export: %w", err)
	}
	byID := make(map[int64]int, len(f.Customers))
	for i, c := range f.Customers {
		byID[c.ID] = i
	}
	for _, d := range doms {
		c := &f.Customers[byID[d.CustomerID]]
		c.Domains = append(c.Domains, d.Domain)
	}
	for i := range f.Leads {
		f.Leads[i].CreatedAt = f.Leads[i].CreatedAt.UTC()
	}
	for i := range f.Opportunities {
		f.Opportunities[i].CreatedAt = f.Opportunities[i].CreatedAt.UTC()
	}
	all, err := s.AllSettings(ctx)
	if err != nil {
		return nil, err
	}
	for k, v := range all {
		f.Settings[k] = json.RawMessage(v)
	}
	return f, nil
}
