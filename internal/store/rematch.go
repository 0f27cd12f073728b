package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/model"
)

// StoredDecision is an ignored decision that a change of master data or
// settings may turn into a match (retroactive matching, DESIGN §11), with
// what deciding it again needs.
type StoredDecision struct {
	ID             int64
	EmployeeID     int64
	GraphMessageID string
	// Mailbox and EmployeeEmail are the owner's normalised addresses.
	Mailbox       string
	EmployeeEmail string
	Subject       string
	Folder        string
	Direction     string
	Reason        string
	// Candidates are the recorded candidates; Raw the recorded raw
	// candidates, nil when the decision predates their recording.
	Candidates []string
	Raw        []string
	CreatedAt  time.Time
}

// Stored returns what match.PrepareStored needs.
func (d StoredDecision) Stored() match.Stored {
	s := match.Stored{Direction: d.Direction, Mailbox: d.Mailbox, Raw: d.Raw, Candidates: d.Candidates}
	if d.EmployeeEmail != "" && d.EmployeeEmail != d.Mailbox {
		s.OwnerAddresses = []string{d.EmployeeEmail}
	}
	return s
}

// RematchCursor is a position in the keyset order of RematchPage; the zero
// cursor is the beginning.
type RematchCursor struct {
	CreatedAt time.Time
	ID        int64
}

// rematchReasons are the reasons a change can affect (match.Redecidable);
// the partial index decisions_rematch is defined with the same list.
const rematchWhere = `d.outcome = 'ignored' AND d.reason IN ('no_match', 'ignored_domain', 'internal')`

// RematchPage returns up to limit ignored decisions made since since whose
// reason a change can affect, after the cursor in (created_at, id) order,
// and the cursor to continue from. An empty page is the end.
func (s *Store) RematchPage(ctx context.Context, since time.Time, after RematchCursor, limit int) ([]StoredDecision, RematchCursor, error) {
	if limit <= 0 {
		limit = 1000
	}
	from := since.UTC()
	if after.ID != 0 && after.CreatedAt.After(from) {
		from = after.CreatedAt.UTC()
	}
	var rows []struct {
		ID             int64   `db:"id"`
		EmployeeID     int64   `db:"employee_id"`
		GraphMessageID string  `db:"graph_message_id"`
		Mailbox        string  `db:"mailbox"`
		Email          string  `db:"email"`
		Subject        string  `db:"subject"`
		Folder         string  `db:"folder"`
		Direction      string  `db:"direction"`
		Reason         string  `db:"reason"`
		Candidates     string  `db:"candidates"`
		Raw            *string `db:"raw_candidates"`
		CreatedAt      anyTime `db:"created_at"`
	}
	// (created_at, id) > (from, after.ID), written out for both dialects;
	// created_at >= since is implied.
	err := s.db.SelectContext(ctx, &rows, s.q(`
		SELECT d.id, d.employee_id, d.graph_message_id, COALESCE(e.mailbox_norm, '') AS mailbox, COALESCE(e.email_norm, '') AS email,
			d.subject, d.folder, d.direction, d.reason, d.candidates, d.raw_candidates, d.created_at
		FROM decisions d LEFT JOIN employees e ON e.id = d.employee_id
		WHERE `+rematchWhere+` AND d.created_at >= ? AND (d.created_at > ? OR d.id > ?)
		ORDER BY d.created_at, d.id LIMIT ?`), from, from, after.ID, limit)
	if err != nil {
		return nil, after, fmt.Errorf("store: rematch page: %w", err)
	}
	out := make([]StoredDecision, 0, len(rows))
	for _, r := range rows {
		d := StoredDecision{ID: r.ID, EmployeeID: r.EmployeeID, GraphMessageID: r.GraphMessageID, Mailbox: r.Mailbox,
			EmployeeEmail: r.Email, Subject: r.Subject, Folder: r.Folder, Direction: r.Direction, Reason: r.Reason, CreatedAt: r.CreatedAt.Time}
		if err := json.Unmarshal([]byte(r.Candidates), &d.Candidates); err != nil {
			return nil, after, fmt.Errorf("store: rematch page: decision %d: candidates: %w", r.ID, err)
		}
		if r.Raw != nil {
			d.Raw = []string{}
			if err := json.Unmarshal([]byte(*r.Raw), &d.Raw); err != nil {
				return nil, after, fmt.Errorf("store: rematch page: decision %d: raw candidates: %w", r.ID, err)
			}
		}
		out = append(out, d)
	}
	if len(out) > 0 {
		last := out[len(out)-1]
		after = RematchCursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	return out, after, nil
}

// LookupMany answers the directory questions of many prepared decisions at
// once: contacts and customers by the union of their addresses, customers by
// the union of their domains, then the open leads and opportunities of every
// customer found — a few queries with IN lists of at most inChunk keys
// instead of two queries per decision. The result serves match.Decide for
// each of them (Lookups are keyed by address, domain and customer).
func (s *Store) LookupMany(ctx context.Context, addresses, domains []string) (match.Lookups, error) {
	l := match.Lookups{
		ContactsByAddress:  map[string][]model.Contact{},
		CustomersByAddress: map[string][]model.Customer{},
		CustomersByDomain:  map[string][]model.Customer{},
		Leads:              map[int64][]model.Lead{},
		Opportunities:      map[int64][]model.Opportunity{},
	}
	addresses, domains = distinct(addresses), distinct(domains)
	customers := map[int64]bool{}
	for len(addresses) > 0 || len(domains) > 0 {
		a, d := addresses[:min(inChunk, len(addresses))], domains[:min(inChunk, len(domains))]
		addresses, domains = addresses[len(a):], domains[len(d):]
		err := s.lookupRows(ctx, &l, customers, func() (string, []any, error) { return hitsQuery(a, d) })
		if err != nil {
			return l, err
		}
	}
	ids := make([]int64, 0, len(customers))
	for id := range customers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for len(ids) > 0 {
		batch := ids[:min(inChunk, len(ids))]
		ids = ids[len(batch):]
		err := s.lookupRows(ctx, &l, nil, func() (string, []any, error) { return sqlx.In(openDealsQuery, batch, batch) })
		if err != nil {
			return l, err
		}
	}
	return l, nil
}

// distinct returns the distinct non-empty strings of list, sorted.
func distinct(list []string) []string {
	out := slices.Clone(list)
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > 0 && out[0] == "" {
		out = out[1:]
	}
	return out
}
