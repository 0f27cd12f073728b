package store_test

import (
	"context"
	"strings"
	"testing"

	decisiontext "github.com/dedesales/exchange-connector/internal/explain"
	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// An imported mail moved into a folder whose mail is never imported keeps
// its decision and activity; the move (once, however often it is
// redelivered) is in the history. An ignored draft that is sent is decided
// again as before.
func TestImportedMailMovedAwayKeepsDecision(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, err := s.ImportCRM(ctx, sampleCRM()); err != nil {
			t.Fatal(err)
		}
		inbox := []model.FolderRef{{WellKnownName: "inbox", DisplayName: "Inbox"}}
		deleted := []model.FolderRef{{WellKnownName: "deleteditems", DisplayName: "Deleted Items"}}
		drafts := []model.FolderRef{{WellKnownName: "drafts", DisplayName: "Drafts"}}
		sent := []model.FolderRef{{WellKnownName: "sentitems", DisplayName: "Sent Items"}}
		excluded := match.Decision{Outcome: match.OutcomeIgnored, Reason: match.ReasonExcludedFolder}
		record := func(r store.MessageRecord) store.RecordResult {
			t.Helper()
			res, err := s.RecordMessage(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		msg := testMessage("AAkAL-moved", "<moved@schulz-technik.com>")
		first := record(store.MessageRecord{EmployeeID: 1, Message: msg, Folder: inbox, Decision: importedDecision(), Note: "notification"})
		for range 2 { // the move's notification, redelivered
			res := record(store.MessageRecord{EmployeeID: 1, Message: msg, Folder: deleted, Decision: excluded, Note: "notification"})
			if !res.MovedAway || res.Outcome != match.OutcomeImported || res.ActivityID != first.ActivityID || res.NewActivity {
				t.Errorf("moved away: %+v, want the kept import of activity %d", res, first.ActivityID)
			}
		}
		ds, err := s.DecisionsFor(ctx, msg.ID)
		if err != nil || len(ds) != 1 {
			t.Fatalf("decisions: %v %v", ds, err)
		}
		d := ds[0]
		if d.Outcome != match.OutcomeImported || d.Reason != match.ReasonMatched || d.Folder != "Deleted Items" || d.ActivityID == nil || *d.ActivityID != first.ActivityID {
			t.Errorf("decision after the move: %+v", d)
		}
		if got := strings.Join(kinds(t, s, 1, msg.ID), ","); got != "decided,moved" {
			t.Errorf("history %s, want decided,moved", got)
		}
		text := decisiontext.Event(d.History[1])
		if !strings.Contains(text, "moved from Inbox to Deleted Items") || !strings.Contains(text, "still imported") {
			t.Errorf("explained as %q", text)
		}
		if a, _, err := s.ActivityCount(ctx); err != nil || a != 1 {
			t.Errorf("%d activities (%v), want 1", a, err)
		}

		// Drafts → Sent Items: an ignored draft is decided again and imported.
		draft := testMessage("AAkAL-draft", "<draft@dedenet.de>")
		record(store.MessageRecord{EmployeeID: 1, Message: draft, Folder: drafts, Decision: excluded, Note: "notification"})
		res := record(store.MessageRecord{EmployeeID: 1, Message: draft, Folder: sent, Decision: importedDecision(), Note: "notification"})
		if res.MovedAway || res.Outcome != match.OutcomeImported || !res.NewActivity {
			t.Errorf("sent draft: %+v", res)
		}
		if got := strings.Join(kinds(t, s, 1, draft.ID), ","); got != "decided,redecided" {
			t.Errorf("draft history %s", got)
		}

		// A move that changed the ID: the new ID is ignored there, the
		// imported decision of the old one records the move.
		orig := testMessage("AAkAL-orig", "<changed@schulz-technik.com>")
		imp := record(store.MessageRecord{EmployeeID: 1, Message: orig, Folder: inbox, Decision: importedDecision(), Note: "notification"})
		moved := testMessage("AAkAL-new", "<changed@schulz-technik.com>")
		if res := record(store.MessageRecord{EmployeeID: 1, Message: moved, Folder: deleted, Decision: excluded, Note: "notification"}); res.Outcome != match.OutcomeIgnored {
			t.Errorf("new ID in Deleted Items: %+v", res)
		}
		ds, err = s.DecisionsFor(ctx, orig.ID)
		if err != nil || len(ds) != 1 || ds[0].Outcome != match.OutcomeImported || ds[0].Folder != "Deleted Items" || *ds[0].ActivityID != imp.ActivityID {
			t.Fatalf("original after a move under a new ID: %+v %v", ds, err)
		}
		if got := strings.Join(kinds(t, s, 1, orig.ID), ","); got != "decided,moved" {
			t.Errorf("original's history %s, want decided,moved", got)
		}
		// Another employee's copy is not this mailbox's move.
		if got := strings.Join(kinds(t, s, 2, orig.ID), ","); got != "" {
			t.Errorf("employee 2 history %q", got)
		}
	})
}
