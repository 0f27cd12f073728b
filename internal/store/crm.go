package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dedesales/exchange-connector/internal/address"
	"github.com/dedesales/exchange-connector/internal/crmfile"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/jmoiron/sqlx"
)

// ImportStats counts what an import did, per table.
type ImportStats map[string]*TableStats

// TableStats counts inserted, updated and unchanged rows of one table.
type TableStats struct{ Inserted, Updated, Unchanged int }

func (st ImportStats) table(name string) *TableStats {
	if st[name] == nil {
		st[name] = &TableStats{}
	}
	return st[name]
}

// ImportCRM loads a CRM file in one transaction: new IDs are inserted,
// changed rows updated by ID, equal rows left alone, so importing the same
// file twice changes nothing. Rows absent from the file are kept. Invalid
// input (including references to customers that exist nowhere) imports
// nothing and returns an error wrapping ErrInvalid.
func (s *Store) ImportCRM(ctx context.Context, f *crmfile.File) (ImportStats, error) {
	stats := ImportStats{}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		existing, err := idSet(ctx, tx, "customers")
		if err != nil {
			return err
		}
		if err := f.Validate(func(id int64) bool { return existing[id] }); err != nil {
			return fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		settings := make(map[string]string, len(f.Settings))
		for key, raw := range f.Settings {
			v, err := ParseSetting(key, string(raw))
			if err != nil {
				return fmt.Errorf("settings.%s: %w", key, err)
			}
			settings[key] = v
		}
		steps := []func() error{
			func() error { return s.importEmployees(ctx, tx, f.Employees, stats.table("employees")) },
			func() error { return s.importCustomers(ctx, tx, f.Customers, stats.table("customers")) },
			func() error { return s.importContacts(ctx, tx, f.Contacts, stats.table("contacts")) },
			func() error { return s.importLeads(ctx, tx, "leads", f.Leads, stats.table("leads")) },
			func() error {
				return s.importLeads(ctx, tx, "opportunities", opportunitiesAsLeads(f.Opportunities), stats.table("opportunities"))
			},
			func() error { return s.importSettings(ctx, tx, settings, stats.table("settings")) },
		}
		for _, step := range steps {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: import: %w", err)
	}
	return stats, nil
}

func idSet(ctx context.Context, tx *sqlx.Tx, table string) (map[int64]bool, error) {
	var ids []int64
	if err := tx.SelectContext(ctx, &ids, "SELECT id FROM "+table); err != nil {
		return nil, fmt.Errorf("reading %s: %w", table, err)
	}
	out := make(map[int64]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// upsert inserts or updates one row by id, or leaves it when equal to old.
func (s *Store) upsert(ctx context.Context, tx *sqlx.Tx, st *TableStats, table string, exists, equal bool, cols []string, args []any) error {
	switch {
	case exists && equal:
		st.Unchanged++
		return nil
	case exists:
		set := strings.Join(cols[1:], " = ?, ") + " = ?"
		_, err := tx.ExecContext(ctx, s.q("UPDATE "+table+" SET "+set+" WHERE id = ?"), append(args[1:], args[0])...)
		if err != nil {
			return fmt.Errorf("updating %s %v: %w", table, args[0], err)
		}
		st.Updated++
	default:
		marks := "?" + strings.Repeat(", ?", len(cols)-1)
		_, err := tx.ExecContext(ctx, s.q("INSERT INTO "+table+" ("+strings.Join(cols, ", ")+") VALUES ("+marks+")"), args...)
		if err != nil {
			return fmt.Errorf("inserting %s %v: %w", table, args[0], err)
		}
		st.Inserted++
	}
	return nil
}

func (s *Store) importEmployees(ctx context.Context, tx *sqlx.Tx, rows []model.Employee, st *TableStats) error {
	old := map[int64]model.Employee{}
	var cur []model.Employee
	if err := tx.SelectContext(ctx, &cur, `SELECT id, name, email, exchange_mailbox, active FROM employees`); err != nil {
		return fmt.Errorf("reading employees: %w", err)
	}
	for _, e := range cur {
		old[e.ID] = e
	}
	for _, e := range rows {
		o, exists := old[e.ID]
		equal := o.Name == e.Name && o.Email == e.Email && o.Active == e.Active && ptrEq(o.ExchangeMailbox, e.ExchangeMailbox)
		var mailboxNorm *string
		if e.ExchangeMailbox != nil && *e.ExchangeMailbox != "" {
			n := normAddr(*e.ExchangeMailbox)
			mailboxNorm = &n
		} else {
			e.ExchangeMailbox = nil
		}
		err := s.upsert(ctx, tx, st, "employees", exists, equal,
			[]string{"id", "name", "email", "email_norm", "exchange_mailbox", "mailbox_norm", "active"},
			[]any{e.ID, e.Name, e.Email, normAddr(e.Email), e.ExchangeMailbox, mailboxNorm, e.Active})
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) importCustomers(ctx context.Context, tx *sqlx.Tx, rows []model.Customer, st *TableStats) error {
	old := map[int64]model.Customer{}
	var cur []model.Customer
	if err := tx.SelectContext(ctx, &cur, `SELECT id, number, name, email FROM customers`); err != nil {
		return fmt.Errorf("reading customers: %w", err)
	}
	for _, c := range cur {
		old[c.ID] = c
	}
	domains, err := s.customerDomains(ctx, tx)
	if err != nil {
		return err
	}
	for _, c := range rows {
		o, exists := old[c.ID]
		want := normDomains(c.Domains)
		sameDomains := slices.Equal(domains[c.ID], want)
		equal := o.Number == c.Number && o.Name == c.Name && o.Email == c.Email && sameDomains
		email := normAddr(c.Email)
		err := s.upsert(ctx, tx, st, "customers", exists, equal,
			[]string{"id", "number", "name", "email", "email_norm", "domain_norm"},
			[]any{c.ID, c.Number, c.Name, c.Email, email, address.Domain(email)})
		if err != nil {
			return err
		}
		if !sameDomains {
			if err := s.replaceDomains(ctx, tx, c); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Store) customerDomains(ctx context.Context, tx *sqlx.Tx) (map[int64][]string, error) {
	var rows []struct {
		CustomerID int64  `db:"customer_id"`
		DomainNorm string `db:"domain_norm"`
	}
	if err := tx.SelectContext(ctx, &rows, `SELECT customer_id, domain_norm FROM customer_domains ORDER BY customer_id, domain_norm`); err != nil {
		return nil, fmt.Errorf("reading customer domains: %w", err)
	}
	out := make(map[int64][]string)
	for _, r := range rows {
		out[r.CustomerID] = append(out[r.CustomerID], r.DomainNorm)
	}
	return out, nil
}

func (s *Store) replaceDomains(ctx context.Context, tx *sqlx.Tx, c model.Customer) error {
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM customer_domains WHERE customer_id = ?`), c.ID); err != nil {
		return fmt.Errorf("customer %d domains: %w", c.ID, err)
	}
	seen := map[string]bool{}
	for _, d := range c.Domains {
		n := address.NormalizeDomain(d)
		if seen[n] {
			continue
		}
		seen[n] = true
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO customer_domains (customer_id, domain, domain_norm) VALUES (?, ?, ?)`), c.ID, d, n); err != nil {
			return fmt.Errorf("customer %d domain %q: %w", c.ID, d, err)
		}
	}
	return nil
}

func (s *Store) importContacts(ctx context.Context, tx *sqlx.Tx, rows []model.Contact, st *TableStats) error {
	old := map[int64]model.Contact{}
	var cur []model.Contact
	if err := tx.SelectContext(ctx, &cur, `SELECT id, customer_id, name, email FROM contacts`); err != nil {
		return fmt.Errorf("reading contacts: %w", err)
	}
	for _, c := range cur {
		old[c.ID] = c
	}
	for _, c := range rows {
		o, exists := old[c.ID]
		err := s.upsert(ctx, tx, st, "contacts", exists, o == c,
			[]string{"id", "customer_id", "name", "email", "email_norm"},
			[]any{c.ID, c.CustomerID, c.Name, c.Email, normAddr(c.Email)})
		if err != nil {
			return err
		}
	}
	return nil
}

// importLeads imports leads or opportunities, which share their shape.
func (s *Store) importLeads(ctx context.Context, tx *sqlx.Tx, table string, rows []model.Lead, st *TableStats) error {
	old := map[int64]model.Lead{}
	var cur []model.Lead
	if err := tx.SelectContext(ctx, &cur, "SELECT id, customer_id, title, status, created_at FROM "+table); err != nil {
		return fmt.Errorf("reading %s: %w", table, err)
	}
	for _, l := range cur {
		old[l.ID] = l
	}
	for _, l := range rows {
		o, exists := old[l.ID]
		created := l.CreatedAt.UTC().Truncate(time.Microsecond)
		equal := o.CustomerID == l.CustomerID && o.Title == l.Title && o.Status == l.Status && o.CreatedAt.Equal(created)
		err := s.upsert(ctx, tx, st, table, exists, equal,
			[]string{"id", "customer_id", "title", "status", "created_at"},
			[]any{l.ID, l.CustomerID, l.Title, l.Status, created})
		if err != nil {
			return err
		}
	}
	return nil
}

func opportunitiesAsLeads(os []model.Opportunity) []model.Lead {
	out := make([]model.Lead, len(os))
	for i, o := range os {
		out[i] = model.Lead(o)
	}
	return out
}

func (s *Store) importSettings(ctx context.Context, tx *sqlx.Tx, values map[string]string, st *TableStats) error {
	for key, v := range values {
		var cur string
		err := tx.GetContext(ctx, &cur, s.q(`SELECT value FROM settings WHERE key = ?`), key)
		if err == nil && cur == v {
			st.Unchanged++
			continue
		}
		if err := s.putSetting(ctx, tx, key, v); err != nil {
			return err
		}
		if err == nil {
			st.Updated++
		} else {
			st.Inserted++
		}
	}
	return nil
}

// normAddr returns the canonical form of an address, or "" when it is none.
func normAddr(a string) string {
	n, _ := address.Normalize(a)
	return n
}

func normDomains(ds []string) []string {
	var out []string
	for _, d := range ds {
		if n := address.NormalizeDomain(d); !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

func ptrEq(a, b *string) bool {
	if a == nil || *a == "" {
		return b == nil || *b == ""
	}
	return b != nil && *a == *b
}
