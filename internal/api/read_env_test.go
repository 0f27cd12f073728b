package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/dedesales/exchange-connector/internal/crmfile"
	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/store"
)

// newReadEnv serves the API on st with docs as its document store (nil:
// none), with a read and a write key.
func newReadEnv(t testing.TB, st *store.Store, docs DocumentReader) *apiEnv {
	t.Helper()
	return newEnv(t, st, true, func(d *Deps) { d.Documents = docs })
}

// get sends GET path with token and header pairs; the answer is checked
// against the document.
func (env *apiEnv) get(path, token string, hdr ...string) resp {
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
	return env.send(req)
}

// decode unmarshals the body into v.
func (r resp) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %.300s: %v", r.body, err)
	}
}

// feedPageOf reads one page of the feed.
func (env *apiEnv) feedPageOf(after string, limit int) feedPage {
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

// testCRM is employees 1 and 2, customers 10 and 11, contact 100 of
// customer 10, lead 1000 and opportunity 2000.
func testCRM() *crmfile.File {
	day := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	anna, peter := "anna.berger@dedenet.de", "peter.koch@dedenet.de"
	return &crmfile.File{
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
}

// seedReadCRM imports testCRM.
func seedReadCRM(t testing.TB, st *store.Store) {
	t.Helper()
	if _, err := st.ImportCRM(context.Background(), testCRM()); err != nil {
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
func (env *apiEnv) awaitFeed(after string, limit int, want map[int64]bool) ([]activityJSON, string) {
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
