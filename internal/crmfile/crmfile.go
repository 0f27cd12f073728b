// Package crmfile reads the CRM export file that `connector import --crm`
// loads and `connector match --crm` matches against (DESIGN §4): employees,
// customers, contacts, leads, opportunities and settings as JSON.
//
// Parse is strict: unknown fields, duplicate IDs, dangling references,
// unknown statuses and malformed addresses are errors that name the record
// and the field, so an operator can fix the file.
package crmfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/dedesales/exchange-connector/internal/address"
	"github.com/dedesales/exchange-connector/internal/model"
)

// File is the CRM export.
type File struct {
	Employees     []model.Employee           `json:"employees"`
	Customers     []model.Customer           `json:"customers"`
	Contacts      []model.Contact            `json:"contacts"`
	Leads         []model.Lead               `json:"leads"`
	Opportunities []model.Opportunity        `json:"opportunities"`
	Settings      map[string]json.RawMessage `json:"settings"`
}

// ReadFile parses and validates the file at path; references must resolve
// within the file.
func ReadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("crm file: %w", err)
	}
	f, err := Parse(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Validate(nil); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Parse decodes the JSON strictly, record by record, so that an unknown or
// mistyped field is reported with the record it is in. It does not
// validate; call Validate.
func Parse(r io.Reader) (*File, error) {
	dec := json.NewDecoder(r)
	var top map[string]json.RawMessage
	if err := dec.Decode(&top); err != nil {
		return nil, describeJSONError("", err)
	}
	if dec.More() {
		return nil, errors.New("unexpected data after the JSON object")
	}
	var f File
	sections := map[string]func(i int, raw json.RawMessage) error{
		"employees":     appendRecord(&f.Employees),
		"customers":     appendRecord(&f.Customers),
		"contacts":      appendRecord(&f.Contacts),
		"leads":         appendRecord(&f.Leads),
		"opportunities": appendRecord(&f.Opportunities),
	}
	for key, raw := range top {
		if key == "settings" {
			if err := json.Unmarshal(raw, &f.Settings); err != nil {
				return nil, describeJSONError("settings", err)
			}
			continue
		}
		add, ok := sections[key]
		if !ok {
			return nil, fmt.Errorf("unknown section %q (want employees, customers, contacts, leads, opportunities, settings)", key)
		}
		var records []json.RawMessage
		if err := json.Unmarshal(raw, &records); err != nil {
			return nil, describeJSONError(key, err)
		}
		for i, rec := range records {
			if err := add(i, rec); err != nil {
				return nil, fmt.Errorf("%s[%d]: %w", key, i, err)
			}
		}
	}
	return &f, nil
}

// appendRecord returns a function that decodes one record strictly and
// appends it to *list.
func appendRecord[T any](list *[]T) func(int, json.RawMessage) error {
	return func(_ int, raw json.RawMessage) error {
		v, err := DecodeRecord[T](raw)
		if err != nil {
			return err
		}
		*list = append(*list, v)
		return nil
	}
}

// DecodeRecord decodes one record (an employee, customer, contact, lead or
// opportunity) strictly, as Parse decodes each record of a file: unknown
// fields, wrong types and trailing data are errors naming the field.
func DecodeRecord[T any](raw []byte) (T, error) {
	var v T
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, describeJSONError("", err)
	}
	if dec.More() {
		return v, errors.New("unexpected data after the record")
	}
	return v, nil
}

func describeJSONError(where string, err error) error {
	if where != "" {
		where += ": "
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tim *time.ParseError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("%smalformed JSON at byte %d: %w", where, syn.Offset, err)
	case errors.As(err, &typ):
		return fmt.Errorf("%sfield %s: expected %s, got JSON %s", where, typ.Field, typ.Type, typ.Value)
	case errors.As(err, &tim):
		return fmt.Errorf("%sa time is not in RFC 3339 form (2026-10-01T09:00:00Z): %q", where, tim.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%struncated JSON (unexpected end of file)", where)
	case errors.Is(err, io.EOF):
		return fmt.Errorf("%sempty input", where)
	default:
		return fmt.Errorf("%s%s", where, strings.TrimPrefix(err.Error(), "json: "))
	}
}

// Validate checks every record. customerExists reports customers known
// outside the file (the database); nil means only the file's customers count.
// All problems are reported together, as a *ValidationError.
func (f *File) Validate(customerExists func(id int64) bool) error {
	v := validator{}
	customers := make(map[int64]bool)
	v.employees(f.Employees)
	for i, c := range f.Customers {
		rec := record{"customers", i, c.ID}
		v.id(rec, c.ID, "customer")
		customers[c.ID] = true
		v.required(rec, "name", c.Name)
		v.optionalAddress(rec, "email", c.Email)
		for j, d := range c.Domains {
			if nd := address.NormalizeDomain(d); nd == "" || strings.ContainsAny(nd, "@ /") {
				v.add(rec, fmt.Sprintf("domains[%d]", j), false, "%q: not a domain", d)
			}
		}
	}
	known := func(id int64) bool { return customers[id] || (customerExists != nil && customerExists(id)) }
	for i, c := range f.Contacts {
		rec := record{"contacts", i, c.ID}
		v.id(rec, c.ID, "contact")
		v.ref(rec, c.CustomerID, known)
		v.optionalAddress(rec, "email", c.Email)
	}
	for i, l := range f.Leads {
		rec := record{"leads", i, l.ID}
		v.id(rec, l.ID, "lead")
		v.ref(rec, l.CustomerID, known)
		if !model.ValidLeadStatus(l.Status) {
			v.add(rec, "status", false, "%q: not one of in_progress, deferred, won, lost, cancelled", l.Status)
		}
		if l.CreatedAt.IsZero() {
			v.add(rec, "created_at", false, "missing")
		}
	}
	for i, o := range f.Opportunities {
		rec := record{"opportunities", i, o.ID}
		v.id(rec, o.ID, "opportunity")
		v.ref(rec, o.CustomerID, known)
		if !model.ValidOpportunityStatus(o.Status) {
			v.add(rec, "status", false, "%q: not one of in_progress, won, lost, cancelled", o.Status)
		}
		if o.CreatedAt.IsZero() {
			v.add(rec, "created_at", false, "missing")
		}
	}
	return v.err()
}

// Problem is one thing wrong with a record of the file.
type Problem struct {
	Section string // "contacts"
	Index   int    // position in the section
	ID      int64  // the record's id as given
	Field   string // "email", "customer_id", "domains[1]"
	Detail  string // what is wrong, without the record and field
	// Reference is set when the record refers to a customer that exists
	// nowhere: a conflict with what is stored rather than a malformed record.
	Reference bool
}

// Path names the field within the file: "contacts[3].email".
func (p Problem) Path() string {
	return fmt.Sprintf("%s[%d].%s", p.Section, p.Index, p.Field)
}

func (p Problem) String() string {
	sep := " "
	if !strings.HasPrefix(p.Detail, "\"") && !p.Reference {
		sep = ": "
	}
	return fmt.Sprintf("%s[%d] (id %d): %s%s%s", p.Section, p.Index, p.ID, p.Field, sep, p.Detail)
}

// ValidationError lists every problem Validate found.
type ValidationError struct{ Problems []Problem }

func (e *ValidationError) Error() string {
	ps := e.Problems
	more := 0
	if len(ps) > maxProblems {
		ps, more = ps[:maxProblems], len(ps)-maxProblems
	}
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.String()
	}
	msg := strings.Join(parts, "; ")
	if more > 0 {
		msg += fmt.Sprintf(" (and %d more problems)", more)
	}
	return msg
}

// OnlyReferences reports whether every problem is a reference to a missing customer.
func (e *ValidationError) OnlyReferences() bool {
	for _, p := range e.Problems {
		if !p.Reference {
			return false
		}
	}
	return len(e.Problems) > 0
}

// record identifies a record being validated.
type record struct {
	section string
	index   int
	id      int64
}

// validator collects problems; at most maxProblems are shown in the error text.
type validator struct {
	problems []Problem
	seen     map[string]bool
}

const maxProblems = 20

func (v *validator) add(rec record, field string, reference bool, format string, args ...any) {
	v.problems = append(v.problems, Problem{Section: rec.section, Index: rec.index, ID: rec.id, Field: field,
		Detail: fmt.Sprintf(format, args...), Reference: reference})
}

func (v *validator) err() error {
	if len(v.problems) == 0 {
		return nil
	}
	return &ValidationError{Problems: v.problems}
}

func (v *validator) employees(es []model.Employee) {
	for i, e := range es {
		rec := record{"employees", i, e.ID}
		v.id(rec, e.ID, "employee")
		v.required(rec, "name", e.Name)
		v.optionalAddress(rec, "email", e.Email)
		if e.ExchangeMailbox != nil {
			v.optionalAddress(rec, "exchange_mailbox", *e.ExchangeMailbox)
		}
	}
}

func (v *validator) id(rec record, id int64, kind string) {
	if id <= 0 {
		v.add(rec, "id", false, "must be a positive number")
		return
	}
	if v.seen == nil {
		v.seen = make(map[string]bool)
	}
	key := fmt.Sprintf("%s/%d", kind, id)
	if v.seen[key] {
		v.add(rec, "id", false, "a second %s with id %d", kind, id)
	}
	v.seen[key] = true
}

func (v *validator) ref(rec record, customerID int64, known func(int64) bool) {
	if !known(customerID) {
		v.add(rec, "customer_id", true, "%d: no such customer", customerID)
	}
}

func (v *validator) required(rec record, field, value string) {
	if strings.TrimSpace(value) == "" {
		v.add(rec, field, false, "must not be empty")
	}
}

func (v *validator) optionalAddress(rec record, field, value string) {
	if strings.TrimSpace(value) == "" {
		return
	}
	if _, ok := address.Normalize(value); !ok {
		v.add(rec, field, false, "%q: not an e-mail address", value)
	}
}
