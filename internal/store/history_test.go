package store_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	decisiontext "github.com/dedesales/exchange-connector/internal/explain"
	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

func kinds(t *testing.T, s *store.Store, employeeID int64, messageID string) []string {
	t.Helper()
	h, err := s.DecisionHistory(context.Background(), employeeID, messageID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range h {
		out = append(out, e.Kind)
	}
	return out
}

// TestDecisionHistory: every event is recorded once, however often the task
// that causes it runs, and nothing is overwritten.
func TestDecisionHistory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, err := s.ImportCRM(ctx, sampleCRM()); err != nil {
			t.Fatal(err)
		}
		inbox := []model.FolderRef{{WellKnownName: "inbox", DisplayName: "Inbox"}}
		kunden := append(inbox, model.FolderRef{DisplayName: "Kunden"})
		msg := testMessage("AAMk-h1", "<h1@schulz-technik.com>")
		noMatch := match.Decision{Outcome: match.OutcomeIgnored, Reason: match.ReasonNoMatch, Direction: match.DirectionInbound,
			Candidates: []string{"x@unknown.example"}, RawCandidates: []string{"x@unknown.example"}}
		record := func(r store.MessageRecord) store.RecordResult {
			t.Helper()
			res, err := s.RecordMessage(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		// Decided, by several workers at once (a redelivered notification).
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.RecordMessage(ctx, store.MessageRecord{EmployeeID: 1, Message: msg, Folder: inbox, Decision: noMatch, Note: "notification"}); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		// A retry and a sweep: the same verdict in the same folder.
		record(store.MessageRecord{EmployeeID: 1, Message: msg, Folder: inbox, Decision: noMatch, Note: "delta"})
		// Moved by the user: same verdict, other folder.
		record(store.MessageRecord{EmployeeID: 1, Message: msg, Folder: kunden, Decision: noMatch, Note: "notification"})
		// Imported retroactively after a contact was added; the task runs twice.
		cause := "contact 100 saved (api) at 2026-11-29T13:00:00Z"
		var res store.RecordResult
		for range 2 {
			res = record(store.MessageRecord{EmployeeID: 1, Message: msg, Folder: kunden, Decision: importedDecision(), Note: "rematch", Cause: cause})
		}
		// Its attachment filed (twice: a retry) and moved; two notes, one repeated.
		doc := store.Document{CustomerID: 10, ActivityID: res.ActivityID, SourceKey: "k1", Path: "10001/E-Mail Attachments/a.pdf", Name: "a.pdf", Size: 3}
		for range 2 {
			if err := s.RecordDocument(ctx, doc); err != nil {
				t.Fatal(err)
			}
			if err := s.AddDecisionNote(ctx, 1, msg.ID, `attachment "big.zip" (9 bytes) not filed: above max_attachment_bytes (5)`); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.MoveDocument(ctx, 10, doc.Path, "10001/E-Mail Attachments/sub/a.pdf"); err != nil {
			t.Fatal(err)
		}
		want := []string{store.EventDecided, store.EventMoved, store.EventRetroactive, store.EventFileFiled, store.EventNote, store.EventFileMoved}
		if diff := cmp.Diff(want, kinds(t, s, 1, msg.ID)); diff != "" {
			t.Errorf("history (-want +got):\n%s", diff)
		}
		ds, err := s.DecisionsFor(ctx, msg.ID)
		if err != nil || len(ds) != 1 {
			t.Fatalf("decisions: %v %v", ds, err)
		}
		if d := ds[0].History[2].ParsedDetail(); d.Cause != cause || d.FromReason != match.ReasonNoMatch || d.ActivityID == nil || *d.ActivityID != res.ActivityID {
			t.Errorf("retroactive event: %+v", d)
		}
		text := decisiontext.Decision(ds[0])
		for _, w := range []string{
			"decided ignored (no_match) in Inbox via notification",
			"moved from Inbox to Inbox/Kunden via notification; still ignored (no_match)",
			"imported retroactively after a change (" + cause + "): imported (matched, contact_exact, customer 10), was no_match",
			"attachment filed: 10001/E-Mail Attachments/a.pdf (3 bytes)",
			`attachment "big.zip" (9 bytes) not filed`,
			"attachment moved: 10001/E-Mail Attachments/a.pdf → 10001/E-Mail Attachments/sub/a.pdf",
		} {
			if !strings.Contains(text, w) {
				t.Errorf("explain lacks %q:\n%s", w, text)
			}
		}
		// Moved into junk after the import: the import stays (issue 13,
		// item 4) and the move is recorded, once.
		junk := []model.FolderRef{{WellKnownName: "junkemail", DisplayName: "Junk"}}
		for range 2 {
			record(store.MessageRecord{EmployeeID: 1, Message: msg, Folder: junk,
				Decision: match.Decision{Outcome: match.OutcomeIgnored, Reason: match.ReasonExcludedFolder}, Note: "notification"})
		}
		if got := kinds(t, s, 1, msg.ID); len(got) != len(want)+1 || got[len(want)] != store.EventMoved {
			t.Errorf("after the move into junk: %v", got)
		}
		// Decided again with another verdict: redecided, once.
		for range 2 {
			record(store.MessageRecord{EmployeeID: 1, Message: msg, Folder: junk,
				Decision: match.Decision{Outcome: match.OutcomeIgnored, Reason: match.ReasonIgnoredDomain}, Note: "notification"})
		}
		if got := kinds(t, s, 1, msg.ID); len(got) != len(want)+2 || got[len(want)+1] != store.EventRedecided {
			t.Errorf("after the redecision: %v", got)
		}
		hit, err := s.DecisionByID(ctx, ds[0].ID)
		if err != nil || len(hit.History) != len(want)+2 {
			t.Errorf("DecisionByID history: %d events, %v", len(hit.History), err)
		}
	})
}
