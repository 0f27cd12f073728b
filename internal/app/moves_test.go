package app_test

import (
	"context"
	"strings"
	"testing"

	"github.com/dedesales/exchange-connector/internal/graphsim"
	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// An imported mail that the user later moves to Deleted Items or Archive
// stays imported (issue 13, item 4): with immutable IDs Graph notifies the
// same ID in the new folder ("created", graph.md §9 item 2), and the
// connector records the move in the decision's history instead of
// rewriting the decision to excluded_folder. The activity stays one, and a
// later delta round (the source folder reports the message @removed)
// changes nothing.
func TestImportedMailMovedAwayStaysImported(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			s := newStack(t, dialect)
			s.start(t)
			for _, c := range []struct{ folder, name string }{{"deleteditems", "Deleted Items"}, {"archive", "Archive"}} {
				m := s.mail(t, anna, "inbox", map[string]any{"subject": "Angebot " + c.name, "from": from("sabine.schulz@schulz-technik.com"), "toRecipients": to(anna)})
				before := s.decision(t, m.ID)
				if before.Outcome != match.OutcomeImported || before.ActivityID == nil {
					t.Fatalf("%s: before the move: %+v", c.name, before)
				}
				mv, err := s.sim.Move(m.ID, c.folder)
				if err != nil {
					t.Fatal(err)
				}
				if mv.ID != m.ID {
					t.Fatalf("the simulator changed the immutable ID on a move: %s → %s", m.ID, mv.ID)
				}
				var d store.Decision
				s.waitFor(t, "the move to "+c.name+" recorded", func() bool {
					d = s.decision(t, m.ID)
					return d.Folder == c.name
				})
				if d.Outcome != match.OutcomeImported || d.Reason != before.Reason || d.ActivityID == nil || *d.ActivityID != *before.ActivityID {
					t.Errorf("%s: after the move the decision is %s (%s), activity %v; want it still imported (%s), activity %d",
						c.name, d.Outcome, d.Reason, d.ActivityID, before.Reason, *before.ActivityID)
				}
				var moved *store.EventDetail
				for _, e := range d.History {
					if e.Kind == store.EventMoved {
						det := e.ParsedDetail()
						moved = &det
					}
				}
				if moved == nil || moved.FromFolder != "Inbox" || moved.Folder != c.name || moved.Outcome != match.OutcomeImported {
					t.Errorf("%s: history lacks the move: %+v", c.name, d.History)
				}
			}
			// A delta round after the moves: Inbox reports both @removed.
			if n, _ := s.sim.SendLifecycle(anna, "", "missed"); n != 1 {
				t.Fatalf("lifecycle events sent: %d", n)
			}
			s.queueDrained(t)
			if a, l := s.activities(t); a != 2 || l != 2 {
				t.Errorf("%d activities, %d links after the moves; want 2, 2", a, l)
			}
			if m := s.getInternal(t, "/metrics"); !strings.Contains(m, `connector_match_decisions_total{outcome="imported",reason="moved_away"}`) ||
				strings.Contains(m, `connector_match_decisions_total{outcome="ignored",reason="excluded_folder"}`) {
				t.Error("/metrics does not count the moves as moved_away (or counts them as excluded_folder)")
			}
		})
	}
}

// A draft that is sent keeps working with immutable IDs: the draft's ID
// finds the copy in Sent Items (outlook-immutable-id.md, "Immutable ID with
// sending mail"), which becomes an activity once.
func TestDraftSentKeepsIDAndImportsOnce(t *testing.T) {
	s := newStack(t, store.SQLite)
	s.start(t)
	draft := s.mail(t, anna, "drafts", map[string]any{"subject": "Angebot 2026-119", "isDraft": true,
		"from": from(anna), "toRecipients": to("t.mueller@mueller-bau.de")})
	if d := s.decision(t, draft.ID); d.Reason != match.ReasonExcludedFolder {
		t.Errorf("draft: %+v", d)
	}
	if err := s.sim.UpdateMessage(draft.ID, map[string]any{"isDraft": false}); err != nil {
		t.Fatal(err)
	}
	mv, err := s.sim.Move(draft.ID, "sentitems")
	if err != nil {
		t.Fatal(err)
	}
	if mv.ID != draft.ID {
		t.Fatalf("sending changed the immutable ID: %s → %s", draft.ID, mv.ID)
	}
	var d store.Decision
	s.waitFor(t, "the sent mail decided", func() bool {
		d = s.decision(t, draft.ID)
		return d.Folder == "Sent Items"
	})
	if d.Outcome != match.OutcomeImported || d.Direction != match.DirectionOutbound {
		t.Errorf("sent: %+v", d)
	}
	if n, _ := s.sim.SendLifecycle(anna, "", "missed"); n != 1 {
		t.Fatalf("lifecycle events sent: %d", n)
	}
	s.queueDrained(t)
	if a, _ := s.activities(t); a != 1 {
		t.Errorf("%d activities, want 1", a)
	}
	var kinds []string
	for _, e := range s.decision(t, draft.ID).History {
		kinds = append(kinds, e.Kind)
	}
	if strings.Join(kinds, ",") != store.EventDecided+","+store.EventRedecided {
		t.Errorf("history %v, want decided (draft), redecided (sent)", kinds)
	}
}

// A move that changed the ID anyway (reported for drag and drop in Outlook
// desktop even with ImmutableId, microsoft-graph-docs#21247): Graph shows a
// new message with the same internetMessageId in Deleted Items and the old
// one gone. The imported decision stays, its history names the move, and
// no second activity appears.
func TestMoveWithChangedIDStaysImported(t *testing.T) {
	s := newStack(t, store.SQLite)
	s.start(t)
	msg := map[string]any{"subject": "Rechnung 4711", "internetMessageId": "<rechnung-4711@schulz-technik.com>",
		"from": from("sabine.schulz@schulz-technik.com"), "toRecipients": to(anna)}
	m := s.mail(t, anna, "inbox", msg)
	before := s.decision(t, m.ID)
	if before.Outcome != match.OutcomeImported {
		t.Fatalf("before: %+v", before)
	}
	if err := s.sim.DeleteMessage(m.ID); err != nil {
		t.Fatal(err)
	}
	copyMsg := s.mail(t, anna, "deleteditems", msg)
	if copyMsg.ID == m.ID {
		t.Fatal("same ID")
	}
	s.decision(t, copyMsg.ID)
	s.queueDrained(t)
	d := s.decision(t, m.ID)
	if d.Outcome != match.OutcomeImported || d.ActivityID == nil || *d.ActivityID != *before.ActivityID {
		t.Errorf("the original decision changed: %+v", d)
	}
	found := false
	for _, e := range d.History {
		if det := e.ParsedDetail(); e.Kind == store.EventMoved && det.Folder == "Deleted Items" && det.FromFolder == "Inbox" {
			found = true
		}
	}
	if !found {
		t.Errorf("history of the imported decision lacks the move: %+v", d.History)
	}
	if a, _ := s.activities(t); a != 1 {
		t.Errorf("%d activities, want 1", a)
	}
}

// The activity's text is the body as text: the connector asks Graph for
// text bodies (Prefer: outlook.body-content-type="text") on the
// notification, delta and list paths, and the simulator, like Graph, sends
// HTML otherwise.
func TestActivityBodyIsText(t *testing.T) {
	s := newStack(t, store.SQLite)
	old, err := s.sim.CreateMessage(graphsim.MessageInput{Mailbox: anna, Folder: "inbox", Notify: new(bool), Message: map[string]any{
		"subject": "Backfill HTML", "from": from("sabine.schulz@schulz-technik.com"),
		"body": map[string]any{"contentType": "html", "content": "<html><body><p>Guten Tag,</p><p>anbei &amp; mit Gr&uuml;&szlig;en</p></body></html>"}}})
	if err != nil {
		t.Fatal(err)
	}
	s.start(t)
	m := s.mail(t, anna, "inbox", map[string]any{"subject": "Notified HTML", "from": from("sabine.schulz@schulz-technik.com"),
		"body": map[string]any{"contentType": "html", "content": "<div>Termin <b>Dienstag</b><br>10 Uhr</div>"}})
	for id, want := range map[string]string{old.ID: "Guten Tag,\nanbei & mit Grüßen", m.ID: "Termin Dienstag\n10 Uhr"} {
		d := s.decision(t, id)
		if d.ActivityID == nil {
			t.Fatalf("not imported: %+v", d)
		}
		a, err := s.st.FeedActivityByID(context.Background(), *d.ActivityID)
		if err != nil {
			t.Fatal(err)
		}
		if a.BodyText != want {
			t.Errorf("%s: body_text %q, want %q", d.Subject, a.BodyText, want)
		}
	}
}
