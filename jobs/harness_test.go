package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/alert"
	"github.com/dedesales/exchange-connector/internal/grapherr"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/testenv"
)

// The handler tests below use a scripted stand-in for the consumer-side
// seam Graph (jobs may not import the Graph SDK, so internal/graph and its
// simulator are tested together in internal/app), the real store on SQLite
// and PostgreSQL (storetest.Each) and, where asynq's retry count matters,
// a real asynq server on Redis.

// scriptGraph is one mailbox at Graph: messages by ID in folders, a folder
// tree, subscriptions; fail scripts errors per operation, returned in turn
// before the operation succeeds again. Every call is recorded.
type scriptGraph struct {
	mu       sync.Mutex
	messages map[string]model.Message
	folders  []model.MailFolder
	subs     map[string]model.Subscription
	nextSub  int
	fail     map[string][]error
	calls    []string
}

// Operations of scriptGraph, for fail and calls.
const (
	opMessage     = "message"
	opFolders     = "folders"
	opDelta       = "delta"
	opCreate      = "create"
	opRenew       = "renew"
	opReauthorize = "reauthorize"
	opDelete      = "delete"
)

func newScriptGraph() *scriptGraph {
	return &scriptGraph{messages: map[string]model.Message{}, subs: map[string]model.Subscription{}, fail: map[string][]error{},
		folders: []model.MailFolder{
			{ID: "root", WellKnownName: "msgfolderroot"},
			{ID: "inbox", ParentID: "root", WellKnownName: "inbox", DisplayName: "Inbox"},
			{ID: "sent", ParentID: "root", WellKnownName: "sentitems", DisplayName: "Sent Items"},
			{ID: "junk", ParentID: "root", WellKnownName: "junkemail", DisplayName: "Junk"},
		}}
}

// failNext makes the next calls of op fail with errs, in turn.
func (g *scriptGraph) failNext(op string, errs ...error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.fail[op] = append(g.fail[op], errs...)
}

func (g *scriptGraph) put(ms ...model.Message) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, m := range ms {
		g.messages[m.ID] = m
	}
}

// call records op and returns its next scripted error.
func (g *scriptGraph) call(op string) error {
	g.calls = append(g.calls, op)
	if errs := g.fail[op]; len(errs) > 0 {
		g.fail[op] = errs[1:]
		return errs[0]
	}
	return nil
}

// count returns how often op was called.
func (g *scriptGraph) count(op string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, c := range g.calls {
		if c == op {
			n++
		}
	}
	return n
}

func (g *scriptGraph) Message(_ context.Context, _, id string) (*model.Message, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.call(opMessage); err != nil {
		return nil, err
	}
	m, ok := g.messages[id]
	if !ok {
		return nil, &grapherr.Error{Kind: grapherr.ErrNotFound, Op: "get message", Status: 404}
	}
	return &m, nil
}

func (g *scriptGraph) FolderTree(context.Context, string) ([]model.MailFolder, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.call(opFolders); err != nil {
		return nil, err
	}
	return slices.Clone(g.folders), nil
}

// Delta answers a fresh round with every message of the folder, split
// into pages of one, and a round from a delta link with nothing new.
func (g *scriptGraph) Delta(_ context.Context, _, folderID, link string, _ time.Time) (model.DeltaPage, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.call(opDelta); err != nil {
		return model.DeltaPage{}, err
	}
	done := model.DeltaPage{DeltaLink: "delta:" + folderID}
	if link == done.DeltaLink {
		return done, nil
	}
	var ids []string
	for id, m := range g.messages {
		if m.ParentFolderID == folderID {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	page := 0
	if link != "" {
		if _, err := fmt.Sscanf(link, "next:"+folderID+":%d", &page); err != nil {
			return model.DeltaPage{}, fmt.Errorf("bad link %q", link)
		}
	}
	if page >= len(ids) {
		return done, nil
	}
	return model.DeltaPage{Messages: []model.Message{g.messages[ids[page]]}, NextLink: fmt.Sprintf("next:%s:%d", folderID, page+1)}, nil
}

// ListReceived is not scripted: the fake's rounds never reach the cap.
func (g *scriptGraph) ListReceived(context.Context, string, string, string, time.Time, time.Time) (model.DeltaPage, error) {
	return model.DeltaPage{}, errors.New("scriptGraph: ListReceived not scripted")
}

func (g *scriptGraph) CreateSubscription(_ context.Context, s model.Subscription) (model.Subscription, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.call(opCreate); err != nil {
		return model.Subscription{}, err
	}
	g.nextSub++
	s.ID = fmt.Sprintf("graph-sub-%d", g.nextSub)
	g.subs[s.ID] = s
	return s, nil
}

func (g *scriptGraph) RenewSubscription(_ context.Context, id string, expires time.Time) (model.Subscription, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.call(opRenew); err != nil {
		return model.Subscription{}, err
	}
	s, ok := g.subs[id]
	if !ok {
		return model.Subscription{}, &grapherr.Error{Kind: grapherr.ErrNotFound, Op: "renew subscription", Status: 404}
	}
	s.ExpiresAt = expires
	g.subs[id] = s
	return s, nil
}

func (g *scriptGraph) ReauthorizeSubscription(_ context.Context, id string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.call(opReauthorize); err != nil {
		return err
	}
	if _, ok := g.subs[id]; !ok {
		return &grapherr.Error{Kind: grapherr.ErrNotFound, Op: "reauthorize subscription", Status: 404}
	}
	return nil
}

func (g *scriptGraph) DeleteSubscription(_ context.Context, id string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.call(opDelete); err != nil {
		return err
	}
	delete(g.subs, id)
	return nil
}

// attempt is one run of a task by the asynq server.
type attempt struct {
	retry int // asynq.GetRetryCount
	err   error
}

// runRetried runs task with h on a real asynq server (Redis) as the
// worker does: IsFailure decides what counts as a failure; the retry delay
// is zero instead of RetryDelay (tested on its own), so that the retries
// follow at once. It returns every attempt until the task succeeded, was
// skipped (asynq.SkipRetry) or had its last retry.
func runRetried(t *testing.T, h asynq.Handler, task *asynq.Task, maxRetry int) []attempt {
	t.Helper()
	opt := testenv.Redis(t, testenv.RedisDBJobs)
	redisOpt := asynq.RedisClientOpt{Addr: opt.Addr, Username: opt.Username, Password: opt.Password, DB: opt.DB}
	seen := make(chan attempt, 64)
	mux := asynq.NewServeMux()
	mux.HandleFunc(task.Type(), func(ctx context.Context, t *asynq.Task) error {
		n, _ := asynq.GetRetryCount(ctx)
		err := h.ProcessTask(ctx, t)
		seen <- attempt{retry: n, err: err}
		return err
	})
	srv := asynq.NewServer(redisOpt, asynq.Config{
		Concurrency: 1, Queues: map[string]int{"jobs-test": 1},
		IsFailure:                IsFailure,
		RetryDelayFunc:           func(int, error, *asynq.Task) time.Duration { return 0 },
		TaskCheckInterval:        10 * time.Millisecond,
		DelayedTaskCheckInterval: 20 * time.Millisecond,
		LogLevel:                 asynq.FatalLevel,
	})
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	client := asynq.NewClient(redisOpt)
	defer client.Close()
	if _, err := client.Enqueue(task, asynq.Queue("jobs-test"), asynq.MaxRetry(maxRetry)); err != nil {
		t.Fatal(err)
	}
	var out []attempt
	timeout := time.After(30 * time.Second)
	for {
		select {
		case a := <-seen:
			out = append(out, a)
			failed := a.err != nil && IsFailure(a.err)
			if a.err == nil || errors.Is(a.err, asynq.SkipRetry) || failed && a.retry >= maxRetry {
				return out
			}
		case <-timeout:
			t.Fatalf("task %s not finished after 30 s; attempts so far: %+v", task.Type(), out)
		}
	}
}

// memAlerts records the alerts raised and cleared, by kind and key.
type memAlerts struct {
	mu     sync.Mutex
	raised map[string]alert.Alert
}

func (m *memAlerts) Raise(_ context.Context, a alert.Alert) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.raised == nil {
		m.raised = map[string]alert.Alert{}
	}
	m.raised[a.Kind+"/"+a.Key] = a
	return nil
}

func (m *memAlerts) Clear(_ context.Context, kind, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.raised, kind+"/"+key)
	return nil
}

func (m *memAlerts) has(kind, key string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.raised[kind+"/"+key]
	return ok
}
