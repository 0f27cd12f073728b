package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/alert"
	"github.com/dedesales/exchange-connector/internal/clientstate"
	"github.com/dedesales/exchange-connector/internal/crmfile"
	"github.com/dedesales/exchange-connector/internal/documents"
	"github.com/dedesales/exchange-connector/internal/grapherr"
	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/queue"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// One test per handler type, each built by NewHandlers on the real store
// (SQLite and PostgreSQL) with the scripted Graph; the rematch handlers are
// tested in rematch_test.go, the filing handler in filing_*_test.go.

const customerAddress = "info@schulz-technik.com"

// withCustomer adds customer 10 (customerAddress) to the CRM.
func withCustomer(t *testing.T, s *store.Store) {
	t.Helper()
	_, err := s.ImportCRM(context.Background(), &crmfile.File{Customers: []model.Customer{
		{ID: 10, Number: "10001", Name: "Schulz Technik GmbH", Email: customerAddress}}})
	if err != nil {
		t.Fatal(err)
	}
}

// testKeys sign the clientState of the subscriptions the tests make.
func testKeys(t *testing.T) clientstate.Keys {
	t.Helper()
	k, err := clientstate.NewKeys(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// decision returns the one decision of a message.
func decision(t *testing.T, s *store.Store, id string) store.Decision {
	t.Helper()
	ds, err := s.DecisionsFor(context.Background(), id)
	if err != nil || len(ds) != 1 {
		t.Fatalf("decisions of %s: %+v, %v; want one", id, ds, err)
	}
	return ds[0]
}

// syncReasons returns the reasons of the queued sync tasks.
func syncReasons(t *testing.T, q *taskQueue) []string {
	t.Helper()
	var out []string
	for _, task := range q.take(queue.TypeSyncMailbox) {
		var pl queue.SyncMailboxPayload
		if err := json.Unmarshal(task.Payload(), &pl); err != nil {
			t.Fatal(err)
		}
		out = append(out, pl.Reason)
	}
	return out
}

func TestMessageHandler(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		withCustomer(t, s)
		g, q := newScriptGraph(), &taskQueue{}
		docs, err := documents.NewLocal(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		h := newTestHandlers(t, s, Deps{Graph: g, Enqueuer: q, Documents: docs})
		at := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
		g.put(model.Message{ID: "m1", InternetMessageID: "<m1@x>", ParentFolderID: "inbox", Subject: "Angebot", From: sender(customerAddress),
			HasAttachments: true, ReceivedDateTime: &at},
			model.Message{ID: "m2", InternetMessageID: "<m2@x>", ParentFolderID: "junk", From: sender(customerAddress), HasAttachments: true})

		// A customer's mail with attachments: an activity, and its filing queued.
		for range 2 { // the second time a redelivery: no second activity, no second filing
			if err := h.Message.ProcessTask(ctx, messageTask(t, "m1")); err != nil {
				t.Fatal(err)
			}
		}
		if d := decision(t, s, "m1"); d.Outcome != match.OutcomeImported || d.ActivityID == nil {
			t.Errorf("m1: %s/%s, activity %v; want imported with an activity", d.Outcome, d.Reason, d.ActivityID)
		}
		filings := q.take(queue.TypeFileAttachments)
		if len(filings) != 1 {
			t.Fatalf("%d filing tasks, want 1", len(filings))
		}
		var pl queue.FileAttachmentsPayload
		if err := json.Unmarshal(filings[0].Payload(), &pl); err != nil {
			t.Fatal(err)
		}
		if pl.CustomerID != 10 || pl.MessageID != "m1" || !pl.Date.Equal(at) || pl.SenderAddress != customerAddress {
			t.Errorf("filing payload %+v", pl)
		}
		if row, err := s.SubscriptionOf(ctx, 1); err != nil || row.LastNotificationAt == nil {
			t.Errorf("subscription's last notification not recorded: %+v, %v", row, err)
		}
		if g.count(opFolders) != 1 {
			t.Errorf("folder tree read %d times, want once (then cached)", g.count(opFolders))
		}

		// Junk is decided (ignored), nothing filed.
		if err := h.Message.ProcessTask(ctx, messageTask(t, "m2")); err != nil {
			t.Fatal(err)
		}
		if d := decision(t, s, "m2"); d.Outcome != match.OutcomeIgnored {
			t.Errorf("m2 in Junk: %s, want ignored", d.Outcome)
		}
		if n := len(q.take(queue.TypeFileAttachments)); n != 0 {
			t.Errorf("%d filing tasks for junk", n)
		}

		// A disabled mailbox: the task is dropped before Graph is asked.
		if err := s.SetMailboxDisabled(ctx, 1, true); err != nil {
			t.Fatal(err)
		}
		h.Message.mailboxes.cache.forget(1) // as after mailboxTTL
		before := g.count(opMessage)
		if err := h.Message.ProcessTask(ctx, messageTask(t, "m3")); err != nil {
			t.Errorf("task of a disabled mailbox: %v, want dropped", err)
		}
		if g.count(opMessage) != before {
			t.Error("a disabled mailbox's message was fetched")
		}
		// A payload that is not JSON is not retried.
		if err := h.Message.ProcessTask(ctx, asynq.NewTask(queue.TypeProcessMessage, []byte("{"))); !errors.Is(err, asynq.SkipRetry) {
			t.Errorf("bad payload: %v, want asynq.SkipRetry", err)
		}
	})
}

func TestLifecycleHandler(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		g, q := newScriptGraph(), &taskQueue{}
		keys := testKeys(t)
		h := newTestHandlers(t, s, Deps{Graph: g, Enqueuer: q, Keys: keys, PublicURL: "https://connector.example/"})
		lifecycle := func(sub, event string) error {
			task, err := queue.NewLifecycleTask(queue.LifecyclePayload{EmployeeID: 1, SubscriptionID: sub, Event: event, NotifiedAt: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			return h.Lifecycle.ProcessTask(ctx, task)
		}
		current := func() store.SubscriptionRow {
			t.Helper()
			row, err := s.SubscriptionOf(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			return row
		}

		// Missed notifications: a sync.
		if err := lifecycle("s1", model.EventMissed); err != nil {
			t.Fatal(err)
		}
		if got := syncReasons(t, q); len(got) != 1 || got[0] != "missed" {
			t.Errorf("syncs after missed: %q", got)
		}
		// Reauthorization of a subscription Graph no longer knows: recreated, then a sync.
		if err := lifecycle("s1", model.EventReauthorizationRequired); err != nil {
			t.Fatal(err)
		}
		row := current()
		if row.GraphID != "graph-sub-1" || row.Status != store.SubscriptionActive {
			t.Errorf("after the recreation: %+v", row)
		}
		if got := syncReasons(t, q); len(got) != 1 || got[0] != "recreated" {
			t.Errorf("syncs after the recreation: %q", got)
		}
		g.mu.Lock()
		sub := g.subs["graph-sub-1"]
		g.mu.Unlock()
		if sub.NotificationURL != "https://connector.example/graph/notifications" || sub.LifecycleNotificationURL != "https://connector.example/graph/lifecycle" ||
			sub.Resource != "/users/anna@firma.example/messages" {
			t.Errorf("created subscription %+v", sub)
		}
		if id, ok := keys.Verify(sub.ClientState); !ok || id != 1 {
			t.Errorf("clientState %q does not verify as employee 1's", sub.ClientState)
		}
		// Reauthorization of the current one: reauthorized, nothing else.
		if err := lifecycle("graph-sub-1", model.EventReauthorizationRequired); err != nil {
			t.Fatal(err)
		}
		if g.count(opReauthorize) != 2 || g.count(opCreate) != 1 || current().GraphID != "graph-sub-1" {
			t.Errorf("reauthorize: %d reauthorizations, %d creations, current %s", g.count(opReauthorize), g.count(opCreate), current().GraphID)
		}
		// Removed: recreated.
		if err := lifecycle("graph-sub-1", model.EventSubscriptionRemoved); err != nil {
			t.Fatal(err)
		}
		if current().GraphID != "graph-sub-2" {
			t.Errorf("after subscriptionRemoved the current subscription is %s, want graph-sub-2", current().GraphID)
		}
		syncReasons(t, q)
		// A failed reauthorization goes through graphFailure: access denied marks the mailbox.
		g.failNext(opReauthorize, &grapherr.Error{Kind: grapherr.ErrAccessDenied, Op: "reauthorize", Status: 403})
		if err := lifecycle("graph-sub-2", model.EventReauthorizationRequired); err != nil {
			t.Errorf("access denied: %v, want the task done", err)
		}
		if mb, err := s.MailboxByEmployee(ctx, 1); err != nil || mb.State() != store.MailboxAccessDenied {
			t.Errorf("mailbox after access denied: %+v, %v", mb, err)
		}
	})
}

func TestSyncHandler(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		withCustomer(t, s)
		g, q := newScriptGraph(), &taskQueue{}
		h := newTestHandlers(t, s, Deps{Graph: g, Enqueuer: q})
		recent := time.Now().Add(-time.Hour)
		g.put(
			model.Message{ID: "in1", InternetMessageID: "<in1@x>", ParentFolderID: "inbox", From: sender(customerAddress), ReceivedDateTime: &recent},
			model.Message{ID: "in2", InternetMessageID: "<in2@x>", ParentFolderID: "inbox", From: sender("someone@elsewhere.example"), ReceivedDateTime: &recent},
			model.Message{ID: "out1", InternetMessageID: "<out1@x>", ParentFolderID: "sent", From: sender("anna@firma.example"),
				ToRecipients: []model.Recipient{*sender(customerAddress)}, SentDateTime: &recent},
			model.Message{ID: "junk1", InternetMessageID: "<junk1@x>", ParentFolderID: "junk", From: sender(customerAddress)},
		)
		task, err := queue.NewSyncMailboxTask(queue.SyncMailboxPayload{EmployeeID: 1, Reason: "backfill"}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Sync.ProcessTask(ctx, task); err != nil {
			t.Fatal(err)
		}
		for id, want := range map[string]string{"in1": match.OutcomeImported, "in2": match.OutcomeIgnored, "out1": match.OutcomeImported} {
			if d := decision(t, s, id); d.Outcome != want {
				t.Errorf("%s: %s/%s, want %s", id, d.Outcome, d.Reason, want)
			}
		}
		if ds, err := s.DecisionsFor(ctx, "junk1"); err != nil || len(ds) != 0 {
			t.Errorf("junk was read in a delta round: %+v, %v", ds, err)
		}
		links := map[string]string{}
		tree, err := s.Folders(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range tree {
			links[f.ID] = f.DeltaLink
		}
		if links["inbox"] != "delta:inbox" || links["sent"] != "delta:sent" || links["junk"] != "" {
			t.Errorf("delta links %q", links)
		}
		if mb, err := s.MailboxByEmployee(ctx, 1); err != nil || mb.LastSyncAt == nil {
			t.Errorf("mailbox not marked synced: %+v, %v", mb, err)
		}

		// The next round continues from the links; a lost sync state
		// starts a fresh round of that folder, which decides nothing twice.
		deltas := g.count(opDelta)
		g.failNext(opDelta, &grapherr.Error{Kind: grapherr.ErrSyncStateLost, Op: "delta", Status: 410})
		if err := h.Sync.ProcessTask(ctx, task); err != nil {
			t.Fatal(err)
		}
		// inbox: lost, then 3 pages of a fresh round; sent: 1 from its link.
		if n := g.count(opDelta) - deltas; n != 5 {
			t.Errorf("%d delta requests in the second round, want 5", n)
		}
		if !strings.Contains(h.log.String(), "delta sync state lost") {
			t.Errorf("no log line on the lost sync state:\n%s", h.log.String())
		}
		for _, id := range []string{"in1", "in2", "out1"} {
			decision(t, s, id)
		}

		// A Graph failure goes through graphFailure.
		g.failNext(opFolders, &grapherr.Error{Kind: grapherr.ErrTransient, Op: "folders", Status: 503})
		if err := h.Sync.ProcessTask(ctx, task); err == nil || errors.Is(err, asynq.SkipRetry) {
			t.Errorf("transient failure: %v, want retried", err)
		}
	})
}

func TestEnsureSubscriptionsHandler(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		s.SetClock(func() time.Time { return now })
		g, q := newScriptGraph(), &taskQueue{}
		h := newTestHandlers(t, s, Deps{Graph: g, Enqueuer: q, Keys: testKeys(t), PublicURL: "https://connector.example", Now: func() time.Time { return now },
			SubscriptionLifetime: 48 * time.Hour, RenewBefore: 12 * time.Hour, SweepEvery: time.Hour})
		ensure := func() {
			t.Helper()
			if err := h.EnsureSubscriptions.ProcessTask(ctx, asynq.NewTask(queue.TypeEnsureSubscriptions, nil)); err != nil {
				t.Fatal(err)
			}
		}
		current := func() store.SubscriptionRow {
			t.Helper()
			row, err := s.SubscriptionOf(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			return row
		}
		// No subscription yet (the fixture's s1 removed): created, then a
		// backfill; the mailbox was never synced, so a sweep too.
		if err := s.DeleteSubscriptionRow(ctx, 1); err != nil {
			t.Fatal(err)
		}
		ensure()
		// The expiry is the lifetime less the mailbox's spread (expirySpread).
		lifetime := 48*time.Hour - expirySpread(1, 48*time.Hour)
		if row := current(); row.GraphID != "graph-sub-1" || row.ExpiresAt.Sub(now.Add(lifetime)).Abs() > time.Second {
			t.Errorf("created %+v, want graph-sub-1 expiring in %v", row, lifetime)
		}
		if got := strings.Join(syncReasons(t, q), ","); got != "backfill,sweep" {
			t.Errorf("syncs %q, want backfill,sweep", got)
		}
		// Far from expiry and synced recently: nothing to do.
		if err := s.MailboxSynced(ctx, 1); err != nil {
			t.Fatal(err)
		}
		ensure()
		if g.count(opRenew) != 0 || g.count(opCreate) != 1 || len(syncReasons(t, q)) != 0 {
			t.Errorf("a quiet upkeep: %v", g.calls)
		}
		// Close to expiry: renewed.
		now = now.Add(40 * time.Hour)
		if err := s.MailboxSynced(ctx, 1); err != nil {
			t.Fatal(err)
		}
		ensure()
		if row := current(); g.count(opRenew) != 1 || row.GraphID != "graph-sub-1" || row.ExpiresAt.Sub(now.Add(lifetime)).Abs() > time.Second {
			t.Errorf("renewal: %d renewals, %+v", g.count(opRenew), row)
		}
		if got := syncReasons(t, q); len(got) != 0 {
			t.Errorf("syncs after a renewal: %q", got)
		}
		// Graph lost it: recreated at the next renewal, then a sync (and
		// the sweep: the last sync is now 40 hours old).
		now = now.Add(40 * time.Hour)
		g.mu.Lock()
		delete(g.subs, "graph-sub-1")
		g.mu.Unlock()
		ensure()
		if row := current(); row.GraphID != "graph-sub-2" {
			t.Errorf("after the lost subscription: %+v, want graph-sub-2", row)
		}
		if got := strings.Join(syncReasons(t, q), ","); got != "recreated,sweep" {
			t.Errorf("syncs %q, want recreated,sweep", got)
		}
		// A failed creation is recorded (and reported by the health check).
		if err := s.DeleteSubscriptionRow(ctx, 1); err != nil {
			t.Fatal(err)
		}
		g.failNext(opCreate, &grapherr.Error{Kind: grapherr.ErrTransient, Op: "create subscription", Status: 503})
		if err := h.EnsureSubscriptions.ProcessTask(ctx, asynq.NewTask(queue.TypeEnsureSubscriptions, nil)); err == nil {
			t.Error("a failed creation was not reported")
		}
		if row := current(); row.Status != store.SubscriptionFailed {
			t.Errorf("after a failed creation: %+v, want failed", row)
		}
		ensure() // the failed one is made again
		if row := current(); row.Status != store.SubscriptionActive {
			t.Errorf("after the retry: %+v", row)
		}
		// A disabled mailbox: its subscription deleted at Graph and here.
		if err := s.SetMailboxDisabled(ctx, 1, true); err != nil {
			t.Fatal(err)
		}
		ensure()
		if _, err := s.SubscriptionOf(ctx, 1); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("subscription of a disabled mailbox: %v, want deleted", err)
		}
		if g.count(opDelete) != 1 {
			t.Errorf("%d deletions at Graph, want 1", g.count(opDelete))
		}
	})
}

// deadList reports the dead tasks it holds.
type deadList []alert.TasksDead

func (d *deadList) DeadTasks(context.Context) ([]alert.TasksDead, error) { return *d, nil }

func TestHealthHandler(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		run := func(h testHandlers) {
			t.Helper()
			if err := h.Health.ProcessTask(ctx, asynq.NewTask(queue.TypeHealthCheck, nil)); err != nil {
				t.Fatal(err)
			}
		}
		// Without alerts the check does nothing.
		run(newTestHandlers(t, storetest.Open(t, store.SQLite), Deps{}))

		alerts, dead := &memAlerts{}, &deadList{{TaskType: queue.TypeSyncMailbox, Queue: queue.QueueDefault, Count: 2, LastError: "boom"}}
		h := newTestHandlers(t, s, Deps{Alerts: alerts, Dead: dead})
		const address = "anna@firma.example"
		if err := s.SubscriptionFailedNow(ctx, 1, "503 from Graph"); err != nil {
			t.Fatal(err)
		}
		run(h)
		if !alerts.has(alert.KindTasksDead, queue.TypeSyncMailbox) || !alerts.has(alert.KindSubscriptionFailed, address) {
			t.Errorf("raised %v, want dead sync tasks and the failed subscription", alerts.raised)
		}
		if alerts.has(alert.KindMailboxAccessDenied, address) {
			t.Error("access denied raised for a mailbox in scope")
		}
		// The archive emptied and the subscription renewed: both cleared.
		*dead = nil
		if err := s.SaveSubscription(ctx, 1, model.Subscription{ID: "s2", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		run(h)
		if alerts.has(alert.KindTasksDead, queue.TypeSyncMailbox) || alerts.has(alert.KindSubscriptionFailed, address) {
			t.Errorf("not cleared: %v", alerts.raised)
		}
		// The mailbox out of scope: raised.
		if err := s.MarkMailboxAccessDenied(ctx, 1, "ErrorAccessDenied"); err != nil {
			t.Fatal(err)
		}
		run(h)
		if a, ok := alerts.raised[alert.KindMailboxAccessDenied+"/"+address]; !ok || !strings.Contains(a.Data.(alert.MailboxAccessDenied).Error, "ErrorAccessDenied") {
			t.Errorf("access denied: %+v", alerts.raised)
		}
	})
}

// A 403 is access denied only when Graph names an access policy. A denied
// mailbox stays marked and alerted, is re-checked by the upkeep on its own
// with back-off (15 min, 30 min, …) and resumes without an operator once
// Graph lets the connector subscribe: subscription created, catch-up sync,
// alert cleared. Another 403 (the 1,000-subscriptions quota) is recorded
// with Graph's words and does not mark the mailbox.
func TestAccessDeniedRecheckedAndResumed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
		s.SetClock(func() time.Time { return now })
		g, q, alerts := newScriptGraph(), &taskQueue{}, &memAlerts{}
		h := newTestHandlers(t, s, Deps{Graph: g, Enqueuer: q, Alerts: alerts, Keys: testKeys(t), PublicURL: "https://connector.example",
			Now: func() time.Time { return now }, SubscriptionLifetime: 48 * time.Hour, RenewBefore: 12 * time.Hour, SweepEvery: 1000 * time.Hour})
		const address = "anna@firma.example"
		if err := s.MailboxSynced(ctx, 1); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteSubscriptionRow(ctx, 1); err != nil {
			t.Fatal(err)
		}
		ensure := func() error {
			return h.EnsureSubscriptions.ProcessTask(ctx, asynq.NewTask(queue.TypeEnsureSubscriptions, nil))
		}
		health := func() {
			t.Helper()
			if err := h.Health.ProcessTask(ctx, asynq.NewTask(queue.TypeHealthCheck, nil)); err != nil {
				t.Fatal(err)
			}
		}
		mailbox := func() store.Mailbox {
			t.Helper()
			mb, err := s.MailboxByEmployee(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			return mb
		}
		denied := func() error {
			return &grapherr.Error{Kind: grapherr.Classify(403, "ExtensionError", "Operation: Create; Exception: [Status Code: Forbidden; Reason: Access to OData is disabled.]"),
				Op: "create subscription", Status: 403, Code: "ExtensionError",
				Message: "Operation: Create; Exception: [Status Code: Forbidden; Reason: Access to OData is disabled.]"}
		}

		// The quota: recorded, not access denied.
		quota := "Operation: Create; Exception: [Status Code: Forbidden; Reason: Maximum number of subscriptions has been reached]"
		g.failNext(opCreate, &grapherr.Error{Kind: grapherr.Classify(403, "ExtensionError", quota), Op: "create subscription", Status: 403,
			Code: "ExtensionError", Message: quota})
		if err := ensure(); err == nil {
			t.Error("a refused subscription was not reported")
		}
		if mb := mailbox(); mb.State() != store.MailboxEnabled || !strings.Contains(mb.LastError, "Maximum number of subscriptions") {
			t.Errorf("after the quota: %s %q, want enabled with Graph's words", mb.State(), mb.LastError)
		}
		health()
		if alerts.has(alert.KindMailboxAccessDenied, address) || !alerts.has(alert.KindSubscriptionFailed, address) {
			t.Errorf("alerts after the quota: %v", alerts.raised)
		}

		// The access policy: marked, alerted, next check in 15 minutes.
		g.failNext(opCreate, denied())
		if err := ensure(); err != nil {
			t.Fatal(err)
		}
		mb := mailbox()
		if mb.State() != store.MailboxAccessDenied || mb.AccessCheckAt == nil || mb.AccessCheckAt.Sub(now) != 15*time.Minute {
			t.Fatalf("after the denial: %+v", mb)
		}
		health()
		if !alerts.has(alert.KindMailboxAccessDenied, address) {
			t.Errorf("no access-denied alert: %v", alerts.raised)
		}
		// Before the check is due, Graph is not asked.
		creates := g.count(opCreate)
		now = now.Add(10 * time.Minute)
		if err := ensure(); err != nil || g.count(opCreate) != creates {
			t.Errorf("upkeep before the re-check: %v, %d creations", err, g.count(opCreate)-creates)
		}
		// Due, still denied: the next check moves out to 30 minutes.
		now = now.Add(5 * time.Minute)
		g.failNext(opCreate, denied())
		if err := ensure(); err != nil || g.count(opCreate) != creates+1 {
			t.Fatalf("re-check: %v, %d creations", err, g.count(opCreate)-creates)
		}
		if mb := mailbox(); mb.State() != store.MailboxAccessDenied || mb.AccessCheckAt.Sub(now) != 30*time.Minute {
			t.Errorf("after a denied re-check: %+v", mb)
		}
		if got := syncReasons(t, q); len(got) != 0 {
			t.Errorf("syncs of a denied mailbox: %q", got)
		}
		// The policy took effect: the next re-check subscribes and resumes.
		now = now.Add(30 * time.Minute)
		if err := ensure(); err != nil {
			t.Fatal(err)
		}
		if mb := mailbox(); !mb.Syncable() || mb.AccessCheckAt != nil || mb.LastError != "" {
			t.Errorf("after access came back: %+v", mb)
		}
		if row, err := s.SubscriptionOf(ctx, 1); err != nil || row.Status != store.SubscriptionActive {
			t.Errorf("subscription after access came back: %+v, %v", row, err)
		}
		if got := strings.Join(syncReasons(t, q), ","); got != "access restored" {
			t.Errorf("syncs %q, want the catch-up", got)
		}
		health()
		if alerts.has(alert.KindMailboxAccessDenied, address) || alerts.has(alert.KindSubscriptionFailed, address) {
			t.Errorf("alerts not cleared: %v", alerts.raised)
		}
	})
}
