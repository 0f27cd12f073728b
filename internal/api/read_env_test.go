package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"

	"github.com/dedesales/exchange-connector/internal/crmfile"
	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/store"
)

// readEnv serves the API over real HTTP on a real store, with a read and a
// write key, for the read endpoints' tests.
type readEnv struct {
	t     testing.TB
	st    *store.Store
	h     *Handler
	srv   *httptest.Server
	read  string // a read key's token
	write string // a write key's token
}

// newReadEnv serves the API on st with docs as its document store (nil: none).
func newReadEnv(t testing.TB, st *store.Store, docs DocumentReader) *readEnv {
	t.Helper()
	h, err := New(Deps{Store: st, Documents: docs, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	h.Register(e)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	env := &readEnv{t: t, st: st, h: h, srv: srv}
	ctx := context.Background()
	if env.read, _, err = st.CreateAPIKey(ctx, "reader", store.ScopeRead); err != nil {
		t.Fatal(err)
	}
	if env.write, _, err = st.CreateAPIKey(ctx, "writer", store.ScopeWrite); err != nil {
		t.Fatal(err)
	}
	return env
}

// readAnswer is an answer of the API that matched the document.
type readAnswer struct {
	status int
	header http.Header
	body   []byte
}

// decode unmarshals the body into v.
func (a readAnswer) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("decoding %.300s: %v", a.body, err)
	}
}

// problemOf decodes a problem answer.
func (a readAnswer) problemOf(t testing.TB) Problem {
	t.Helper()
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, MediaTypeProblem) {
		t.Fatalf("status %d with Content-Type %q, want a problem: %.300s", a.status, ct, a.body)
	}
	var p Problem
	a.decode(t, &p)
	if p.Status != a.status {
		t.Errorf("problem status %d, response %d", p.Status, a.status)
	}
	return p
}

// names reports whether the problem names field.
func names(p Problem, field string) bool {
	for _, e := range p.Errors {
		if e.Field == field {
			return true
		}
	}
	return false
}

// get sends GET path with token and checks the answer against the document.
func (env *readEnv) get(path, token string, hdr ...string) readAnswer {
	env.t.Helper()
	req, err := http.NewRequest(http.MethodGet, env.srv.URL+path, nil)
	if err != nil {
		env.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := env.srv.Client().Do(req)
	if err != nil {
		env.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		env.t.Fatal(err)
	}
	validateAnswer(env.t, env.h, req, res, body)
	return readAnswer{status: res.StatusCode, header: res.Header, body: body}
}

// validateAnswer checks a response against the document with
// openapi3filter: an undocumented status or a body off the schema fails.
func validateAnswer(t testing.TB, h *Handler, req *http.Request, res *http.Response, body []byte) {
	t.Helper()
	vreq := req.Clone(context.Background())
	route, params, err := h.router.FindRoute(vreq)
	if err != nil {
		t.Fatalf("%s %s: not in the document: %v", req.Method, req.URL.Path, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route},
		Status:                 res.StatusCode,
		Header:                 res.Header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s → %d does not match the document: %v\nbody: %.500s", req.Method, req.URL, res.StatusCode, err, body)
	}
}

// feedPageOf reads one page of the feed.
func (env *readEnv) feedPageOf(after string, limit int) feedPage {
	env.t.Helper()
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if after != "" {
		q.Set("after", after)
	}
	a := env.get(Prefix+"/activities?"+q.Encode(), env.read)
	if a.status != http.StatusOK {
		env.t.Fatalf("feed after %q: %d %s", after, a.status, a.body)
	}
	var p feedPage
	a.decode(env.t, &p)
	return p
}

// seedReadCRM imports employees 1 and 2, customers 10 and 11, contact 100
// of customer 10, lead 1000 and opportunity 2000.
func seedReadCRM(t testing.TB, st *store.Store) {
	t.Helper()
	day := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	anna, peter := "anna.berger@dedenet.de", "peter.koch@dedenet.de"
	f := &crmfile.File{
		Employees: []model.Employee{
			{ID: 1, Name: "Anna Berger", Email: anna, ExchangeMailbox: &anna, Active: true},
			{ID: 2, Name: "Peter Koch", Email: peter, ExchangeMailbox: &peter, Active: true},
		},
		Customers: []model.Customer{
			{ID: 10, Number: "10001", Name: "Schulz Technik GmbH", Email: "info@schulz-technik.com"},
			{ID: 11, Number: "10002", Name: "Müller Landtechnik", Email: "info@mueller-landtechnik.de"},
		},
		Contacts:      []model.Contact{{ID: 100, CustomerID: 10, Name: "Sabine Schulz", Email: "sabine.schulz@schulz-technik.com"}},
		Leads:         []model.Lead{{ID: 1000, CustomerID: 10, Title: "Wartung", Status: model.LeadInProgress, CreatedAt: day}},
		Opportunities: []model.Opportunity{{ID: 2000, CustomerID: 10, Title: "Traktor", Status: model.OpportunityInProgress, CreatedAt: day}},
	}
	if _, err := st.ImportCRM(context.Background(), f); err != nil {
		t.Fatal(err)
	}
}

// mail is a message from Sabine Schulz (customer 10) in employee's mailbox.
func mail(employee int64, graphID, internetID, subject string) store.MessageRecord {
	day := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	ptr := func(v int64) *int64 { return &v }
	return store.MessageRecord{
		EmployeeID: employee,
		Message: model.Message{ID: graphID, InternetMessageID: internetID, Subject: subject, ConversationID: "conv-" + subject,
			Body: &model.ItemBody{ContentType: "text", Content: "Guten Tag, " + subject}, ReceivedDateTime: &day, SentDateTime: &day,
			From: &model.Recipient{EmailAddress: model.EmailAddress{Address: "sabine.schulz@schulz-technik.com"}}},
		Folder: []model.FolderRef{{WellKnownName: "inbox", DisplayName: "Inbox"}},
		Decision: match.Decision{Outcome: match.OutcomeImported, Reason: match.ReasonMatched, Direction: match.DirectionInbound,
			Rule: match.RuleContactExact, MatchedAddress: "sabine.schulz@schulz-technik.com", CustomerID: ptr(10),
			ContactID: ptr(100), LeadID: ptr(1000), OpportunityID: ptr(2000), Candidates: []string{"sabine.schulz@schulz-technik.com"}},
	}
}

// awaitFeed pages through the feed from after until want activity IDs
// have all been seen (the PostgreSQL horizon moves when other tests'
// transactions end, so one read is not enough), and returns the pages'
// items in order and the last cursor.
func (env *readEnv) awaitFeed(after string, limit int, want map[int64]bool) ([]activityJSON, string) {
	env.t.Helper()
	var items []activityJSON
	seen := map[int64]bool{}
	deadline := time.Now().Add(time.Minute)
	for {
		p := env.feedPageOf(after, limit)
		items = append(items, p.Items...)
		for _, a := range p.Items {
			seen[a.ID] = true
		}
		after = p.NextCursor
		done := true
		for id := range want {
			if !seen[id] {
				done = false
				break
			}
		}
		if done {
			return items, after
		}
		if time.Now().After(deadline) {
			env.t.Fatalf("the feed showed %d of %d activities within a minute", len(seen), len(want))
		}
		if len(p.Items) == 0 {
			time.Sleep(10 * time.Millisecond) // polling: the horizon moves without an event to wait on
		}
	}
}
