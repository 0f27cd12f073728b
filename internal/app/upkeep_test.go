package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/alert"
	"github.com/dedesales/exchange-connector/internal/clientstate"
	"github.com/dedesales/exchange-connector/internal/graph"
	"github.com/dedesales/exchange-connector/internal/graphsim"
	"github.com/dedesales/exchange-connector/internal/queue"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/jobs"
)

// The upkeep creates, renews, recreates and deletes subscriptions as the
// (simulated) clock moves on; Graph's clock and the processor's are the
// simulator's, so days pass in milliseconds.
func TestSubscriptionUpkeepWithFakeClock(t *testing.T) {
	s := newStack(t, store.SQLite)
	ctx := context.Background()
	client, err := graph.New(graph.Config{Credentials: graph.Fixed{TenantID: tenantID, ClientID: clientID, Secrets: []graph.Secret{{ID: 1, Value: secretV}}},
		AuthorityURL: s.sim.URL, GraphURL: s.sim.GraphURL(), ExtraCAFile: s.cfg.ExtraCAFile})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := clientstate.NewKeys(s.key.Derive("clientstate"))
	if err != nil {
		t.Fatal(err)
	}
	opt, _ := asynq.ParseRedisURI(s.redisURL)
	enq := asynq.NewClient(opt)
	defer enq.Close()
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	// A subscriber that answers the validation handshake, as the web role does.
	public := handshakeServer(t)
	p := jobs.NewHandlers(jobs.Deps{Store: s.st, Graph: client, Enqueuer: enq, Keys: keys, PublicURL: public, Now: s.sim.Now})
	emp := mailboxID(t, s, anna)
	ensure := func() {
		t.Helper()
		if err := p.EnsureSubscriptions.ProcessTask(ctx, asynq.NewTask(queue.TypeEnsureSubscriptions, nil)); err != nil {
			t.Fatal(err)
		}
	}
	syncReasons := func() map[string]int {
		out := map[string]int{}
		tasks, _ := insp.ListPendingTasks(queue.QueueDefault)
		for _, tk := range tasks {
			var pl queue.SyncMailboxPayload
			if json.Unmarshal(tk.Payload, &pl) == nil && pl.EmployeeID == emp {
				out[pl.Reason]++
			}
		}
		return out
	}

	ensure()
	first, err := s.st.SubscriptionOf(ctx, emp)
	if err != nil {
		t.Fatal(err)
	}
	if d := first.ExpiresAt.Sub(s.sim.Now()); d < 6*24*time.Hour || d > 7*24*time.Hour {
		t.Errorf("new subscription lives %v", d)
	}
	if syncReasons()["backfill"] != 1 {
		t.Errorf("no backfill sync enqueued: %v", syncReasons())
	}

	s.sim.AdvanceClock(5*24*time.Hour + 18*time.Hour) // under 24 h left
	ensure()
	renewed, _ := s.st.SubscriptionOf(ctx, emp)
	if renewed.GraphID != first.GraphID || !renewed.ExpiresAt.After(first.ExpiresAt) {
		t.Errorf("not renewed: %+v → %+v", first, renewed)
	}

	s.sim.AdvanceClock(8 * 24 * time.Hour) // lapsed while the connector was down
	ensure()
	recreated, _ := s.st.SubscriptionOf(ctx, emp)
	if recreated.GraphID == first.GraphID || recreated.Status != store.SubscriptionActive {
		t.Errorf("not recreated: %+v", recreated)
	}
	if syncReasons()["recreated"] != 1 {
		t.Errorf("no catch-up sync after recreating: %v", syncReasons())
	}

	if err := s.st.SetMailboxDisabled(ctx, emp, true); err != nil {
		t.Fatal(err)
	}
	ensure()
	if _, err := s.st.SubscriptionOf(ctx, emp); err == nil {
		t.Error("subscription of a disabled mailbox kept")
	}
	for _, sub := range s.sim.State().Subscriptions {
		if sub.ID == recreated.GraphID {
			t.Error("subscription of a disabled mailbox not deleted at Graph")
		}
	}
}

// When a subscription cannot be made (here: nothing answers the handshake),
// the mailbox still gets its safety-net sync.
func TestUpkeepSyncsWhenSubscribingFails(t *testing.T) {
	s := newStack(t, store.SQLite)
	ctx := context.Background()
	client, err := graph.New(graph.Config{Credentials: graph.Fixed{TenantID: tenantID, ClientID: clientID, Secrets: []graph.Secret{{ID: 1, Value: secretV}}},
		AuthorityURL: s.sim.URL, GraphURL: s.sim.GraphURL(), ExtraCAFile: s.cfg.ExtraCAFile})
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := clientstate.NewKeys(s.key.Derive("clientstate"))
	opt, _ := asynq.ParseRedisURI(s.redisURL)
	enq := asynq.NewClient(opt)
	defer enq.Close()
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	p := jobs.NewHandlers(jobs.Deps{Store: s.st, Graph: client, Enqueuer: enq, Keys: keys, PublicURL: "http://127.0.0.1:1", Now: s.sim.Now})
	if err := p.EnsureSubscriptions.ProcessTask(ctx, asynq.NewTask(queue.TypeEnsureSubscriptions, nil)); err == nil {
		t.Error("upkeep reported no error although no subscription could be made")
	}
	tasks, _ := insp.ListPendingTasks(queue.QueueDefault)
	if len(tasks) != 2 {
		t.Errorf("%d sync tasks pending, want one per mailbox", len(tasks))
	}
	row, err := s.st.SubscriptionOf(ctx, mailboxID(t, s, anna))
	if err != nil || row.Status != store.SubscriptionFailed {
		t.Errorf("subscription row: %+v, %v", row, err)
	}
}

// A mailbox outside the access policy is marked and alerted; once the
// policy lets the app in (the simulator's 403 fault turned off) the upkeep's
// own re-check, 15 minutes later, subscribes and resumes it and the alert
// is cleared, without an operator.
func TestDeniedMailboxResumesWhenAccessAppears(t *testing.T) {
	s := newStack(t, store.SQLite)
	ctx := context.Background()
	s.st.SetClock(s.sim.Now)
	client, err := graph.New(graph.Config{Credentials: graph.Fixed{TenantID: tenantID, ClientID: clientID, Secrets: []graph.Secret{{ID: 1, Value: secretV}}},
		AuthorityURL: s.sim.URL, GraphURL: s.sim.GraphURL(), ExtraCAFile: s.cfg.ExtraCAFile})
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := clientstate.NewKeys(s.key.Derive("clientstate"))
	opt, _ := asynq.ParseRedisURI(s.redisURL)
	enq := asynq.NewClient(opt)
	defer enq.Close()
	if err := s.st.SetSetting(ctx, "alert_recipients", "ops@dedenet.de"); err != nil {
		t.Fatal(err)
	}
	bag := &mailbag{}
	p := jobs.NewHandlers(jobs.Deps{Store: s.st, Graph: client, Enqueuer: enq, Keys: keys, PublicURL: handshakeServer(t), Now: s.sim.Now,
		Alerts: alert.NewAlerter(s.st, bag, nil)})
	emp := mailboxID(t, s, peter)
	ensure := func() {
		t.Helper()
		if err := p.EnsureSubscriptions.ProcessTask(ctx, asynq.NewTask(queue.TypeEnsureSubscriptions, nil)); err != nil {
			t.Fatal(err)
		}
	}
	health := func() []string {
		t.Helper()
		if err := p.Health.ProcessTask(ctx, asynq.NewTask(queue.TypeHealthCheck, nil)); err != nil {
			t.Fatal(err)
		}
		return bag.take()
	}
	peterSubs := func() int {
		n := 0
		for _, sub := range s.sim.State().Subscriptions {
			if strings.Contains(strings.ToLower(sub.Resource), peter) {
				n++
			}
		}
		return n
	}

	s.sim.SetFaults(graphsim.Faults{AllowedMailboxes: []string{anna}})
	ensure()
	mb, err := s.st.MailboxByEmployee(ctx, emp)
	if err != nil || mb.State() != store.MailboxAccessDenied || !strings.Contains(mb.LastError, "Access to OData is disabled") {
		t.Fatalf("outside the policy: %+v, %v", mb, err)
	}
	if mails := health(); len(mails) != 1 || !strings.Contains(mails[0], peter) {
		t.Errorf("access-denied alert: %q", mails)
	}

	s.sim.SetFaults(graphsim.Faults{}) // the admin's policy change took effect
	ensure()                           // the re-check is not due yet
	if mb, _ := s.st.MailboxByEmployee(ctx, emp); mb.State() != store.MailboxAccessDenied || peterSubs() != 0 {
		t.Errorf("re-checked before it was due: %s, %d subscriptions", mb.State(), peterSubs())
	}
	s.sim.AdvanceClock(16 * time.Minute)
	ensure()
	if mb, _ := s.st.MailboxByEmployee(ctx, emp); !mb.Syncable() || mb.LastError != "" {
		t.Errorf("not resumed: %+v", mb)
	}
	if row, err := s.st.SubscriptionOf(ctx, emp); err != nil || row.Status != store.SubscriptionActive || peterSubs() != 1 {
		t.Errorf("subscription after resuming: %+v, %v, %d at Graph", row, err, peterSubs())
	}
	if mails := health(); len(mails) != 1 || !strings.Contains(mails[0], peter) {
		t.Errorf("recovery mail: %q", mails)
	}
}
