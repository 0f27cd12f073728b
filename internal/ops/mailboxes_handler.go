package ops

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/store"
)

// mailboxesPerPage is the size of a page of the mailbox table.
const mailboxesPerPage = 50

// mailboxColumns are the sortable columns of the mailbox table, in order.
var mailboxColumns = []struct{ Key, Label string }{
	{"address", "Mailbox"}, {"state", "State"}, {"expires", "Expires"},
	{"notification", "Last notification"}, {"last_sync", "Last sync"}, {"error", "Last error"},
}

// mailboxTable is a page of the mailbox table with the filter, sort and
// links that made it; the data of the "mailboxes" partial.
type mailboxTable struct {
	Summary   mailboxSummary
	Filter    store.MailboxFilter
	Sort      string
	Desc      bool
	States    []string
	Rows      []mailboxRow
	Total     int
	From, To  int // 1-based positions of the first and last row shown
	Page      int
	Pages     int
	Headers   []sortHeader
	NameSort  sortHeader
	FirstURL  string
	PrevURL   string
	NextURL   string
	LastURL   string
	AllURL    string // the full table, from the status page
	Paginated bool   // the page has a pager (the status page has a link instead)
}

// sortHeader is a column heading that sorts by the column.
type sortHeader struct {
	Label string
	URL   string
	// Sort is the aria-sort value: "ascending", "descending" or "" when the
	// table is not sorted by the column.
	Sort string
}

// mailboxSummary is the line of counts above the table; each count links to
// the mailboxes it counts.
type mailboxSummary struct {
	Total int
	Items []summaryItem
}

type summaryItem struct {
	Label string
	N     int
	URL   string
	Class string
}

// mailboxParams is the table's state in a query string.
type mailboxParams struct {
	store.MailboxFilter
	Sort string
	Desc bool
	Page int
}

// mailboxParamsOf reads the table's query parameters; unknown values fall
// back to the defaults.
func mailboxParamsOf(c echo.Context) mailboxParams {
	p := mailboxParams{Sort: c.QueryParam("sort"), Desc: c.QueryParam("desc") == "1"}
	p.State = c.QueryParam("state")
	if !slices.Contains(store.MailboxStates(), p.State) {
		p.State = ""
	}
	if !slices.Contains(store.MailboxSortKeys, p.Sort) {
		p.Sort = "address"
	}
	p.Errors = c.QueryParam("errors") == "1"
	p.Silent = c.QueryParam("silent") == "1"
	p.Search = strings.TrimSpace(c.QueryParam("q"))
	if len(p.Search) > maxQueryLen {
		p.Search = p.Search[:maxQueryLen]
	}
	p.Page, _ = strconv.Atoi(c.QueryParam("page"))
	p.Page = max(p.Page, 1)
	return p
}

// url is the mailbox page showing p.
func (p mailboxParams) url() string {
	v := url.Values{}
	if p.State != "" {
		v.Set("state", p.State)
	}
	if p.Errors {
		v.Set("errors", "1")
	}
	if p.Silent {
		v.Set("silent", "1")
	}
	if p.Search != "" {
		v.Set("q", p.Search)
	}
	if p.Sort != "address" && p.Sort != "" {
		v.Set("sort", p.Sort)
	}
	if p.Desc {
		v.Set("desc", "1")
	}
	if p.Page > 1 {
		v.Set("page", strconv.Itoa(p.Page))
	}
	if len(v) == 0 {
		return Prefix + "/mailboxes"
	}
	return Prefix + "/mailboxes?" + v.Encode()
}

// mailboxesPage is the data of mailboxes.html.
type mailboxesPage struct {
	page
	Mailboxes mailboxTable
}

// mailboxes shows the mailbox table, filtered, sorted and paginated by the
// query string.
func (h *Handler) mailboxes(c echo.Context) error {
	t, err := h.mailboxTable(c.Request().Context(), mailboxParamsOf(c), true)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "mailboxes.html", mailboxesPage{page: sessionPage(c, "Mailboxes"), Mailboxes: t})
}

// mailboxTable reads one page of the table and the summary above it.
// A page past the end shows the last page.
func (h *Handler) mailboxTable(ctx context.Context, p mailboxParams, paginated bool) (mailboxTable, error) {
	now := h.now()
	sum, err := h.deps.Store.MailboxSummaries(ctx)
	if err != nil {
		return mailboxTable{}, fmt.Errorf("ops: mailboxes: %w", err)
	}
	t := mailboxTable{Filter: p.MailboxFilter, Sort: p.Sort, Desc: p.Desc, States: store.MailboxStates(),
		Summary: summaryOf(sum), Paginated: paginated, AllURL: Prefix + "/mailboxes"}
	q := store.MailboxPageQuery{MailboxFilter: p.MailboxFilter, Sort: p.Sort, Desc: p.Desc,
		Limit: mailboxesPerPage, Offset: (p.Page - 1) * mailboxesPerPage}
	rows, total, err := h.deps.Store.MailboxPage(ctx, q)
	if err != nil {
		return mailboxTable{}, fmt.Errorf("ops: mailboxes: %w", err)
	}
	t.Total = total
	t.Pages = max((total+mailboxesPerPage-1)/mailboxesPerPage, 1)
	if p.Page > t.Pages {
		p.Page = t.Pages
		q.Offset = (p.Page - 1) * mailboxesPerPage
		if rows, total, err = h.deps.Store.MailboxPage(ctx, q); err != nil {
			return mailboxTable{}, fmt.Errorf("ops: mailboxes: %w", err)
		}
		t.Total = total
	}
	t.Page = p.Page
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.EmployeeID
	}
	counts, err := h.deps.Store.DecisionCountsOf(ctx, ids)
	if err != nil {
		return mailboxTable{}, fmt.Errorf("ops: mailboxes: %w", err)
	}
	byMailbox := map[int64][]store.MailboxOutcomeCount{}
	for _, n := range counts {
		byMailbox[n.EmployeeID] = append(byMailbox[n.EmployeeID], n)
	}
	for _, r := range rows {
		if r.State() != r.MailboxState {
			// Filters and counts use the database's state: a state
			// Mailbox.State knows but store.mailboxStateConds does not.
			h.log.Warn("ops: the database's state of a mailbox differs from Mailbox.State; add the state to the store's list",
				slog.String("mailbox", r.Address), slog.String("state", r.State()), slog.String("database_state", r.MailboxState))
		}
		t.Rows = append(t.Rows, mailboxRowOf(now, r, byMailbox[r.EmployeeID]))
	}
	if len(rows) > 0 {
		t.From = q.Offset + 1
		t.To = q.Offset + len(rows)
	}
	at := func(page int) string { pp := p; pp.Page = page; return pp.url() }
	if p.Page > 1 {
		t.FirstURL, t.PrevURL = at(1), at(p.Page-1)
	}
	if p.Page < t.Pages {
		t.NextURL, t.LastURL = at(p.Page+1), at(t.Pages)
	}
	sortBy := func(key, label string) sortHeader {
		pp := p
		pp.Page, pp.Sort, pp.Desc = 1, key, false
		hd := sortHeader{Label: label}
		if p.Sort == key {
			hd.Sort = "ascending"
			if p.Desc {
				hd.Sort = "descending"
			}
			pp.Desc = !p.Desc
		}
		hd.URL = pp.url()
		return hd
	}
	for _, col := range mailboxColumns {
		t.Headers = append(t.Headers, sortBy(col.Key, col.Label))
	}
	t.NameSort = sortBy("name", "name")
	return t, nil
}

// summaryOf is the line of counts: every state, then errors and silence.
func summaryOf(sum store.MailboxSummary) mailboxSummary {
	out := mailboxSummary{Total: sum.Total}
	for _, st := range store.MailboxStates() {
		class := "muted"
		switch st {
		case store.MailboxEnabled:
			class = "ok"
		case store.MailboxAccessDenied, store.MailboxNotFound:
			class = "bad"
		}
		out.Items = append(out.Items, summaryItem{Label: st, N: sum.ByState[st],
			URL: mailboxParams{MailboxFilter: store.MailboxFilter{State: st}, Sort: "address"}.url(), Class: class})
	}
	out.Items = append(out.Items,
		summaryItem{Label: "in error", N: sum.Errors, URL: mailboxParams{MailboxFilter: store.MailboxFilter{Errors: true}, Sort: "error"}.url(), Class: "bad"},
		summaryItem{Label: "silent", N: sum.Silent, URL: mailboxParams{MailboxFilter: store.MailboxFilter{Silent: true}, Sort: "address"}.url(), Class: "warn"})
	return out
}

func mailboxRowOf(now time.Time, mb store.MailboxPageRow, counts []store.MailboxOutcomeCount) mailboxRow {
	r := mailboxRow{Address: mb.Address, Name: mb.Name, State: mb.State(), Subscription: "none", SubExpires: "-",
		LastNotification: ago(now, mb.LastNotificationAt), LastSync: ago(now, mb.LastSyncAt), LastError: mb.LastError,
		Silent: mb.Silent}
	if mb.SubStatus != nil {
		r.Subscription = *mb.SubStatus
		if r.Subscription == store.SubscriptionActive && mb.SubExpiresAt != nil {
			left := mb.SubExpiresAt.Sub(now)
			r.SubExpires = "in " + roughDuration(left) + " (" + timeFmt(*mb.SubExpiresAt) + ")"
			r.SubWarn = left < 24*time.Hour // renewed when less than a day is left
			if left <= 0 {
				r.SubExpires = "expired " + roughDuration(-left) + " ago"
			}
		}
		if r.LastError == "" {
			r.LastError = mb.SubLastError
		}
	}
	for _, n := range counts {
		switch n.Outcome {
		case match.OutcomeImported:
			r.Imported += n.N
		case match.OutcomeDuplicate:
			r.Duplicates += n.N
		default:
			r.Ignored += n.N
			r.IgnoredBy = append(r.IgnoredBy, store.Count{Label: n.Reason, N: n.N})
		}
	}
	return r
}
