package crmhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/dedesales/exchange-connector/internal/crmfile"
	"github.com/dedesales/exchange-connector/internal/crmhook"
	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/secret"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
	"github.com/dedesales/exchange-connector/internal/testenv"
)

func ptr[T any](v T) *T { return &v }

// seedCRM imports one employee per mailbox, a customer and a contact.
func seedCRM(t testing.TB, st *store.Store) {
	t.Helper()
	f := &crmfile.File{
		Employees: []model.Employee{
			{ID: 1, Name: "Anna Berger", Email: "anna.berger@dedenet.de", ExchangeMailbox: ptr("anna.berger@dedenet.de"), Active: true},
			{ID: 2, Name: "Peter Kraus", Email: "peter.kraus@dedenet.de", ExchangeMailbox: ptr("peter.kraus@dedenet.de"), Active: true},
		},
		Customers: []model.Customer{{ID: 10, Number: "10001", Name: "Schulz Technik GmbH", Email: "info@schulz-technik.com"}},
		Contacts:  []model.Contact{{ID: 100, CustomerID: 10, Name: "Sabine Schulz", Email: "sabine.schulz@schulz-technik.com"}},
	}
	if _, err := st.ImportCRM(context.Background(), f); err != nil {
		t.Fatal(err)
	}
}

// recordMail stores the e-mail n as an activity in employee's mailbox
// (activity.created the first time, activity.updated for another mailbox).
func recordMail(t testing.TB, st *store.Store, employee int64, n int) int64 {
	t.Helper()
	at := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	msg := model.Message{ID: fmt.Sprintf("AAMk-%d-%d", employee, n), InternetMessageID: fmt.Sprintf("<m%d@schulz-technik.com>", n),
		Subject: "AW: Angebot", ConversationID: "conv-1", Body: &model.ItemBody{ContentType: "text", Content: "Guten Tag"},
		ReceivedDateTime: &at, SentDateTime: &at}
	d := match.Decision{Outcome: match.OutcomeImported, Reason: match.ReasonMatched, Direction: match.DirectionInbound,
		Rule: match.RuleContactExact, MatchedAddress: "sabine.schulz@schulz-technik.com", CustomerID: ptr[int64](10),
		ContactID: ptr[int64](100), Candidates: []string{"sabine.schulz@schulz-technik.com"}}
	res, err := st.RecordMessage(context.Background(), store.MessageRecord{EmployeeID: employee, Message: msg,
		Folder: []model.FolderRef{{WellKnownName: "inbox"}}, Decision: d})
	if err != nil {
		t.Fatal(err)
	}
	return res.ActivityID
}

// testKey is a master key for sealing the endpoints' secrets.
func testKey(t testing.TB) *secret.Key {
	t.Helper()
	k, err := secret.NewKey(make([]byte, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// addEndpoint registers url (private addresses allowed unless guarded) and
// returns it with its signing secret.
func addEndpoint(t testing.TB, st *store.Store, key *secret.Key, url string, allowPrivate bool, events ...string) (store.WebhookEndpoint, string) {
	t.Helper()
	ctx := context.Background()
	if len(events) == 0 {
		events = crmhook.Events
	}
	signing, err := crmhook.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := crmhook.SealSecret(key, url, signing)
	if err != nil {
		t.Fatal(err)
	}
	id, err := st.AddWebhookEndpoint(ctx, store.WebhookEndpoint{URL: url, SecretSealed: sealed, AllowPrivate: allowPrivate}, events)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := st.WebhookEndpoint(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return ep, signing
}

// delivery is one request a receiver accepted, verified.
type delivery struct {
	ID   string
	Body struct {
		Type      string `json:"type"`
		Timestamp string `json:"timestamp"`
		Data      struct {
			ID         int64  `json:"id"`
			CustomerID int64  `json:"customer_id"`
			DocumentID *int64 `json:"document_id"`
			Cursor     string `json:"cursor"`
		} `json:"data"`
	}
}

// receiver is a CRM's webhook endpoint: it verifies every request with the
// Standard Webhooks library and answers 2xx unless fail says otherwise.
type receiver struct {
	t   testing.TB
	srv *httptest.Server
	wh  *standardwebhooks.Webhook

	mu        sync.Mutex
	fail      func(id string) int // status to answer; 0 means 204
	accepted  map[string]int      // webhook-id → 2xx answers
	failures  int
	bad       []string // verification errors
	delivered chan delivery
	failed    chan string
}

func newReceiver(t testing.TB) *receiver {
	r := &receiver{t: t, accepted: map[string]int{}, delivered: make(chan delivery, 100_000), failed: make(chan string, 100_000)}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

// setSecret makes the receiver verify with the endpoint's secret.
func (r *receiver) setSecret(signing string) {
	wh, err := standardwebhooks.NewWebhook(signing)
	if err != nil {
		r.t.Fatal(err)
	}
	r.mu.Lock()
	r.wh = wh
	r.mu.Unlock()
}

func (r *receiver) setFail(fail func(id string) int) {
	r.mu.Lock()
	r.fail = fail
	r.mu.Unlock()
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	id := req.Header.Get("webhook-id")
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.wh.Verify(body, req.Header); err != nil {
		r.bad = append(r.bad, fmt.Sprintf("%s: %v", id, err))
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if r.fail != nil {
		if status := r.fail(id); status != 0 {
			r.failures++
			w.WriteHeader(status)
			r.failed <- id
			return
		}
	}
	var d delivery
	d.ID = id
	if err := json.Unmarshal(body, &d.Body); err != nil {
		r.bad = append(r.bad, fmt.Sprintf("%s: body %s: %v", id, body, err))
	}
	r.accepted[id]++
	w.WriteHeader(http.StatusNoContent)
	r.delivered <- d
}

// await returns the next n accepted deliveries, failing after timeout.
func (r *receiver) await(n int, timeout time.Duration) []delivery {
	r.t.Helper()
	out := make([]delivery, 0, n)
	deadline := time.After(timeout)
	for len(out) < n {
		select {
		case d := <-r.delivered:
			out = append(out, d)
		case <-deadline:
			r.t.Fatalf("%d of %d deliveries arrived within %s", len(out), n, timeout)
		}
	}
	return out
}

// awaitFailures waits for n failed requests.
func (r *receiver) awaitFailures(n int, timeout time.Duration) {
	r.t.Helper()
	deadline := time.After(timeout)
	for range n {
		select {
		case <-r.failed:
		case <-deadline:
			r.t.Fatalf("fewer than %d failed requests within %s", n, timeout)
		}
	}
}

func (r *receiver) check() {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.bad {
		r.t.Errorf("receiver: %s", b)
	}
	for id, n := range r.accepted {
		if n != 1 {
			r.t.Errorf("event %s accepted %d times", id, n)
		}
	}
}

// startWorker runs an asynq worker with the webhooks' handlers on the test
// Redis, retrying deliveries after retryDelay. stop shuts it down, waiting
// for the running handlers.
func startWorker(t testing.TB, opt asynq.RedisClientOpt, svc *crmhook.Service, retryDelay time.Duration, concurrency int) (stop func()) {
	t.Helper()
	srv := asynq.NewServer(opt, asynq.Config{
		Concurrency: concurrency,
		Queues:      map[string]int{"default": 1},
		RetryDelayFunc: func(n int, err error, task *asynq.Task) time.Duration {
			if _, ok := crmhook.RetryDelay(n, err, task); ok {
				return retryDelay
			}
			return time.Second
		},
		TaskCheckInterval:        10 * time.Millisecond,
		DelayedTaskCheckInterval: 50 * time.Millisecond,
		Logger:                   quietLogger{},
		LogLevel:                 asynq.FatalLevel,
	})
	mux := asynq.NewServeMux()
	svc.Register(mux)
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return srv.Shutdown
}

// awaitChanges waits until n changes after the cursor are final
// (storetest.AwaitChanges) and returns them; more or fewer fail the test.
func awaitChanges(t testing.TB, st *store.Store, after store.Cursor, n int) []store.Change {
	t.Helper()
	changes := storetest.AwaitChanges(t, st.Changes, after, n)
	if len(changes) != n {
		t.Fatalf("%d changes after %+v; want %d", len(changes), after, n)
	}
	return changes
}

// redisOpt is the package's Redis database, emptied for the test.
func redisOpt(t testing.TB) asynq.RedisClientOpt {
	t.Helper()
	o := testenv.Redis(t, testenv.RedisDBCRMHook)
	return asynq.RedisClientOpt{Addr: o.Addr, Password: o.Password, DB: o.DB}
}

func newQueue(t testing.TB, opt asynq.RedisClientOpt) *asynq.Client {
	c := asynq.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

type quietLogger struct{}

func (quietLogger) Debug(...any) {}
func (quietLogger) Info(...any)  {}
func (quietLogger) Warn(...any)  {}
func (quietLogger) Error(...any) {}
func (quietLogger) Fatal(...any) {}

func testLog(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
