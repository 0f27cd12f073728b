package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dedesales/exchange-connector/internal/alert"
	"github.com/dedesales/exchange-connector/internal/crmfile"
	"github.com/dedesales/exchange-connector/internal/grapherr"
	"github.com/dedesales/exchange-connector/internal/graphsim"
	"github.com/dedesales/exchange-connector/internal/metrics"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/queue"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// notifySink answers Graph's validation handshakes and records the change
// notifications the simulator sends.
type notifySink struct {
	srv   *httptest.Server
	mu    sync.Mutex
	items []map[string]any
	got   chan struct{}
}

func newNotifySink(t *testing.T) *notifySink {
	t.Helper()
	n := &notifySink{got: make(chan struct{}, 64)}
	n.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok := r.URL.Query().Get("validationToken"); tok != "" {
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, tok)
			return
		}
		var body struct {
			Value []map[string]any `json:"value"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		n.mu.Lock()
		n.items = append(n.items, body.Value...)
		n.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		n.got <- struct{}{}
	}))
	t.Cleanup(n.srv.Close)
	return n
}

// await waits for a notification whose resource contains part.
func (n *notifySink) await(t *testing.T, part string) map[string]any {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		n.mu.Lock()
		for _, it := range n.items {
			if r, _ := it["resource"].(string); strings.Contains(r, part) {
				n.mu.Unlock()
				return it
			}
		}
		n.mu.Unlock()
		select {
		case <-n.got:
		case <-timeout:
			t.Fatalf("no notification for %s", part)
		}
	}
}

// Mailboxes that Graph does not resolve, through the real client against
// the simulator (which answers unknown users 404 ErrorInvalidUser, as Graph
// does):
//   - an unknown mailbox is marked not_found with Graph's words, alerted and
//     counted, re-checked with back-off, and resumed without an operator
//     once the user is created in the tenant;
//   - a mailbox entered as a UPN that differs from the mail address works;
//   - a mailbox entered as a mail address that is not the UPN is looked up,
//     and its user's ID is used for the subscription, the notification's
//     fetch and the sync; both capture mail (outbound matched by the
//     employee's mail address).
//
// Fails against a connector that logs "not found yet" and retries the
// subscription forever.
func TestMailboxNotFoundAndUPN(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		sink := newNotifySink(t)
		sim, err := graphsim.Start("", graphsim.Options{TenantID: simTenant, ClientID: simClient, ClientSecret: simSecret,
			AllowHTTPNotify: true, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sim.Close() })
		c := newSimClient(t, sim, 0)
		janeID, err := sim.AddUser(graphsim.UserInput{DisplayName: "Jane", Mail: "jane.doe@firma.example", UserPrincipalName: "j.doe@firma.onmicrosoft.example"})
		if err != nil {
			t.Fatal(err)
		}
		maxID, err := sim.AddUser(graphsim.UserInput{DisplayName: "Max", Mail: "max.mustermann@firma.example", UserPrincipalName: "max@firma.onmicrosoft.example"})
		if err != nil {
			t.Fatal(err)
		}

		const (
			nora    = "nora@firma.example"
			janeUPN = "j.doe@firma.onmicrosoft.example"
			maxMail = "max.mustermann@firma.example"
		)
		mbox := func(s string) *string { return &s }
		if _, err := s.ImportCRM(ctx, &crmfile.File{
			Employees: []model.Employee{
				{ID: 1, Name: "Nora", Email: nora, ExchangeMailbox: mbox(nora), Active: true},
				{ID: 2, Name: "Jane", Email: "jane.doe@firma.example", ExchangeMailbox: mbox(janeUPN), Active: true},
				{ID: 3, Name: "Max", Email: maxMail, ExchangeMailbox: mbox(maxMail), Active: true},
			},
			Customers: []model.Customer{{ID: 10, Number: "10001", Name: "Schulz Technik GmbH", Email: customerAddress}},
		}); err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC().Truncate(time.Second)
		s.SetClock(func() time.Time { return now })
		for id := range int64(3) {
			if err := s.MailboxSynced(ctx, id+1); err != nil { // no safety-net sweeps in the way
				t.Fatal(err)
			}
		}
		q, alerts := &taskQueue{}, &memAlerts{}
		reg := prometheus.NewRegistry()
		m := metrics.New(reg)
		logs := new(syncBuffer)
		h := NewHandlers(Deps{Store: s, Graph: c, Enqueuer: q, Alerts: alerts, Keys: testKeys(t), PublicURL: sink.srv.URL,
			Metrics: m, Log: slog.New(slog.NewTextHandler(logs, nil)),
			Now: func() time.Time { return now }, SubscriptionLifetime: 48 * time.Hour, RenewBefore: 12 * time.Hour, SweepEvery: 1000 * time.Hour})
		ensure := func() {
			t.Helper()
			if err := h.EnsureSubscriptions.ProcessTask(ctx, asynq.NewTask(queue.TypeEnsureSubscriptions, nil)); err != nil {
				t.Fatalf("upkeep: %v", err)
			}
		}
		health := func() {
			t.Helper()
			if err := h.Health.ProcessTask(ctx, asynq.NewTask(queue.TypeHealthCheck, nil)); err != nil {
				t.Fatal(err)
			}
		}
		mailbox := func(id int64) store.Mailbox {
			t.Helper()
			mb, err := s.MailboxByEmployee(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			return mb
		}
		const graphWords = "The requested user 'nora@firma.example' is invalid."

		// First upkeep: Nora is unknown; Jane (UPN) and Max (mail, looked
		// up) are subscribed.
		ensure()
		nb := mailbox(1)
		if nb.State() != store.MailboxNotFound || !strings.Contains(nb.LastError, graphWords) ||
			nb.AccessCheckAt == nil || nb.AccessCheckAt.Sub(now) != 15*time.Minute {
			t.Fatalf("unknown mailbox: state %s, error %q, next check %v", nb.State(), nb.LastError, nb.AccessCheckAt)
		}
		for id, user := range map[int64]string{2: janeUPN, 3: maxID} {
			row, err := s.SubscriptionOf(ctx, id)
			if err != nil || row.Status != store.SubscriptionActive {
				t.Errorf("subscription of employee %d: %+v, %v", id, row, err)
			}
			if mb := mailbox(id); !mb.Syncable() || mb.GraphRef() != user {
				t.Errorf("employee %d: state %s, Graph ref %q, want %q", id, mb.State(), mb.GraphRef(), user)
			}
		}
		if got := strings.Join(syncReasons(t, q), ","); got != "backfill,backfill" {
			t.Errorf("syncs %q, want the two found mailboxes' backfills (none of the unknown one)", got)
		}
		health()
		if a, ok := alerts.raised[alert.KindMailboxNotFound+"/"+nora]; !ok || !strings.Contains(a.Data.(alert.MailboxNotFound).Error, graphWords) {
			t.Errorf("not-found alert: %+v", alerts.raised)
		}
		if alerts.has(alert.KindMailboxNotFound, janeUPN) || alerts.has(alert.KindMailboxNotFound, maxMail) {
			t.Errorf("alerts for found mailboxes: %v", alerts.raised)
		}
		if n := testutil.ToFloat64(m.Mailboxes.WithLabelValues(store.MailboxNotFound)); n != 1 {
			t.Errorf("mailboxes not found: %v, want 1", n)
		}

		// Not due: Graph is not asked. Due and still unknown: 30 minutes.
		before := sim.State().Requests.Graph
		now = now.Add(10 * time.Minute)
		ensure()
		if n := sim.State().Requests.Graph - before; n != 0 {
			t.Errorf("%d Graph requests before the re-check is due", n)
		}
		now = now.Add(5 * time.Minute)
		ensure()
		if nb := mailbox(1); nb.State() != store.MailboxNotFound || nb.AccessCheckAt.Sub(now) != 30*time.Minute {
			t.Errorf("after a re-check that still finds nobody: %s, next %v", nb.State(), nb.AccessCheckAt)
		}

		// The account is created in the tenant: the next re-check resumes.
		resp, err := sim.CA.Client().Post(sim.URL+"/_sim/users", "application/json", bytes.NewReader([]byte(`{"mail":"`+nora+`"}`)))
		if err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("create user: %v %v", resp, err)
		}
		resp.Body.Close()
		now = now.Add(30 * time.Minute)
		ensure()
		if nb := mailbox(1); !nb.Syncable() || nb.LastError != "" || nb.AccessCheckAt != nil || nb.NotFoundAt != nil {
			t.Errorf("after the user appeared: %+v", nb)
		}
		if got := strings.Join(syncReasons(t, q), ","); got != "mailbox found" {
			t.Errorf("syncs %q, want the catch-up", got)
		}
		health()
		if alerts.has(alert.KindMailboxNotFound, nora) {
			t.Errorf("alert not cleared: %v", alerts.raised)
		}
		if n := testutil.ToFloat64(m.Mailboxes.WithLabelValues(store.MailboxNotFound)); n != 0 {
			t.Errorf("mailboxes not found: %v, want 0", n)
		}

		// Mail of the UPN and the looked-up mailbox is captured: inbound by
		// notification (fetched by the user the subscription names) and
		// outbound by sync (the employee's mail address is the sender).
		for _, tc := range []struct {
			emp   int64
			user  string // as the simulator's control API takes it
			inRes string // what the notification's resource names
			from  string
		}{
			{2, janeUPN, janeID, "jane.doe@firma.example"},
			{3, maxMail, maxID, maxMail},
		} {
			in, err := sim.CreateMessage(graphsim.MessageInput{Mailbox: tc.user, Folder: "inbox", Message: map[string]any{
				"subject": "Anfrage", "from": map[string]any{"emailAddress": map[string]any{"address": customerAddress}}}})
			if err != nil {
				t.Fatal(err)
			}
			item := sink.await(t, in.ID)
			if r := item["resource"].(string); !strings.Contains(strings.ToLower(r), tc.inRes) {
				t.Errorf("notification resource %q does not name user %s", r, tc.inRes)
			}
			row, err := s.SubscriptionOf(ctx, tc.emp)
			if err != nil {
				t.Fatal(err)
			}
			task, err := queue.NewProcessMessageTask(queue.ProcessMessagePayload{EmployeeID: tc.emp, UserID: tc.inRes,
				MessageID: in.ID, SubscriptionID: row.GraphID, ChangeType: "created", NotifiedAt: now})
			if err != nil {
				t.Fatal(err)
			}
			if err := h.Message.ProcessTask(ctx, task); err != nil {
				t.Fatalf("employee %d: message: %v", tc.emp, err)
			}
			if d := decision(t, s, in.ID); d.Outcome != "imported" || d.CustomerID == nil || *d.CustomerID != 10 {
				t.Errorf("employee %d inbound: %+v", tc.emp, d)
			}
			out, err := sim.CreateMessage(graphsim.MessageInput{Mailbox: tc.user, Folder: "sentitems", Notify: new(bool), Message: map[string]any{
				"subject": "Angebot", "from": map[string]any{"emailAddress": map[string]any{"address": tc.from}},
				"toRecipients": []any{map[string]any{"emailAddress": map[string]any{"address": customerAddress}}}}})
			if err != nil {
				t.Fatal(err)
			}
			sync, err := queue.NewSyncMailboxTask(queue.SyncMailboxPayload{EmployeeID: tc.emp, Reason: "test"}, now)
			if err != nil {
				t.Fatal(err)
			}
			if err := h.Sync.ProcessTask(ctx, sync); err != nil {
				t.Fatalf("employee %d: sync: %v", tc.emp, err)
			}
			if d := decision(t, s, out.ID); d.Outcome != "imported" || d.Direction != "outbound" || d.CustomerID == nil {
				t.Errorf("employee %d outbound: %+v", tc.emp, d)
			}
			if mb := mailbox(tc.emp); !mb.Syncable() {
				t.Errorf("employee %d after mail: %s %q", tc.emp, mb.State(), mb.LastError)
			}
		}
	})
}

// A user deleted after its mailbox was subscribed: the renewal's 404
// ErrorInvalidUser marks the mailbox not_found (not a subscription failure
// retried forever), and the subscription, gone with the user, is dropped
// without an error although its deletion answers the same 404.
func TestDeletedUserMarksMailboxNotFound(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		s.SetClock(func() time.Time { return now })
		g := newScriptGraph()
		h := newTestHandlers(t, s, Deps{Graph: g, Enqueuer: &taskQueue{}, Keys: testKeys(t), PublicURL: "https://connector.example",
			Now: func() time.Time { return now }, SubscriptionLifetime: 48 * time.Hour, RenewBefore: 12 * time.Hour, SweepEvery: 1000 * time.Hour})
		if err := s.MailboxSynced(ctx, 1); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveSubscription(ctx, 1, model.Subscription{ID: "s1", ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		gone := func(op string) error {
			msg := "Operation: " + op + "; Exception: [Status Code: NotFound; Reason: The requested user 'anna@firma.example' is invalid.]"
			return &grapherr.Error{Kind: grapherr.Classify(404, "ExtensionError", msg), Op: op, Status: 404, Code: "ExtensionError", Message: msg}
		}
		ensure := func() error {
			return h.EnsureSubscriptions.ProcessTask(ctx, asynq.NewTask(queue.TypeEnsureSubscriptions, nil))
		}
		g.failNext(opRenew, gone("Update"))
		if err := ensure(); err != nil {
			t.Fatalf("upkeep with the renewal refused: %v", err)
		}
		mb, err := s.MailboxByEmployee(ctx, 1)
		if err != nil || mb.State() != store.MailboxNotFound || !strings.Contains(mb.LastError, "The requested user 'anna@firma.example' is invalid.") {
			t.Fatalf("after the renewal: %+v, %v", mb, err)
		}
		g.failNext(opDelete, gone("Delete"))
		if err := ensure(); err != nil {
			t.Fatalf("upkeep dropping the subscription: %v", err)
		}
		if _, err := s.SubscriptionOf(ctx, 1); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("subscription row: %v, want it dropped", err)
		}
	})
}
