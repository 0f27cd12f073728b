package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dedesales/exchange-connector/internal/crmfile"
	"github.com/dedesales/exchange-connector/internal/grapherr"
	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/metrics"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/queue"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// graphStub answers every Graph call with err (nil: an empty result).
type graphStub struct{ err error }

func (g graphStub) Message(context.Context, string, string) (*model.Message, error) {
	return nil, g.err
}
func (g graphStub) FolderTree(context.Context, string) ([]model.MailFolder, error) { return nil, g.err }
func (g graphStub) Delta(context.Context, string, string, string, time.Time) (model.DeltaPage, error) {
	return model.DeltaPage{}, g.err
}
func (g graphStub) ListReceived(context.Context, string, string, string, time.Time, time.Time) (model.DeltaPage, error) {
	return model.DeltaPage{}, g.err
}
func (g graphStub) CreateSubscription(_ context.Context, s model.Subscription) (model.Subscription, error) {
	return s, g.err
}
func (g graphStub) RenewSubscription(context.Context, string, time.Time) (model.Subscription, error) {
	return model.Subscription{}, g.err
}
func (g graphStub) ReauthorizeSubscription(context.Context, string) error { return g.err }
func (g graphStub) DeleteSubscription(context.Context, string) error      { return g.err }

// syncBuffer collects log output written from any goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testHandlers are the handlers on a fresh store with employee 1's mailbox
// (anna@firma.example, subscription s1), metrics and a log to look at.
type testHandlers struct {
	*Handlers
	Store   *store.Store
	Metrics *metrics.Metrics
	Log     *slog.Logger
	log     *syncBuffer
}

// newTestProcessor is newTestHandlers on SQLite with only Graph set.
func newTestProcessor(t *testing.T, g Graph) testHandlers {
	t.Helper()
	return newTestHandlers(t, storetest.Open(t, store.SQLite), Deps{Graph: g})
}

// newTestHandlers fills in d's store, metrics and log and adds employee 1.
func newTestHandlers(t testing.TB, s *store.Store, d Deps) testHandlers {
	t.Helper()
	mailbox := "anna@firma.example"
	_, err := s.ImportCRM(context.Background(), &crmfile.File{Employees: []model.Employee{
		{ID: 1, Name: "Anna", Email: mailbox, ExchangeMailbox: &mailbox, Active: true},
	}})
	if err != nil {
		t.Fatal(err)
	}
	// The tasks below name subscription s1: the mailbox's current one.
	if err := s.SaveSubscription(context.Background(), 1, model.Subscription{ID: "s1", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	logs := new(syncBuffer)
	d.Store, d.Metrics, d.Log = s, metrics.New(prometheus.NewRegistry()), slog.New(slog.NewTextHandler(logs, nil))
	return testHandlers{Handlers: NewHandlers(d), Store: s, Metrics: d.Metrics, Log: d.Log, log: logs}
}

func task(t *testing.T, typ string, payload any) *asynq.Task {
	t.Helper()
	b, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	return asynq.NewTask(typ, b)
}

// An unknown lifecycle event is dropped, counted and logged with its name
// (the intake does the same on its side: webhooks.TestLifecycleDropped).
func TestUnknownLifecycleEventIsCountedAndLogged(t *testing.T) {
	p := newTestProcessor(t, graphStub{err: errors.New("no Graph call expected")})
	err := p.Lifecycle.ProcessTask(context.Background(), task(t, queue.TypeLifecycle, queue.LifecyclePayload{EmployeeID: 1, SubscriptionID: "s1", Event: "subscriptionPaused"}))
	if err != nil {
		t.Fatalf("HandleLifecycle = %v, want the task dropped", err)
	}
	if got := testutil.ToFloat64(p.Metrics.TasksDropped.WithLabelValues(queue.TypeLifecycle, metrics.ReasonUnknownEvent)); got != 1 {
		t.Errorf("tasks_dropped_total{unknown_event} = %v, want 1", got)
	}
	if logs := p.log.String(); !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "unknown lifecycle event dropped") || !strings.Contains(logs, "event=subscriptionPaused") {
		t.Errorf("no warning naming the event:\n%s", logs)
	}
}

// A Graph 4xx other than 401/403/404/410/429 is permanent: the task is not
// retried (asynq.SkipRetry) and the error is recorded on the mailbox;
// transient failures are still retried.
func TestRefusedGraphRequestIsNotRetried(t *testing.T) {
	refused := &grapherr.Error{Kind: grapherr.KindOf(400, "ErrorInvalidIdMalformed"), Op: "get message", Status: 400,
		Code: "ErrorInvalidIdMalformed", Message: "Id is malformed."}
	p := newTestProcessor(t, graphStub{err: refused})
	msgTask := task(t, queue.TypeProcessMessage, queue.ProcessMessagePayload{EmployeeID: 1, MessageID: "bad", SubscriptionID: "s1", NotifiedAt: time.Now()})
	err := p.Message.ProcessTask(context.Background(), msgTask)
	if !errors.Is(err, asynq.SkipRetry) || !errors.Is(err, grapherr.ErrInvalid) {
		t.Fatalf("HandleProcessMessage = %v, want ErrInvalid wrapped in asynq.SkipRetry", err)
	}
	mb, err := p.Store.MailboxByEmployee(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(mb.LastError, "ErrorInvalidIdMalformed") {
		t.Errorf("mailbox last_error = %q, want the refusal", mb.LastError)
	}
	if !mb.Syncable() {
		t.Error("a refused request disabled the mailbox")
	}

	for _, kind := range []error{grapherr.ErrTransient, grapherr.ErrThrottled, grapherr.ErrAuth} {
		p := newTestProcessor(t, graphStub{err: &grapherr.Error{Kind: kind, Op: "get message"}})
		err := p.Message.ProcessTask(context.Background(), msgTask)
		if err == nil || errors.Is(err, asynq.SkipRetry) {
			t.Errorf("%v: HandleProcessMessage = %v, want a retried error", kind, err)
		}
	}
}

// When filing attachments, the refusal is recorded on the message's decision.
func TestRefusedAttachmentRequestIsRecordedOnTheDecision(t *testing.T) {
	p := newTestProcessor(t, graphStub{})
	ctx := context.Background()
	d := match.Decision{Outcome: match.OutcomeIgnored, Reason: match.ReasonNoMatch}
	if _, err := p.Store.RecordMessage(ctx, store.MessageRecord{EmployeeID: 1, Message: model.Message{ID: "m1", InternetMessageID: "<m1@x>"}, Decision: d}); err != nil {
		t.Fatal(err)
	}
	mb, err := p.Store.MailboxByEmployee(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	refused := &grapherr.Error{Kind: grapherr.ErrInvalid, Op: "list attachments", Status: 400, Code: "BadRequest"}
	err = p.FileAttachments.filingFailure(ctx, mb, queue.FileAttachmentsPayload{EmployeeID: 1, MessageID: "m1"}, refused, p.Log)
	if !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("filingFailure = %v, want asynq.SkipRetry", err)
	}
	ds, err := p.Store.DecisionsFor(ctx, "m1")
	if err != nil || len(ds) != 1 {
		t.Fatalf("decisions: %v, %v", ds, err)
	}
	if notes := ds[0].Notes(); !strings.Contains(notes, "attachments not filed") || !strings.Contains(notes, "BadRequest") {
		t.Errorf("decision notes = %q, want the refusal", notes)
	}
}
