package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/jmoiron/sqlx"
)

// Lookup answers the matcher's directory questions for a prepared message
// (match.Prepare): contacts and customers by normalised address, customers
// by domain (their e-mail's or an extra domain) in one query, then the open
// leads and opportunities of every customer found in a second. Every branch
// is an indexed equality look-up. (One query with a CTE was tried: the
// planner then hashed the whole leads table for every message, 4× slower.)
func (s *Store) Lookup(ctx context.Context, p match.Prepared) (match.Lookups, error) {
	l := match.Lookups{
		ContactsByAddress:  map[string][]model.Contact{},
		CustomersByAddress: map[string][]model.Customer{},
		CustomersByDomain:  map[string][]model.Customer{},
		Leads:              map[int64][]model.Lead{},
		Opportunities:      map[int64][]model.Opportunity{},
	}
	if len(p.Addresses) == 0 && len(p.Domains) == 0 {
		return l, nil
	}
	customers := map[int64]bool{}
	err := s.lookupRows(ctx, &l, customers, func() (string, []any, error) { return hitsQuery(p.Addresses, p.Domains) })
	if err != nil || len(customers) == 0 {
		return l, err
	}
	ids := make([]int64, 0, len(customers))
	for id := range customers {
		ids = append(ids, id)
	}
	err = s.lookupRows(ctx, &l, nil, func() (string, []any, error) { return sqlx.In(openDealsQuery, ids, ids) })
	return l, err
}

// lookupRows runs one look-up query and adds its rows to l, noting the
// customers it found in customers (when not nil).
func (s *Store) lookupRows(ctx context.Context, l *match.Lookups, customers map[int64]bool, build func() (string, []any, error)) error {
	query, args, err := build()
	if err != nil {
		return fmt.Errorf("store: lookup: %w", err)
	}
	rows, err := s.db.QueryxContext(ctx, s.q(query), args...)
	if err != nil {
		return fmt.Errorf("store: lookup: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r lookupRow
		if err := rows.StructScan(&r); err != nil {
			return fmt.Errorf("store: lookup: %w", err)
		}
		if err := r.addTo(l); err != nil {
			return fmt.Errorf("store: lookup: %w", err)
		}
		if customers != nil {
			customers[r.CustomerID] = true
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: lookup: %w", err)
	}
	return nil
}

// hitsQuery builds the UNION ALL of the contact and customer branches that
// have keys.
func hitsQuery(addresses, domains []string) (string, []any, error) {
	var branches []string
	var args []any
	if len(addresses) > 0 {
		branches = append(branches,
			`SELECT 'contact' AS kind, email_norm AS k, id, customer_id, name, email FROM contacts WHERE email_norm IN (?)`,
			`SELECT 'customer_address', email_norm, id, id, name, email FROM customers WHERE email_norm IN (?)`)
		args = append(args, addresses, addresses)
	}
	if len(domains) > 0 {
		branches = append(branches,
			`SELECT 'customer_domain', domain_norm, id, id, name, email FROM customers WHERE domain_norm IN (?)`,
			`SELECT 'customer_domain', cd.domain_norm, c.id, c.id, c.name, c.email
			 FROM customer_domains cd JOIN customers c ON c.id = cd.customer_id WHERE cd.domain_norm IN (?)`)
		args = append(args, domains, domains)
	}
	return sqlx.In(strings.Join(branches, "\nUNION ALL\n"), args...)
}

// openDealsQuery finds the open leads and opportunities of customers.
const openDealsQuery = `
	SELECT 'lead' AS kind, '' AS k, id, customer_id, title AS name, '' AS email, status, created_at FROM leads
	WHERE customer_id IN (?) AND status IN ('in_progress', 'deferred')
	UNION ALL
	SELECT 'opportunity', '', id, customer_id, title, '', status, created_at FROM opportunities
	WHERE customer_id IN (?) AND status = 'in_progress'`

type lookupRow struct {
	Kind       string  `db:"kind"`
	Key        string  `db:"k"`
	ID         int64   `db:"id"`
	CustomerID int64   `db:"customer_id"`
	Name       string  `db:"name"`
	Email      string  `db:"email"`
	Status     string  `db:"status"`
	CreatedAt  anyTime `db:"created_at"`
}

func (r *lookupRow) addTo(l *match.Lookups) error {
	switch r.Kind {
	case "contact":
		l.ContactsByAddress[r.Key] = append(l.ContactsByAddress[r.Key], model.Contact{ID: r.ID, CustomerID: r.CustomerID, Name: r.Name, Email: r.Email})
	case "customer_address":
		l.CustomersByAddress[r.Key] = append(l.CustomersByAddress[r.Key], model.Customer{ID: r.ID, Name: r.Name, Email: r.Email})
	case "customer_domain":
		l.CustomersByDomain[r.Key] = append(l.CustomersByDomain[r.Key], model.Customer{ID: r.ID, Name: r.Name, Email: r.Email})
	case "lead":
		l.Leads[r.CustomerID] = append(l.Leads[r.CustomerID], model.Lead{ID: r.ID, CustomerID: r.CustomerID, Title: r.Name, Status: r.Status, CreatedAt: r.CreatedAt.Time})
	case "opportunity":
		l.Opportunities[r.CustomerID] = append(l.Opportunities[r.CustomerID], model.Opportunity{ID: r.ID, CustomerID: r.CustomerID, Title: r.Name, Status: r.Status, CreatedAt: r.CreatedAt.Time})
	default:
		return fmt.Errorf("unexpected row kind %q", r.Kind)
	}
	return nil
}

// anyTime scans a timestamp that SQLite returns as text when it comes out
// of a UNION (the column's declared type is lost there).
type anyTime struct{ time.Time }

func (t *anyTime) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		t.Time = time.Time{}
	case time.Time:
		t.Time = x
	case string:
		return t.parse(x)
	case []byte:
		return t.parse(string(x))
	default:
		return fmt.Errorf("cannot scan %T into a time", v)
	}
	return nil
}

func (t *anyTime) parse(s string) error {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05.999999999 -0700 MST"} {
		if v, err := time.Parse(layout, s); err == nil {
			t.Time = v.UTC()
			return nil
		}
	}
	return fmt.Errorf("cannot parse time %q", s)
}

// EmployeeAddresses returns every employee's normalised e-mail and mailbox
// (never candidates for matching).
func (s *Store) EmployeeAddresses(ctx context.Context) ([]string, error) {
	var out []string
	err := s.db.SelectContext(ctx, &out, `
		SELECT email_norm FROM employees WHERE email_norm <> ''
		UNION SELECT mailbox_norm FROM employees WHERE mailbox_norm IS NOT NULL AND mailbox_norm <> ''`)
	if err != nil {
		return nil, fmt.Errorf("store: employee addresses: %w", err)
	}
	return out, nil
}
