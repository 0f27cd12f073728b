package jobs

import (
	"bytes"
	"context"
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
	"github.com/dedesales/exchange-connector/internal/metrics"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/queue"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// recordingGraph records the calls the handlers make and fails each with a
// transient error, so that a test sees whether a task got past its checks.
type recordingGraph struct {
	mu    sync.Mutex
	calls []string
}

var errGraphCalled = &grapherr.Error{Kind: grapherr.ErrTransient, Op: "test", Message: "Graph was called"}

func (g *recordingGraph) record(call string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls = append(g.calls, call)
}

func (g *recordingGraph) called() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.calls...)
}

func (g *recordingGraph) Message(_ context.Context, _, id string) (*model.Message, error) {
	g.record("message " + id)
	return nil, errGraphCalled
}
func (g *recordingGraph) FolderTree(context.Context, string) ([]model.MailFolder, error) {
	g.record("folders")
	return nil, errGraphCalled
}
func (g *recordingGraph) Delta(context.Context, string, string, string, time.Time) (model.DeltaPage, error) {
	g.record("delta")
	return model.DeltaPage{}, errGraphCalled
}
func (g *recordingGraph) ListReceived(context.Context, string, string, string, time.Time, time.Time) (model.DeltaPage, error) {
	g.record("list")
	return model.DeltaPage{}, errGraphCalled
}
func (g *recordingGraph) CreateSubscription(context.Context, model.Subscription) (model.Subscription, error) {
	g.record("create")
	return model.Subscription{}, errGraphCalled
}
func (g *recordingGraph) RenewSubscription(context.Context, string, time.Time) (model.Subscription, error) {
	g.record("renew")
	return model.Subscription{}, errGraphCalled
}
func (g *recordingGraph) ReauthorizeSubscription(_ context.Context, id string) error {
	g.record("reauthorize " + id)
	return errGraphCalled
}
func (g *recordingGraph) DeleteSubscription(context.Context, string) error {
	g.record("delete")
	return errGraphCalled
}

// recordingQueue records the task types enqueued.
type recordingQueue struct {
	mu    sync.Mutex
	types []string
}

func (q *recordingQueue) EnqueueContext(_ context.Context, t *asynq.Task, _ ...asynq.Option) (*asynq.TaskInfo, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.types = append(q.types, t.Type())
	return &asynq.TaskInfo{}, nil
}

func (q *recordingQueue) enqueued() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]string(nil), q.types...)
}

// A notification or lifecycle task acts only when its subscription ID is the
// mailbox's stored one: a valid clientState with a foreign subscriptionId (a
// leaked state, a forged "missed") is dropped, logged and counted, and a
// failed look-up is retried rather than trusted.
func TestTasksOfUnknownSubscriptionsAreDropped(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		mailbox := "anna.berger@dedenet.de"
		if _, err := s.ImportCRM(ctx, &crmfile.File{Employees: []model.Employee{
			{ID: 1, Name: "Anna Berger", Email: mailbox, ExchangeMailbox: &mailbox, Active: true},
			{ID: 2, Name: "Peter Kraus", Email: "peter.kraus@dedenet.de", ExchangeMailbox: ptrTo("peter.kraus@dedenet.de"), Active: true},
		}}); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveSubscription(ctx, 1, model.Subscription{ID: "sub-anna", Resource: "/users/" + mailbox + "/messages",
			ExpiresAt: time.Now().Add(24 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		g, q := &recordingGraph{}, &recordingQueue{}
		m := metrics.New(prometheus.NewRegistry())
		p := NewHandlers(Deps{Store: s, Graph: g, Enqueuer: q, Metrics: m,
			Log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})

		message := func(employee int64, sub string) error {
			task, err := queue.NewProcessMessageTask(queue.ProcessMessagePayload{EmployeeID: employee, MessageID: "m-" + sub, SubscriptionID: sub, NotifiedAt: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			return p.Message.ProcessTask(ctx, task)
		}
		lifecycle := func(employee int64, sub, event string) error {
			task, err := queue.NewLifecycleTask(queue.LifecyclePayload{EmployeeID: employee, SubscriptionID: sub, Event: event, NotifiedAt: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			return p.Lifecycle.ProcessTask(ctx, task)
		}
		dropped := func(typ string) float64 {
			return testutil.ToFloat64(m.TasksDropped.WithLabelValues(typ, metrics.ReasonUnknownSubscription))
		}

		// Forged: Anna's clientState with another subscription ID, or none;
		// Peter has no subscription at all.
		for _, sub := range []string{"sub-forged", ""} {
			if err := message(1, sub); err != nil {
				t.Errorf("message of subscription %q: %v, want dropped", sub, err)
			}
			for _, ev := range []string{model.EventMissed, model.EventReauthorizationRequired, model.EventSubscriptionRemoved} {
				if err := lifecycle(1, sub, ev); err != nil {
					t.Errorf("%s of subscription %q: %v, want dropped", ev, sub, err)
				}
			}
		}
		if err := lifecycle(2, "sub-anna", model.EventMissed); err != nil {
			t.Errorf("missed for a mailbox without subscription: %v", err)
		}
		if c, e := g.called(), q.enqueued(); len(c) != 0 || len(e) != 0 {
			t.Fatalf("forged tasks reached Graph %q or the queue %q", c, e)
		}
		if dropped(queue.TypeProcessMessage) != 2 || dropped(queue.TypeLifecycle) != 7 {
			t.Errorf("dropped: %v messages, %v lifecycle events; want 2 and 7", dropped(queue.TypeProcessMessage), dropped(queue.TypeLifecycle))
		}
		if n := strings.Count(logs.String(), "level=WARN msg=\"task dropped: its subscription is not the mailbox's current one"); n != 9 {
			t.Errorf("%d warnings, want 9:\n%s", n, logs.String())
		}
		if !strings.Contains(logs.String(), "subscription_id=sub-forged") {
			t.Errorf("the warning does not name the subscription:\n%s", logs.String())
		}

		// The real subscription gets through (twice: once from the store,
		// once from the cache).
		for range 2 {
			if err := message(1, "sub-anna"); !errors.Is(err, errGraphCalled) {
				t.Errorf("message of the current subscription: %v, want it fetched", err)
			}
		}
		if err := lifecycle(1, "sub-anna", model.EventMissed); err != nil {
			t.Errorf("missed of the current subscription: %v", err)
		}
		if err := lifecycle(1, "sub-anna", model.EventReauthorizationRequired); !errors.Is(err, errGraphCalled) {
			t.Errorf("reauthorizationRequired of the current subscription: %v", err)
		}
		if c, e := g.called(), q.enqueued(); len(c) != 3 || len(e) != 1 || e[0] != queue.TypeSyncMailbox {
			t.Errorf("current subscription: Graph %q, queue %q", c, e)
		}

		// When the store cannot say, the task fails (and is retried).
		p.Message.subscriptions.known.forget(1)
		s.Close()
		if err := message(1, "sub-anna"); err == nil || errors.Is(err, errGraphCalled) {
			t.Errorf("message with the store down: %v, want a look-up error", err)
		}
		if err := lifecycle(1, "sub-anna", model.EventMissed); err == nil {
			t.Error("missed with the store down was accepted")
		}
		if len(g.called()) != 3 || len(q.enqueued()) != 1 {
			t.Errorf("with the store down: Graph %q, queue %q", g.called(), q.enqueued())
		}
	})
}

func ptrTo[T any](v T) *T { return &v }
