package api

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

func ids(items []activityJSON) []int64 {
	out := make([]int64, len(items))
	for i, a := range items {
		out[i] = a.ID
	}
	return out
}

func set(ids ...int64) map[int64]bool {
	m := map[int64]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// TestFeedPagesInCommitOrder: the feed shows activities in the order they
// were committed, page by page with the cursor; a further mailbox and a
// filed document bring an activity back, in its new state; an empty page
// answers the cursor it was given. Read and write keys may read it.
func TestFeedPagesInCommitOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		seedReadCRM(t, st)
		env := newReadEnv(t, st, nil)
		var created []int64
		for i := 1; i <= 5; i++ {
			res, err := st.RecordMessage(ctx, mail(1, fmt.Sprintf("AAMk-%d", i), fmt.Sprintf("<m%d@schulz-technik.com>", i), fmt.Sprintf("Angebot %d", i)))
			if err != nil {
				t.Fatal(err)
			}
			created = append(created, res.ActivityID)
		}
		items, cursor := env.awaitFeed("", 2, set(created...))
		if !slices.Equal(ids(items), created) {
			t.Fatalf("feed order %v, want %v (commit order)", ids(items), created)
		}
		first := items[0]
		if first.CustomerID != 10 || first.ContactID == nil || *first.ContactID != 100 || first.LeadID == nil || *first.LeadID != 1000 ||
			first.OpportunityID == nil || *first.OpportunityID != 2000 || first.Direction != "inbound" || first.Subject != "Angebot 1" ||
			first.BodyText != "Guten Tag, Angebot 1" || first.InternetMessageID == nil || *first.InternetMessageID != "<m1@schulz-technik.com>" ||
			first.ConversationID != "conv-Angebot 1" || first.Rule != match.RuleContactExact || first.SentAt == nil || first.ReceivedAt == nil {
			t.Errorf("first item %+v", first)
		}
		if len(first.Mailboxes) != 1 || first.Mailboxes[0] != (mailboxJSON{EmployeeID: 1, GraphMessageID: "AAMk-1"}) || len(first.Documents) != 0 {
			t.Errorf("first item's mailboxes %+v, documents %+v", first.Mailboxes, first.Documents)
		}

		// Nothing new: no items, and the cursor given comes back.
		if p := env.feedPageOf(cursor, 100); len(p.Items) != 0 || p.NextCursor != cursor {
			t.Errorf("empty page: %d items, next_cursor %q; want 0 and %q", len(p.Items), p.NextCursor, cursor)
		}
		// The write key reads as well.
		if a := env.get(Prefix+"/activities?after="+cursor, env.write); a.status != http.StatusOK {
			t.Errorf("feed with the write key: %d %s", a.status, a.body)
		}

		// Peter has the second mail too; the third gets a document.
		if _, err := st.RecordMessage(ctx, mail(2, "AAMk-peter-2", "<m2@schulz-technik.com>", "Angebot 2")); err != nil {
			t.Fatal(err)
		}
		doc := store.Document{CustomerID: 10, ActivityID: created[2], SourceKey: "a:3", Path: "10001/E-Mail Attachments/Angebot 3.pdf",
			Name: "Angebot 3.pdf", Size: 4, SHA256: strings.Repeat("ab", 32), ContentType: "application/pdf"}
		if err := st.RecordDocument(ctx, doc); err != nil {
			t.Fatal(err)
		}
		again, next := env.awaitFeed(cursor, 1, set(created[1], created[2]))
		if !slices.Equal(ids(again), []int64{created[1], created[2]}) {
			t.Fatalf("after the changes the feed shows %v, want %v", ids(again), created[1:3])
		}
		if mb := again[0].Mailboxes; len(mb) != 2 || mb[1] != (mailboxJSON{EmployeeID: 2, GraphMessageID: "AAMk-peter-2"}) {
			t.Errorf("mailboxes of the mail both have: %+v", mb)
		}
		if ds := again[1].Documents; len(ds) != 1 || ds[0].Name != "Angebot 3.pdf" || ds[0].Path != doc.Path || ds[0].Size != 4 ||
			ds[0].SHA256 != doc.SHA256 || ds[0].ID <= 0 {
			t.Errorf("documents: %+v", ds)
		}
		if next == cursor {
			t.Error("the cursor did not move")
		}
		// From the beginning again, one page holds each activity once.
		all, _ := env.awaitFeed("", 1000, set(created...))
		want := []int64{created[0], created[3], created[4], created[1], created[2]}
		if !slices.Equal(ids(all), want) {
			t.Errorf("the whole feed %v, want %v (each at its last change)", ids(all), want)
		}
	})
}

// TestFeedBadInput: a cursor that is not one, and limits outside 1..1000,
// are 400 naming the parameter.
func TestFeedBadInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		env := newReadEnv(t, st, nil)
		for _, tc := range []struct{ query, field string }{
			{"after=nonsense", "after"},
			{"after=c1.!!", "after"},
			{"after=c1.LTEuMg", "after"},
			{"limit=0", "limit"},
			{"limit=1001", "limit"},
			{"limit=ten", "limit"},
			{"limit=-5", "limit"},
		} {
			a := env.get(Prefix+"/activities?"+tc.query, env.read)
			if a.status != http.StatusBadRequest {
				t.Errorf("%s: %d %s, want 400", tc.query, a.status, a.body)
				continue
			}
			if p := a.problem(t); !p.hasField(tc.field) {
				t.Errorf("%s: the problem does not name %q: %+v", tc.query, tc.field, p)
			}
		}
		// The default limit and an empty feed.
		if a := env.get(Prefix+"/activities", env.read); a.status != http.StatusOK || !strings.Contains(string(a.body), `"next_cursor":""`) {
			t.Errorf("empty feed: %d %s", a.status, a.body)
		}
	})
}

// TestActivityReads: one activity by ID, and a customer's activities newest
// first, page by page with next_before.
func TestActivityReads(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		seedReadCRM(t, st)
		env := newReadEnv(t, st, nil)
		var created []int64
		for i := 1; i <= 5; i++ {
			res, err := st.RecordMessage(ctx, mail(1, fmt.Sprintf("AAMk-%d", i), fmt.Sprintf("<m%d@schulz-technik.com>", i), fmt.Sprintf("Angebot %d", i)))
			if err != nil {
				t.Fatal(err)
			}
			created = append(created, res.ActivityID)
		}
		for _, token := range []string{env.read, env.write} {
			a := env.get(fmt.Sprintf("%s/activities/%d", Prefix, created[2]), token)
			var got activityJSON
			a.decode(t, &got)
			if a.status != http.StatusOK || got.ID != created[2] || got.Subject != "Angebot 3" || len(got.Mailboxes) != 1 {
				t.Errorf("GET activity: %d %s", a.status, a.body)
			}
		}
		a := env.get(Prefix+"/activities/999999", env.read)
		if a.status != http.StatusNotFound || !a.problem(t).hasField("id") {
			t.Errorf("unknown activity: %d %s", a.status, a.body)
		}
		if a := env.get(Prefix+"/activities/abc", env.read); a.status != http.StatusBadRequest || !a.problem(t).hasField("id") {
			t.Errorf("activity abc: %d %s", a.status, a.body)
		}

		var pages [][]int64
		before := ""
		for range 5 {
			a := env.get(Prefix+"/customers/10/activities?limit=2"+before, env.read)
			if a.status != http.StatusOK {
				t.Fatalf("customer activities: %d %s", a.status, a.body)
			}
			var p activityPage
			a.decode(t, &p)
			pages = append(pages, ids(p.Items))
			if p.NextBefore == nil {
				break
			}
			before = fmt.Sprintf("&before=%d", *p.NextBefore)
		}
		c := created
		want := [][]int64{{c[4], c[3]}, {c[2], c[1]}, {c[0]}}
		if fmt.Sprint(pages) != fmt.Sprint(want) {
			t.Errorf("pages %v, want %v", pages, want)
		}
		a = env.get(Prefix+"/customers/11/activities", env.write)
		if a.status != http.StatusOK || string(a.body) != `{"items":[],"next_before":null}`+"\n" {
			t.Errorf("a customer without activities: %d %s", a.status, a.body)
		}
		if a := env.get(Prefix+"/customers/99/activities", env.read); a.status != http.StatusNotFound || !a.problem(t).hasField("id") {
			t.Errorf("unknown customer: %d %s", a.status, a.body)
		}
		for _, q := range []string{"before=0", "before=x", "limit=0"} {
			a := env.get(Prefix+"/customers/10/activities?"+q, env.read)
			field, _, _ := strings.Cut(q, "=")
			if a.status != http.StatusBadRequest || !a.problem(t).hasField(field) {
				t.Errorf("%s: %d %s", q, a.status, a.body)
			}
		}
	})
}

// TestFeedNeverSkipsUnderConcurrentWriters: while many workers record
// messages (new activities and further mailboxes), a client pages through
// the feed with its cursor; when they are done it has seen every activity.
// On PostgreSQL, where sequence numbers are taken before commit.
func TestFeedNeverSkipsUnderConcurrentWriters(t *testing.T) {
	st := storetest.Open(t, store.Postgres)
	ctx := context.Background()
	seedReadCRM(t, st)
	env := newReadEnv(t, st, nil)
	const writers, perWriter = 8, 40
	var (
		mu      sync.Mutex
		created = map[int64]bool{}
		wg      sync.WaitGroup
		errs    = make(chan error, writers)
	)
	done := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				imid := fmt.Sprintf("<w%d-%d@schulz-technik.com>", w, i)
				res, err := st.RecordMessage(ctx, mail(1, fmt.Sprintf("AAMk-w%d-%d", w, i), imid, fmt.Sprintf("Mail %d/%d", w, i)))
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				created[res.ActivityID] = true
				mu.Unlock()
				if i%4 == 0 { // the same mail in Peter's mailbox: an update
					if _, err := st.RecordMessage(ctx, mail(2, fmt.Sprintf("AAMk-p-w%d-%d", w, i), imid, fmt.Sprintf("Mail %d/%d", w, i))); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	go func() { wg.Wait(); close(done) }()

	seen := map[int64]bool{}
	cursor, pages := "", 0
	reading := true
	for reading {
		select {
		case <-done:
			reading = false
		default:
		}
		p := env.feedPageOf(cursor, 7)
		pages++
		for _, a := range p.Items {
			seen[a.ID] = true
		}
		cursor = p.NextCursor
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(created) != writers*perWriter {
		t.Fatalf("%d activities created, want %d", len(created), writers*perWriter)
	}
	// The writers are done; what is left arrives once other transactions
	// on the server end.
	var missing []int64
	for id := range created {
		if !seen[id] {
			missing = append(missing, id)
		}
	}
	rest, _ := env.awaitFeed(cursor, 7, set(missing...))
	for _, a := range rest {
		seen[a.ID] = true
	}
	for id := range created {
		if !seen[id] {
			t.Errorf("activity %d was never in the feed", id)
		}
	}
	t.Logf("%d activities, %d pages read while writing, %d read after", len(created), pages, len(rest))
}

// TestDecisionsThroughTheAPI: the explain answer as data, by Graph ID and
// by internetMessageId; 404 for a message never seen, 400 without one.
func TestDecisionsThroughTheAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		seedReadCRM(t, st)
		env := newReadEnv(t, st, nil)
		res, err := st.RecordMessage(ctx, mail(1, "AAMk-1", "<m1@schulz-technik.com>", "Angebot"))
		if err != nil {
			t.Fatal(err)
		}
		ignored := mail(2, "AAMk-ign", "<spam@example.org>", "Newsletter")
		ignored.Decision = match.Decision{Outcome: match.OutcomeIgnored, Reason: match.ReasonNoMatch, Direction: match.DirectionInbound,
			Candidates: []string{"news@example.org", "info@example.org"}}
		if _, err := st.RecordMessage(ctx, ignored); err != nil {
			t.Fatal(err)
		}
		for _, msg := range []string{"AAMk-1", "%3Cm1@schulz-technik.com%3E"} {
			a := env.get(Prefix+"/decisions?message="+msg, env.read)
			var l decisionList
			a.decode(t, &l)
			if a.status != http.StatusOK || len(l.Items) != 1 {
				t.Fatalf("decisions about %s: %d %s", msg, a.status, a.body)
			}
			d := l.Items[0]
			if d.Outcome != "imported" || d.Reason != "matched" || d.Rule != match.RuleContactExact || d.EmployeeID != 1 ||
				d.GraphMessageID != "AAMk-1" || d.Folder != "Inbox" || d.CustomerID == nil || *d.CustomerID != 10 ||
				d.ActivityID == nil || *d.ActivityID != res.ActivityID || !slices.Equal(d.Candidates, []string{"sabine.schulz@schulz-technik.com"}) ||
				d.ReasonText == "" || !strings.Contains(d.Explanation, "a customer matched") || d.CreatedAt.IsZero() {
				t.Errorf("decision %+v", d)
			}
		}
		a := env.get(Prefix+"/decisions?message=AAMk-ign", env.write)
		var l decisionList
		a.decode(t, &l)
		if a.status != http.StatusOK || len(l.Items) != 1 || l.Items[0].Outcome != "ignored" || l.Items[0].Reason != "no_match" ||
			l.Items[0].CustomerID != nil || len(l.Items[0].Candidates) != 2 || !strings.Contains(l.Items[0].ReasonText, "no contact or customer") {
			t.Errorf("ignored decision: %d %s", a.status, a.body)
		}
		if a := env.get(Prefix+"/decisions?message=AAMk-never", env.read); a.status != http.StatusNotFound || !a.problem(t).hasField("message") {
			t.Errorf("unknown message: %d %s", a.status, a.body)
		}
		if a := env.get(Prefix+"/decisions", env.read); a.status != http.StatusBadRequest || !a.problem(t).hasField("message") {
			t.Errorf("no message: %d %s", a.status, a.body)
		}
	})
}
