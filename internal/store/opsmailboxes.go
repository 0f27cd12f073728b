package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// mailboxStateConds are the states a mailbox can be in besides
// MailboxEnabled, in the order of precedence of Mailbox.State, each with the
// SQL condition over m, a row of mailboxSelect, that puts a mailbox in it.
// A new state is added here and in Mailbox.State; the /ops state filter and
// its counts follow from this list (see MailboxStates), and
// TestMailboxPageStatesMatchMailboxState asks for a case of it.
var mailboxStateConds = []struct{ state, cond string }{
	{MailboxInactive, `NOT m.active`},
	{MailboxDisabled, `m.disabled`},
	{MailboxAccessDenied, `m.access_denied_at IS NOT NULL`},
	{MailboxNotFound, `m.not_found_at IS NOT NULL`},
}

// MailboxStates lists every state Mailbox.State can return, enabled first.
func MailboxStates() []string {
	out := []string{MailboxEnabled}
	for _, c := range mailboxStateConds {
		out = append(out, c.state)
	}
	return out
}

// mailboxStateSQL is the SQL expression of Mailbox.State.
func mailboxStateSQL() string {
	var b strings.Builder
	b.WriteString(`CASE`)
	for _, c := range mailboxStateConds {
		fmt.Fprintf(&b, ` WHEN %s THEN '%s'`, c.cond, c.state)
	}
	fmt.Fprintf(&b, ` ELSE '%s' END`, MailboxEnabled)
	return b.String()
}

// mailboxErrorSQL holds for a mailbox with an error: its own last error,
// its subscription's, or a failed subscription.
const mailboxErrorSQL = `(m.last_error <> '' OR COALESCE(sub.last_error, '') <> '' OR sub.status = '` + SubscriptionFailed + `')`

// SilentAlertKind is alert.KindMailboxSilent, which this package cannot
// import (internal/alert imports it); a test in internal/ops keeps them equal.
const SilentAlertKind = "mailbox_silent"

// mailboxSilentSQL holds for a mailbox with an open silent-mailbox alert
// (keyed by the mailbox address): one look-up in the alerts' unique index.
const mailboxSilentSQL = `EXISTS (SELECT 1 FROM alerts al WHERE al.kind = '` + SilentAlertKind + `'
	AND al.subject_key = m.address AND al.resolved_at IS NULL)`

// mailboxPageFrom is the FROM and the base condition of the mailbox page:
// every mailbox as Mailboxes reads it (mailboxSelect, so that a column added
// there is here too), with its subscription.
const mailboxPageFrom = `
	FROM (` + mailboxSelect + `) m
	LEFT JOIN subscriptions sub ON sub.employee_id = m.employee_id
	WHERE 1 = 1`

// MailboxSortKeys are the sort keys of the mailbox page.
var MailboxSortKeys = []string{"address", "name", "state", "last_sync", "notification", "expires", "error"}

// mailboxSorts maps the sort keys of the mailbox page to their columns.
// Every order ends with the address, which is unique, so that pages do not
// overlap.
var mailboxSorts = map[string]string{
	"address":      `m.address`,
	"name":         `LOWER(m.name)`,
	"state":        mailboxStateSQL(),
	"last_sync":    `m.last_sync_at`,
	"notification": `sub.last_notification_at`,
	"expires":      `sub.expires_at`,
	"error":        `COALESCE(NULLIF(m.last_error, ''), sub.last_error, '')`,
}

// MailboxFilter selects mailboxes for the /ops mailbox table.
type MailboxFilter struct {
	// State keeps the mailboxes in this state (one of MailboxStates).
	State string
	// Errors keeps the mailboxes with an error (theirs or their
	// subscription's, or a failed subscription).
	Errors bool
	// Silent keeps the mailboxes with an open silent-mailbox alert.
	Silent bool
	// Search keeps the mailboxes whose address or name contains it, in any
	// case.
	Search string
}

// MailboxPageQuery is a filtered, sorted page of mailboxes.
type MailboxPageQuery struct {
	MailboxFilter
	// Sort is one of MailboxSortKeys (default "address"); Desc reverses it.
	Sort string
	Desc bool
	// Limit is the page size (default 50, at most 500); Offset skips that
	// many mailboxes.
	Limit, Offset int
}

// MailboxPageRow is one mailbox of the page with its subscription.
type MailboxPageRow struct {
	Mailbox
	// MailboxState is State computed by the database.
	MailboxState       string     `db:"state"`
	SubStatus          *string    `db:"sub_status"`
	SubExpiresAt       *time.Time `db:"sub_expires_at"`
	LastNotificationAt *time.Time `db:"last_notification_at"`
	SubLastError       string     `db:"sub_last_error"`
	Silent             bool       `db:"silent"`
}

// where returns the page's WHERE additions and their arguments.
func (f MailboxFilter) where() (string, []any) {
	var (
		b    strings.Builder
		args []any
	)
	if f.State != "" {
		b.WriteString(` AND (` + mailboxStateSQL() + `) = ?`)
		args = append(args, f.State)
	}
	if f.Errors {
		b.WriteString(` AND ` + mailboxErrorSQL)
	}
	if f.Silent {
		b.WriteString(` AND ` + mailboxSilentSQL)
	}
	if s := strings.TrimSpace(f.Search); s != "" {
		like := "%" + escapeLike(strings.ToLower(s)) + "%"
		b.WriteString(` AND (m.address LIKE ? ESCAPE '\' OR LOWER(m.name) LIKE ? ESCAPE '\')`)
		args = append(args, like, like)
	}
	return b.String(), args
}

// MailboxPageQueries returns the SQL of a page and of its count, for the
// plan tests.
func MailboxPageQueries(q MailboxPageQuery) (page string, pageArgs []any, count string, countArgs []any, err error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	q.Limit = min(q.Limit, 500)
	q.Offset = max(q.Offset, 0)
	if q.Sort == "" {
		q.Sort = "address"
	}
	col, ok := mailboxSorts[q.Sort]
	if !ok {
		return "", nil, "", nil, fmt.Errorf("store: mailbox page: unknown sort %q", q.Sort)
	}
	if q.State != "" && !validState(q.State) {
		return "", nil, "", nil, fmt.Errorf("store: mailbox page: unknown state %q", q.State)
	}
	dir := ` ASC`
	if q.Desc {
		dir = ` DESC`
	}
	// NULLs (never synced, no subscription) come last either way.
	order := col + ` IS NULL, ` + col + dir + `, m.address` + dir + `, m.employee_id`
	where, args := q.where()
	page = `
	SELECT m.*, ` + mailboxStateSQL() + ` AS state,
	       sub.status AS sub_status, sub.expires_at AS sub_expires_at, sub.last_notification_at,
	       COALESCE(sub.last_error, '') AS sub_last_error,
	       ` + mailboxSilentSQL + ` AS silent` + mailboxPageFrom + where + `
	ORDER BY ` + order + ` LIMIT ? OFFSET ?`
	pageArgs = append(append([]any{}, args...), q.Limit, q.Offset)
	count = `SELECT COUNT(*)` + mailboxPageFrom + where
	return page, pageArgs, count, args, nil
}

func validState(s string) bool {
	for _, st := range MailboxStates() {
		if st == s {
			return true
		}
	}
	return false
}

// MailboxPage returns a page of mailboxes and how many match the filter in
// all. The mailboxes are read from employees, mailbox_states and
// subscriptions (one row each per mailbox); decisions are not touched (see
// DecisionCountsOf for the page's counts).
func (s *Store) MailboxPage(ctx context.Context, q MailboxPageQuery) ([]MailboxPageRow, int, error) {
	page, pageArgs, count, countArgs, err := MailboxPageQueries(q)
	if err != nil {
		return nil, 0, err
	}
	var total int
	if err := s.db.GetContext(ctx, &total, s.q(count), countArgs...); err != nil {
		return nil, 0, fmt.Errorf("store: count mailboxes: %w", err)
	}
	var rows []MailboxPageRow
	if err := s.db.SelectContext(ctx, &rows, s.q(page), pageArgs...); err != nil {
		return nil, 0, fmt.Errorf("store: mailbox page: %w", err)
	}
	return rows, total, nil
}

// MailboxSummary counts the mailboxes for the top of the status page.
type MailboxSummary struct {
	Total int
	// ByState counts the mailboxes per state; every state of MailboxStates
	// is present.
	ByState map[string]int
	// Errors counts the mailboxes with an error, Silent those with an open
	// silent-mailbox alert.
	Errors, Silent int
}

// MailboxSummaryQuery is the SQL of MailboxSummaries, for the plan tests.
func MailboxSummaryQuery() string {
	return `SELECT ` + mailboxStateSQL() + ` AS state, COUNT(*) AS n,
		SUM(CASE WHEN ` + mailboxErrorSQL + ` THEN 1 ELSE 0 END) AS errors,
		SUM(CASE WHEN ` + mailboxSilentSQL + ` THEN 1 ELSE 0 END) AS silent` +
		mailboxPageFrom + ` GROUP BY 1`
}

// MailboxSummaries counts the mailboxes per state, in error and silent, in
// one pass over the mailboxes (not their decisions).
func (s *Store) MailboxSummaries(ctx context.Context) (MailboxSummary, error) {
	var rows []struct {
		State  string `db:"state"`
		N      int    `db:"n"`
		Errors int    `db:"errors"`
		Silent int    `db:"silent"`
	}
	if err := s.db.SelectContext(ctx, &rows, s.q(MailboxSummaryQuery())); err != nil {
		return MailboxSummary{}, fmt.Errorf("store: mailbox summary: %w", err)
	}
	sum := MailboxSummary{ByState: map[string]int{}}
	for _, st := range MailboxStates() {
		sum.ByState[st] = 0
	}
	for _, r := range rows {
		sum.ByState[r.State] += r.N
		sum.Total += r.N
		sum.Errors += r.Errors
		sum.Silent += r.Silent
	}
	return sum, nil
}

// DecisionCountsQuery is the SQL of DecisionCountsOf for n mailboxes, for
// the plan tests.
func DecisionCountsQuery(n int) string {
	return `SELECT employee_id, outcome, reason, COUNT(*) AS n FROM decisions
		WHERE employee_id IN (?` + strings.Repeat(`, ?`, max(n-1, 0)) + `)
		GROUP BY employee_id, outcome, reason ORDER BY employee_id, n DESC, outcome, reason`
}

// DecisionCountsOf counts the decisions of the given mailboxes per
// mailbox, outcome and reason, ordered like MailboxDecisionCounts. It reads
// the index on (employee_id, outcome, reason) of just these mailboxes.
func (s *Store) DecisionCountsOf(ctx context.Context, employeeIDs []int64) ([]MailboxOutcomeCount, error) {
	var out []MailboxOutcomeCount
	for start := 0; start < len(employeeIDs); start += inChunk {
		ids := employeeIDs[start:min(start+inChunk, len(employeeIDs))]
		args := make([]any, len(ids))
		for i, id := range ids {
			args[i] = id
		}
		var part []MailboxOutcomeCount
		if err := s.db.SelectContext(ctx, &part, s.q(DecisionCountsQuery(len(ids))), args...); err != nil {
			return nil, fmt.Errorf("store: decision counts of %d mailboxes: %w", len(ids), err)
		}
		out = append(out, part...)
	}
	return out, nil
}
