package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/dedesales/exchange-connector/internal/graphsim"
	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// A mail that reaches a mailbox becomes an activity at the right customer,
// through notification, webhook, queue, Graph fetch, matching and SQL.
func TestMailBecomesActivity(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			s := newStack(t, dialect)
			// Already in the mailbox before the connector starts: the backfill imports it.
			old, err := s.sim.CreateMessage(graphsim.MessageInput{Mailbox: anna, Folder: "inbox", Notify: new(bool),
				Message: map[string]any{"subject": "Rückfrage Wartung", "from": from("sabine.schulz@schulz-technik.com"), "toRecipients": to(anna)}})
			if err != nil {
				t.Fatal(err)
			}
			s.start(t)
			if d := s.decision(t, old.ID); d.Outcome != match.OutcomeImported || d.Rule != match.RuleContactExact {
				t.Errorf("backfilled mail: %+v", d)
			}

			m := s.mail(t, anna, "inbox", map[string]any{"subject": "AW: Angebot Dachsanierung",
				"from": from("T.Mueller@Mueller-Bau.de"), "toRecipients": to(anna)})
			d := s.decision(t, m.ID)
			if d.Outcome != match.OutcomeImported || d.Rule != match.RuleContactExact || d.CustomerID == nil || *d.CustomerID != 2 ||
				d.ContactID == nil || *d.ContactID != 5 || d.LeadID == nil || *d.LeadID != 4 || d.ActivityID == nil || d.Folder != "Inbox" {
				t.Errorf("decision: %+v", d)
			}
			junk := s.mail(t, anna, "junkemail", map[string]any{"subject": "Gewinn!", "from": from("t.mueller@mueller-bau.de")})
			if d := s.decision(t, junk.ID); d.Outcome != match.OutcomeIgnored || d.Reason != match.ReasonExcludedFolder {
				t.Errorf("junk: %+v", d)
			}
			if a, _ := s.activities(t); a != 2 {
				t.Errorf("%d activities, want 2", a)
			}
			metrics := s.getInternal(t, "/metrics")
			for _, want := range []string{
				`connector_match_decisions_total{outcome="imported",reason="matched"} 2`,
				`connector_match_decisions_total{outcome="ignored",reason="excluded_folder"} 1`,
				`connector_tasks_processed_total{outcome="ok",type="message:process"}`,
				`connector_graph_requests_total{status="200"}`,
				`connector_webhook_received_total{kind="notification"}`,
				// Read at scrape time (queues, mailboxes, readiness) and the
				// notification's latency: what the dashboard and alerts query.
				`connector_queue_tasks{queue="critical",state="pending"}`,
				`connector_queue_latency_seconds{queue="default"}`,
				`connector_mailboxes{state="enabled"}`,
				`connector_mailboxes_in_error{kind="subscription_failed"} 0`,
				`connector_ready{check="database"} 1`,
				`connector_notification_to_decision_seconds_count`,
			} {
				if !strings.Contains(metrics, want) {
					t.Errorf("/metrics lacks %s", want)
				}
			}
			if strings.Contains(metrics, anna) || strings.Contains(metrics, peter) {
				t.Error("/metrics names a mailbox")
			}
			// Metrics and readiness are not on the public listener (security review, issue 14).
			if code, _ := fetch(t, s.cfg.PublicURL+"/metrics"); code != http.StatusNotFound {
				t.Errorf("public /metrics: %d, want 404", code)
			}
			if code, body := fetch(t, s.cfg.PublicURL+"/readyz"); code != http.StatusOK || strings.Contains(body, "redis") {
				t.Errorf("public /readyz: %d %q, want 200 naming nothing", code, body)
			}
			if code, _ := fetch(t, s.internalURL+"/readyz"); code != http.StatusOK {
				t.Errorf("internal /readyz: %d", code)
			}
			if code, _ := fetch(t, s.cfg.PublicURL+"/healthz"); code != http.StatusOK {
				t.Errorf("public /healthz: %d", code)
			}
		})
	}
}

// Graph delivers at least once: a storm of duplicate notifications makes one activity.
func TestDuplicateNotificationStorm(t *testing.T) {
	s := newStack(t, store.SQLite)
	s.start(t)
	s.sim.SetFaults(graphsim.Faults{DuplicateNotifications: 25})
	var ids []string
	for i := range 5 {
		m := s.mail(t, anna, "inbox", map[string]any{"subject": "Lieferung " + string(rune('A'+i)), "from": from("sabine.schulz@schulz-technik.com")})
		ids = append(ids, m.ID)
	}
	for _, id := range ids {
		s.decision(t, id)
	}
	s.queueDrained(t)
	if a, l := s.activities(t); a != 5 || l != 5 {
		t.Errorf("%d activities, %d links after a duplicate storm; want 5, 5", a, l)
	}
	if st := s.sim.State().Notifications; st.Duplicates == 0 {
		t.Errorf("the simulator sent no duplicates: %+v", st)
	}
}

// A draft is notified in Drafts (ignored), then sent: the copy in Sent Items is imported.
func TestDraftThenSent(t *testing.T) {
	s := newStack(t, store.SQLite)
	s.start(t)
	draft := s.mail(t, anna, "drafts", map[string]any{"subject": "Angebot 2026-118", "isDraft": true,
		"from": from(anna), "toRecipients": to("t.mueller@mueller-bau.de")})
	if d := s.decision(t, draft.ID); d.Reason != match.ReasonExcludedFolder {
		t.Errorf("draft: %+v", d)
	}
	if err := s.sim.UpdateMessage(draft.ID, map[string]any{"isDraft": false}); err != nil {
		t.Fatal(err)
	}
	sentID, err := s.sim.MoveMessage(draft.ID, "sentitems")
	if err != nil {
		t.Fatal(err)
	}
	// Immutable IDs: the copy in Sent Items has the draft's ID, so wait for
	// the decision to reach the new folder.
	var d store.Decision
	s.waitFor(t, "the sent mail decided", func() bool { d = s.decision(t, sentID); return d.Folder == "Sent Items" })
	if d.Outcome != match.OutcomeImported || d.Direction != match.DirectionOutbound || *d.CustomerID != 2 {
		t.Errorf("sent: %+v", d)
	}
}

// Moving an imported mail to another folder notifies again; it stays one activity.
func TestMoveBetweenFolders(t *testing.T) {
	s := newStack(t, store.SQLite)
	s.start(t)
	m := s.mail(t, anna, "inbox", map[string]any{"subject": "Termin", "from": from("sabine.schulz@schulz-technik.com")})
	s.decision(t, m.ID)
	moved, err := s.sim.MoveMessage(m.ID, "inbox/Kunden/Schulz")
	if err != nil {
		t.Fatal(err)
	}
	// Immutable IDs: the moved mail keeps its ID; wait for the move.
	var d store.Decision
	s.waitFor(t, "the move recorded", func() bool { d = s.decision(t, moved); return d.Folder == "Inbox/Kunden/Schulz" })
	if d.Outcome != match.OutcomeImported || d.Folder != "Inbox/Kunden/Schulz" {
		t.Errorf("moved: %+v", d)
	}
	if a, _ := s.activities(t); a != 1 {
		t.Errorf("%d activities after a move, want 1", a)
	}
}

// One e-mail in two employees' mailboxes: one activity, two links.
func TestMailInTwoMailboxes(t *testing.T) {
	s := newStack(t, store.Postgres)
	s.start(t)
	msg := map[string]any{"subject": "Projektbesprechung", "internetMessageId": "<meeting-1@schulz-technik.com>",
		"from": from("sabine.schulz@schulz-technik.com"), "toRecipients": to(anna, peter)}
	a := s.mail(t, anna, "inbox", msg)
	p := s.mail(t, peter, "inbox", msg)
	da, dp := s.decision(t, a.ID), s.decision(t, p.ID)
	outcomes := map[string]int{da.Outcome: 1}
	outcomes[dp.Outcome]++
	if outcomes[match.OutcomeImported] != 1 || outcomes[match.OutcomeDuplicate] != 1 || *da.ActivityID != *dp.ActivityID {
		t.Errorf("decisions: %+v / %+v", da, dp)
	}
	if n, l := s.activities(t); n != 1 || l != 2 {
		t.Errorf("%d activities, %d links; want 1, 2", n, l)
	}
}

// Dropped notifications followed by "missed": the sync finds the mail.
func TestMissedNotificationsAreCaughtUp(t *testing.T) {
	s := newStack(t, store.SQLite)
	s.start(t)
	s.sim.SetFaults(graphsim.Faults{DropNotifications: -1})
	m := s.mail(t, anna, "inbox", map[string]any{"subject": "Verloren?", "from": from("sabine.schulz@schulz-technik.com")})
	if n, _ := s.sim.SendLifecycle(anna, "", "missed"); n != 1 {
		t.Fatalf("lifecycle events sent: %d", n)
	}
	if d := s.decision(t, m.ID); d.Outcome != match.OutcomeImported || d.Note != "delta" {
		t.Errorf("caught up: %+v", d)
	}
}

// subscriptionRemoved: a new subscription is created and the mailbox synced;
// reauthorizationRequired: the subscription is reauthorized and kept.
func TestLifecycleRemovedAndReauthorize(t *testing.T) {
	s := newStack(t, store.SQLite)
	s.start(t)
	ctx := context.Background()
	emp := mailboxID(t, s, anna)
	before, err := s.st.SubscriptionOf(ctx, emp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.sim.SendLifecycle(anna, before.GraphID, "reauthorizationRequired"); err != nil {
		t.Fatal(err)
	}
	s.queueDrained(t)
	if after, _ := s.st.SubscriptionOf(ctx, emp); after.GraphID != before.GraphID {
		t.Errorf("reauthorization replaced the subscription: %s → %s", before.GraphID, after.GraphID)
	}
	if _, err := s.sim.SendLifecycle(anna, before.GraphID, "subscriptionRemoved"); err != nil {
		t.Fatal(err)
	}
	s.waitFor(t, "a new subscription", func() bool {
		after, err := s.st.SubscriptionOf(ctx, emp)
		return err == nil && after.GraphID != before.GraphID && after.Status == store.SubscriptionActive
	})
	m := s.mail(t, anna, "inbox", map[string]any{"subject": "Nach dem Neuanlegen", "from": from("sabine.schulz@schulz-technik.com")})
	if d := s.decision(t, m.ID); d.Outcome != match.OutcomeImported {
		t.Errorf("mail after recreation: %+v", d)
	}
}

func mailboxID(t testing.TB, s *stack, address string) int64 {
	t.Helper()
	mb, err := s.st.FindMailbox(context.Background(), address)
	if err != nil {
		t.Fatal(err)
	}
	return mb.EmployeeID
}

// A 429 storm slows the pipeline down but loses nothing: throttled
// requests give their mailbox slot back (kiota's retry handler does not
// close a 429's body; the transport must not wait for it).
func TestThrottleStormLosesNothing(t *testing.T) {
	s := newStack(t, store.SQLite)
	s.start(t)
	s.sim.SetFaults(graphsim.Faults{ThrottleEveryN: 2, RetryAfterSeconds: 1})
	var ids []string
	for i := range 16 {
		m := s.mail(t, []string{anna, peter}[i%2], "inbox", map[string]any{"subject": "Drossel " + string(rune('A'+i)), "from": from("sabine.schulz@schulz-technik.com")})
		ids = append(ids, m.ID)
	}
	for _, id := range ids {
		if d := s.decision(t, id); d.Outcome != match.OutcomeImported {
			t.Errorf("%s: %+v", id, d)
		}
	}
	if n := s.sim.State().Requests.ByStatus["429"]; n < 8 {
		t.Errorf("only %d requests were throttled: the storm did not happen", n)
	}
}
