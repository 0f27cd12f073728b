package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
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
// nothing and returns an error wrapping ErrInvalid and, for the records'
// problems, a *crmfile.ValidationError.
//
// Only the rows whose IDs the file names are read, and the writes are
// multi-row upserts, so a one-record file (a PUT of the API) costs a few
// statements whatever the size of the tables.
func (s *Store) ImportCRM(ctx context.Context, f *crmfile.File) (ImportStats, error) {
	stats := ImportStats{}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		existing, err := s.referencedCustomers(ctx, tx, f)
		if err != nil {
			return err
		}
		if err := f.Validate(func(id int64) bool { return existing[id] }); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		settings := make(map[string]string, len(f.Settings))
		for key, raw := range f.Settings {
			v, err := ParseSetting(key, string(raw))
			if err != nil {
				return &SettingError{Key: key, Err: err}
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
				return foreignKeyConflict(err, "customer_id", "a referenced customer was deleted meanwhile")
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: import: %w", err)
	}
	return stats, nil
}

// SettingError is a setting's value that ParseSetting refused.
type SettingError struct {
	Key string
	Err error
}

func (e *SettingError) Error() string { return "settings." + e.Key + ": " + e.Err.Error() }
func (e *SettingError) Unwrap() error { return e.Err }

// Changed reports whether the import inserted or updated anything.
func (st ImportStats) Changed() bool {
	for _, t := range st {
		if t.Inserted+t.Updated > 0 {
			return true
		}
	}
	return false
}

// referencedCustomers returns which of the customers the file's records
// refer to exist in the database.
func (s *Store) referencedCustomers(ctx context.Context, tx *sqlx.Tx, f *crmfile.File) (map[int64]bool, error) {
	var ids []int64
	for _, c := range f.Contacts {
		ids = append(ids, c.CustomerID)
	}
	for _, l := range f.Leads {
		ids = append(ids, l.CustomerID)
	}
	for _, o := range f.Opportunities {
		ids = append(ids, o.CustomerID)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var found []int64
	if err := selectInTx(ctx, s, tx, &found, "SELECT id FROM customers WHERE id IN (?)", ids); err != nil {
		return nil, fmt.Errorf("reading customers: %w", err)
	}
	out := make(map[int64]bool, len(found))
	for _, id := range found {
		out[id] = true
	}
	return out, nil
}

// inChunk bounds the rows of one multi-row statement on SQLite (it allows
// 32,766 parameters).
const inChunk = 1000

// selectInTx runs query, whose "IN (?)" takes ids, appending the rows to
// *dst. The IDs travel as one parameter — a PostgreSQL array, a JSON array
// on SQLite — so that 100,000 of them are one statement, not 100.
func selectInTx[T any](ctx context.Context, s *Store, tx *sqlx.Tx, dst *[]T, query string, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	var b strings.Builder
	list := "IN (SELECT value FROM json_each(?))"
	b.WriteByte('[')
	if s.dialect == Postgres {
		// = ANY(array) is an index look-up per ID; IN (SELECT unnest(…))
		// is planned far worse (16× slower for 100,000 IDs).
		list = "= ANY(CAST(? AS bigint[]))"
		b.Reset()
		b.WriteByte('{')
	}
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	if s.dialect == Postgres {
		b.WriteByte('}')
	} else {
		b.WriteByte(']')
	}
	q := strings.Replace(query, "IN (?)", list, 1)
	if err := tx.SelectContext(ctx, dst, s.q(q), b.String()); err != nil {
		return err
	}
	return nil
}

// upsertRows writes rows (values in the order of cols, id first) with
// multi-row INSERT … ON CONFLICT (id) DO UPDATE statements.
func (s *Store) upsertRows(ctx context.Context, tx *sqlx.Tx, table string, cols []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	set := make([]string, 0, len(cols)-1)
	for _, c := range cols[1:] {
		set = append(set, c+" = excluded."+c)
	}
	if s.dialect == Postgres {
		return s.upsertUnnest(ctx, tx, table, cols, set, rows)
	}
	one := "(?" + strings.Repeat(", ?", len(cols)-1) + ")"
	per := max(1, min(inChunk, 30000/len(cols)))
	for len(rows) > 0 {
		n := min(len(rows), per)
		var b strings.Builder
		b.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
		args := make([]any, 0, n*len(cols))
		for i, r := range rows[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(one)
			args = append(args, r...)
		}
		b.WriteString(" ON CONFLICT (id) DO UPDATE SET " + strings.Join(set, ", "))
		if _, err := tx.ExecContext(ctx, s.q(b.String()), args...); err != nil {
			return fmt.Errorf("writing %s %v…: %w", table, rows[0][0], err)
		}
		rows = rows[n:]
	}
	return nil
}

// upsertUnnest writes rows on PostgreSQL as one statement whose columns are
// arrays: INSERT … SELECT * FROM unnest($1::bigint[], $2::text[], …).
func (s *Store) upsertUnnest(ctx context.Context, tx *sqlx.Tx, table string, cols, set []string, rows [][]any) error {
	args := make([]any, len(cols))
	casts := make([]string, len(cols))
	for j := range cols {
		switch rows[0][j].(type) {
		case int64:
			args[j], casts[j] = column[int64](rows, j), "bigint[]"
		case string:
			args[j], casts[j] = column[string](rows, j), "text[]"
		case *string:
			args[j], casts[j] = column[*string](rows, j), "text[]"
		case bool:
			args[j], casts[j] = column[bool](rows, j), "boolean[]"
		case time.Time:
			args[j], casts[j] = column[time.Time](rows, j), "timestamptz[]"
		default:
			return fmt.Errorf("writing %s: no array type for %T", table, rows[0][j])
		}
		casts[j] = "CAST(? AS " + casts[j] + ")"
	}
	q := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") SELECT * FROM unnest(" + strings.Join(casts, ", ") +
		") ON CONFLICT (id) DO UPDATE SET " + strings.Join(set, ", ")
	if _, err := tx.ExecContext(ctx, s.q(q), args...); err != nil {
		return fmt.Errorf("writing %d rows of %s: %w", len(rows), table, err)
	}
	return nil
}

// column collects column j of rows, whose values are all of type T.
func column[T any](rows [][]any, j int) []T {
	out := make([]T, len(rows))
	for i, r := range rows {
		out[i] = r[j].(T)
	}
	return out
}

// count tallies one row: unchanged rows are left out of the write.
func count(st *TableStats, exists, equal bool) (write bool) {
	switch {
	case exists && equal:
		st.Unchanged++
		return false
	case exists:
		st.Updated++
	default:
		st.Inserted++
	}
	return true
}

func ids[T any](rows []T, id func(T) int64) []int64 {
	out := make([]int64, len(rows))
	for i, r := range rows {
		out[i] = id(r)
	}
	return out
}

func (s *Store) importEmployees(ctx context.Context, tx *sqlx.Tx, rows []model.Employee, st *TableStats) error {
	var cur []model.Employee
	err := selectInTx(ctx, s, tx, &cur, `SELECT id, name, email, exchange_mailbox, active FROM employees WHERE id IN (?)`,
		ids(rows, func(e model.Employee) int64 { return e.ID }))
	if err != nil {
		return fmt.Errorf("reading employees: %w", err)
	}
	old := make(map[int64]model.Employee, len(cur))
	for _, e := range cur {
		old[e.ID] = e
	}
	var write [][]any
	for _, e := range rows {
		o, exists := old[e.ID]
		equal := o.Name == e.Name && o.Email == e.Email && o.Active == e.Active && ptrEq(o.ExchangeMailbox, e.ExchangeMailbox)
		if !count(st, exists, equal) {
			continue
		}
		var mailboxNorm *string
		if e.ExchangeMailbox != nil && *e.ExchangeMailbox != "" {
			n := normAddr(*e.ExchangeMailbox)
			mailboxNorm = &n
		} else {
			e.ExchangeMailbox = nil
		}
		write = append(write, []any{e.ID, e.Name, e.Email, normAddr(e.Email), e.ExchangeMailbox, mailboxNorm, e.Active})
	}
	return s.upsertRows(ctx, tx, "employees",
		[]string{"id", "name", "email", "email_norm", "exchange_mailbox", "mailbox_norm", "active"}, write)
}

func (s *Store) importCustomers(ctx context.Context, tx *sqlx.Tx, rows []model.Customer, st *TableStats) error {
	keys := ids(rows, func(c model.Customer) int64 { return c.ID })
	var cur []model.Customer
	if err := selectInTx(ctx, s, tx, &cur, `SELECT id, number, name, email FROM customers WHERE id IN (?)`, keys); err != nil {
		return fmt.Errorf("reading customers: %w", err)
	}
	old := make(map[int64]model.Customer, len(cur))
	for _, c := range cur {
		old[c.ID] = c
	}
	var doms []struct {
		CustomerID int64  `db:"customer_id"`
		DomainNorm string `db:"domain_norm"`
	}
	if err := selectInTx(ctx, s, tx, &doms, `SELECT customer_id, domain_norm FROM customer_domains WHERE customer_id IN (?)`, keys); err != nil {
		return fmt.Errorf("reading customer domains: %w", err)
	}
	domains := make(map[int64][]string)
	for _, d := range doms {
		domains[d.CustomerID] = append(domains[d.CustomerID], d.DomainNorm)
	}
	var write [][]any
	var redo []model.Customer
	for _, c := range rows {
		o, exists := old[c.ID]
		have := domains[c.ID]
		slices.Sort(have)
		sameDomains := slices.Equal(have, normDomains(c.Domains))
		equal := o.Number == c.Number && o.Name == c.Name && o.Email == c.Email
		if !count(st, exists, equal && sameDomains) {
			continue
		}
		if !equal || !exists {
			email := normAddr(c.Email)
			write = append(write, []any{c.ID, c.Number, c.Name, c.Email, email, address.Domain(email)})
		}
		if !sameDomains {
			redo = append(redo, c)
		}
	}
	if err := s.upsertRows(ctx, tx, "customers", []string{"id", "number", "name", "email", "email_norm", "domain_norm"}, write); err != nil {
		return err
	}
	return s.replaceDomains(ctx, tx, redo)
}

// replaceDomains sets the further domains of each customer in cs.
func (s *Store) replaceDomains(ctx context.Context, tx *sqlx.Tx, cs []model.Customer) error {
	if len(cs) == 0 {
		return nil
	}
	keys := ids(cs, func(c model.Customer) int64 { return c.ID })
	for len(keys) > 0 {
		n := min(len(keys), inChunk)
		q, args, err := sqlx.In(`DELETE FROM customer_domains WHERE customer_id IN (?)`, keys[:n])
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
			return fmt.Errorf("customer domains: %w", err)
		}
		keys = keys[n:]
	}
	var rows [][]any
	for _, c := range cs {
		seen := map[string]bool{}
		for _, d := range c.Domains {
			n := address.NormalizeDomain(d)
			if seen[n] {
				continue
			}
			seen[n] = true
			rows = append(rows, []any{c.ID, d, n})
		}
	}
	for len(rows) > 0 {
		n := min(len(rows), inChunk)
		var b strings.Builder
		b.WriteString("INSERT INTO customer_domains (customer_id, domain, domain_norm) VALUES ")
		args := make([]any, 0, 3*n)
		for i, r := range rows[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?)")
			args = append(args, r...)
		}
		if _, err := tx.ExecContext(ctx, s.q(b.String()), args...); err != nil {
			return fmt.Errorf("customer %v domains: %w", rows[0][0], err)
		}
		rows = rows[n:]
	}
	return nil
}

func (s *Store) importContacts(ctx context.Context, tx *sqlx.Tx, rows []model.Contact, st *TableStats) error {
	var cur []model.Contact
	err := selectInTx(ctx, s, tx, &cur, `SELECT id, customer_id, name, email FROM contacts WHERE id IN (?)`,
		ids(rows, func(c model.Contact) int64 { return c.ID }))
	if err != nil {
		return fmt.Errorf("reading contacts: %w", err)
	}
	old := make(map[int64]model.Contact, len(cur))
	for _, c := range cur {
		old[c.ID] = c
	}
	var write [][]any
	for _, c := range rows {
		o, exists := old[c.ID]
		if count(st, exists, o == c) {
			write = append(write, []any{c.ID, c.CustomerID, c.Name, c.Email, normAddr(c.Email)})
		}
	}
	return s.upsertRows(ctx, tx, "contacts", []string{"id", "customer_id", "name", "email", "email_norm"}, write)
}

// importLeads imports leads or opportunities, which share their shape.
func (s *Store) importLeads(ctx context.Context, tx *sqlx.Tx, table string, rows []model.Lead, st *TableStats) error {
	var cur []model.Lead
	err := selectInTx(ctx, s, tx, &cur, "SELECT id, customer_id, title, status, created_at FROM "+table+" WHERE id IN (?)",
		ids(rows, func(l model.Lead) int64 { return l.ID }))
	if err != nil {
		return fmt.Errorf("reading %s: %w", table, err)
	}
	old := make(map[int64]model.Lead, len(cur))
	for _, l := range cur {
		old[l.ID] = l
	}
	var write [][]any
	for _, l := range rows {
		o, exists := old[l.ID]
		created := l.CreatedAt.UTC().Truncate(time.Microsecond)
		equal := o.CustomerID == l.CustomerID && o.Title == l.Title && o.Status == l.Status && o.CreatedAt.Equal(created)
		if count(st, exists, equal) {
			write = append(write, []any{l.ID, l.CustomerID, l.Title, l.Status, created})
		}
	}
	return s.upsertRows(ctx, tx, table, []string{"id", "customer_id", "title", "status", "created_at"}, write)
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
