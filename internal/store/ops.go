package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// MailboxOutcomeCount is the number of decisions of one mailbox with one
// outcome and reason, for the status page.
type MailboxOutcomeCount struct {
	EmployeeID int64  `db:"employee_id" json:"employee_id"`
	Outcome    string `db:"outcome" json:"outcome"`
	Reason     string `db:"reason" json:"reason"`
	N          int    `db:"n" json:"n"`
}

// MailboxDecisionCounts counts decisions per mailbox, outcome and reason,
// ordered by mailbox, then most first.
func (s *Store) MailboxDecisionCounts(ctx context.Context) ([]MailboxOutcomeCount, error) {
	var out []MailboxOutcomeCount
	err := s.db.SelectContext(ctx, &out, `
		SELECT employee_id, outcome, reason, COUNT(*) AS n FROM decisions
		GROUP BY employee_id, outcome, reason ORDER BY employee_id, n DESC, outcome, reason`)
	if err != nil {
		return nil, fmt.Errorf("store: decision counts per mailbox: %w", err)
	}
	return out, nil
}

// DecisionQuery selects decisions for the status page's search.
type DecisionQuery struct {
	// Text matches the subject or an address (matched, candidates, the
	// mailbox) as a case-insensitive substring among the newest
	// TextSearchWindow decisions, or the Graph message ID or
	// internetMessageId exactly (with or without the angle brackets) among
	// all.
	// Empty: every decision.
	Text string
	// Outcome, when set, keeps only decisions with this outcome.
	Outcome string
	// Limit is the page size (default 25, at most 500); Offset skips that
	// many decisions.
	Limit, Offset int
}

// DecisionHit is a decision with the address of the mailbox it was made in.
type DecisionHit struct {
	Decision
	Mailbox string `db:"mailbox" json:"mailbox"`
}

const decisionHitSelect = `
	SELECT d.*, COALESCE(e.mailbox_norm, '') AS mailbox
	FROM decisions d LEFT JOIN employees e ON e.id = d.employee_id`

// normalized applies the defaults and bounds of Limit and Offset.
func (q DecisionQuery) normalized() DecisionQuery {
	if q.Limit <= 0 {
		q.Limit = 25
	}
	q.Limit = min(q.Limit, 500)
	q.Offset = max(q.Offset, 0)
	return q
}

// TextSearchWindow is how many of the newest decisions a text search
// reads: a substring cannot use an index, and 1,000,000 decisions take
// seconds to read. Message IDs and internetMessageIds are found among all
// decisions.
const TextSearchWindow = 100_000

// SearchDecisions lists decisions matching q, newest first. more reports
// whether further decisions follow the page.
func (s *Store) SearchDecisions(ctx context.Context, q DecisionQuery) (hits []DecisionHit, more bool, err error) {
	var cutoff *time.Time
	if strings.TrimSpace(q.Text) != "" {
		if cutoff, err = s.textSearchCutoff(ctx); err != nil {
			return nil, false, err
		}
	}
	q = q.normalized()
	query, args := SearchDecisionsQuery(q, cutoff)
	if err := s.db.SelectContext(ctx, &hits, s.q(query), args...); err != nil {
		return nil, false, fmt.Errorf("store: search decisions %q: %w", q.Text, err)
	}
	if len(hits) > q.Limit {
		return hits[:q.Limit], true, nil
	}
	return hits, false, nil
}

// textSearchCutoff is the creation time of the oldest decision a text
// search reads (TextSearchWindow), or nil when there are fewer decisions.
// One step along the index on (created_at, id).
func (s *Store) textSearchCutoff(ctx context.Context) (*time.Time, error) {
	var at []time.Time
	err := s.db.SelectContext(ctx, &at, s.q(TextSearchCutoffQuery), TextSearchWindow-1)
	if err != nil {
		return nil, fmt.Errorf("store: text search window: %w", err)
	}
	if len(at) == 0 {
		return nil, nil
	}
	return &at[0], nil
}

// TextSearchCutoffQuery finds the creation time of the oldest decision a
// text search reads; its argument is TextSearchWindow-1.
const TextSearchCutoffQuery = `SELECT created_at FROM decisions ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET ?`

// SearchDecisionsQuery is the SQL of SearchDecisions, for the plan tests.
// A text search reads the decisions created at or after cutoff (nil: all)
// for substrings, and all decisions for an exact ID; both arms are index
// look-ups. The last two arguments are LIMIT (one more than the page, to
// see whether more follow) and OFFSET.
func SearchDecisionsQuery(q DecisionQuery, cutoff *time.Time) (string, []any) {
	q = q.normalized()
	outcome := func(query string, args []any) (string, []any) {
		if q.Outcome == "" {
			return query, args
		}
		return query + ` AND d.outcome = ?`, append(args, q.Outcome)
	}
	order := ` ORDER BY d.created_at DESC, d.id DESC LIMIT ?`
	text := strings.TrimSpace(q.Text)
	if text == "" {
		query, args := outcome(decisionHitSelect+` WHERE 1 = 1`, nil)
		return query + order + ` OFFSET ?`, append(args, q.Limit+1, q.Offset)
	}
	// Two arms, each walking its own index newest first and stopping after
	// the page: the substrings in the window, the exact IDs in all.
	like := "%" + escapeLike(strings.ToLower(text)) + "%"
	id := strings.Trim(text, "<>")
	window, wargs := decisionHitSelect+` WHERE `, []any{}
	if cutoff != nil {
		window += `d.created_at >= ? AND `
		wargs = append(wargs, *cutoff)
	}
	// Addresses are stored normalised (lower case, see internal/address),
	// so only the subject needs LOWER: a third of the work per row. The
	// mailboxes matching the text are found once, not joined per decision.
	window += `(LOWER(d.subject) LIKE ? ESCAPE '\' OR d.matched_address LIKE ? ESCAPE '\'
		OR d.candidates LIKE ? ESCAPE '\'
		OR d.employee_id IN (SELECT id FROM employees WHERE mailbox_norm LIKE ? ESCAPE '\'))`
	window, wargs = outcome(window, append(wargs, like, like, like, like))
	exact, eargs := outcome(decisionHitSelect+` WHERE (d.graph_message_id = ? OR d.internet_message_id IN (?, ?))`,
		[]any{text, text, "<" + id + ">"})
	n := q.Offset + q.Limit + 1
	query := `SELECT * FROM (` + window + order + `) w UNION SELECT * FROM (` + exact + order + `) x
		ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`
	args := append(append(append(wargs, n), eargs...), n, q.Limit+1, q.Offset)
	return query, args
}

// DecisionsOfMessage lists the decisions about one e-mail (by its
// internetMessageId) in every mailbox, newest first, at most limit.
func (s *Store) DecisionsOfMessage(ctx context.Context, internetMessageID string, limit int) ([]DecisionHit, error) {
	var hits []DecisionHit
	err := s.db.SelectContext(ctx, &hits, s.q(DecisionsOfMessageQuery), internetMessageID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: decisions of message %q: %w", internetMessageID, err)
	}
	return hits, nil
}

// DecisionsOfMessageQuery is the SQL of DecisionsOfMessage, for the plan
// tests.
const DecisionsOfMessageQuery = decisionHitSelect + ` WHERE d.internet_message_id = ? ORDER BY d.created_at DESC, d.id DESC LIMIT ?`

// DecisionByID returns one decision, or ErrNotFound.
func (s *Store) DecisionByID(ctx context.Context, id int64) (DecisionHit, error) {
	var h DecisionHit
	err := s.db.GetContext(ctx, &h, s.q(decisionHitSelect+` WHERE d.id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return h, fmt.Errorf("store: decision %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return h, fmt.Errorf("store: decision %d: %w", id, err)
	}
	if h.History, err = s.DecisionHistory(ctx, h.EmployeeID, h.GraphMessageID); err != nil {
		return h, err
	}
	return h, nil
}

// escapeLike escapes LIKE's wildcards so that the text matches literally
// (with ESCAPE '\').
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
