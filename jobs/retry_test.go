package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/crmhook"
	"github.com/dedesales/exchange-connector/internal/documents"
	"github.com/dedesales/exchange-connector/internal/grapherr"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/queue"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
	"github.com/dedesales/exchange-connector/internal/testenv"
)

// RetryDelay: Graph's Retry-After (rounded up, plus the second asynq's
// whole-second schedule can cost, at most an hour), 10 s more per
// retry for a message not found yet, ten minutes for a refused document
// store, the webhooks' own back-off for deliveries to the CRM, asynq's
// default otherwise.
func TestRetryDelaySchedule(t *testing.T) {
	msg := asynq.NewTask(queue.TypeProcessMessage, nil)
	wrapped := func(err error) error { return fmt.Errorf("filing: %w", err) }
	for _, tc := range []struct {
		name string
		n    int
		err  error
		task *asynq.Task
		want time.Duration
	}{
		{"throttled", 0, &grapherr.Error{Kind: grapherr.ErrThrottled, Op: "x", RetryAfter: 42 * time.Second}, msg, 43 * time.Second},
		{"throttled, wrapped", 5, wrapped(&grapherr.Error{Kind: grapherr.ErrThrottled, Op: "x", RetryAfter: 3 * time.Second}), msg, 4 * time.Second},
		{"throttled below a second", 0, &grapherr.Error{Kind: grapherr.ErrThrottled, Op: "x", RetryAfter: 10 * time.Millisecond}, msg, 2 * time.Second},
		{"throttled, fractional", 0, &grapherr.Error{Kind: grapherr.ErrThrottled, Op: "x", RetryAfter: 2128 * time.Millisecond}, msg, 4 * time.Second},
		{"throttled, huge", 0, &grapherr.Error{Kind: grapherr.ErrThrottled, Op: "x", RetryAfter: 26 * time.Hour}, msg, MaxThrottleDelay},
		{"throttled without Retry-After", 0, &grapherr.Error{Kind: grapherr.ErrThrottled, Op: "x"}, msg, 31 * time.Second},
		{"throttled without Retry-After, later", 2, &grapherr.Error{Kind: grapherr.ErrThrottled, Op: "x"}, msg, 2*time.Minute + time.Second},
		{"not found, first retry", 0, &grapherr.Error{Kind: grapherr.ErrNotFound, Op: "x"}, msg, 10 * time.Second},
		{"not found, third retry", 2, wrapped(&grapherr.Error{Kind: grapherr.ErrNotFound, Op: "x"}), msg, 30 * time.Second},
		{"notified message not found, fourth retry", 3, &grapherr.Error{Kind: grapherr.ErrNotFound, Op: "x"}, msg, time.Minute},
		{"notified message not found, last retry", 8, &grapherr.Error{Kind: grapherr.ErrNotFound, Op: "x"}, msg, 30 * time.Minute},
		{"notified message not found, beyond", 20, &grapherr.Error{Kind: grapherr.ErrNotFound, Op: "x"}, msg, 30 * time.Minute},
		{"attachments not found, fourth retry", 3, &grapherr.Error{Kind: grapherr.ErrNotFound, Op: "x"}, asynq.NewTask(queue.TypeFileAttachments, nil), 40 * time.Second},
		{"document store refused", 0, wrapped(documents.ErrAuth), asynq.NewTask(queue.TypeFileAttachments, nil), 10 * time.Minute},
		{"document store refused, late", 9, documents.ErrAuth, asynq.NewTask(queue.TypeFileAttachments, nil), 10 * time.Minute},
	} {
		if got := RetryDelay(tc.n, tc.err, tc.task); got != tc.want {
			t.Errorf("%s: RetryDelay(%d, %v) = %v, want %v", tc.name, tc.n, tc.err, got, tc.want)
		}
	}
	// The CRM webhooks decide for their own task type, whatever the error
	// (crmhook.Backoff, with up to 10 % jitter).
	deliver := asynq.NewTask(crmhook.TypeDeliver, nil)
	for _, tc := range []struct {
		n   int
		err error
	}{
		{3, &grapherr.Error{Kind: grapherr.ErrThrottled, Op: "x", RetryAfter: time.Hour}},
		{0, errors.New("502 Bad Gateway")},
		{1, documents.ErrAuth},
	} {
		got, ref := RetryDelay(tc.n, tc.err, deliver), crmhook.Backoff(tc.n)
		if float64(got) < float64(ref)/1.1 || float64(got) > float64(ref)*1.1 {
			t.Errorf("crm delivery: RetryDelay(%d, %v) = %v, want crmhook.Backoff(%d) ≈ %v", tc.n, tc.err, got, tc.n, ref)
		}
	}
	// Anything else: asynq's default, which grows with the retry count.
	other := errors.New("connection reset")
	first, later := RetryDelay(0, other, msg), RetryDelay(8, other, msg)
	if first <= 0 || later <= first {
		t.Errorf("default schedule: retry 0 after %v, retry 8 after %v; want a positive, growing delay", first, later)
	}
}

func TestIsFailure(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&grapherr.Error{Kind: grapherr.ErrThrottled, Op: "x"}, false},
		{fmt.Errorf("sync: %w", &grapherr.Error{Kind: grapherr.ErrThrottled, Op: "x"}), false},
		{&grapherr.Error{Kind: grapherr.ErrTransient, Op: "x"}, true},
		{&grapherr.Error{Kind: grapherr.ErrNotFound, Op: "x"}, true},
		{documents.ErrQuota, true},
		{errors.New("boom"), true},
	} {
		if got := IsFailure(tc.err); got != tc.want {
			t.Errorf("IsFailure(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// Throttling is no failure: asynq retries the task without using up its
// retries (here more throttled answers than the task has retries).
func TestThrottlingDoesNotUseUpRetries(t *testing.T) {
	s := storetest.Open(t, store.SQLite)
	g := newScriptGraph()
	g.put(model.Message{ID: "m1", InternetMessageID: "<m1@x>", ParentFolderID: "inbox", From: sender("kunde@example.org")})
	throttled := &grapherr.Error{Kind: grapherr.ErrThrottled, Op: "get message", Status: 429, RetryAfter: time.Second}
	g.failNext(opMessage, throttled, throttled, throttled)
	h := newTestHandlers(t, s, Deps{Graph: g})
	attempts := runRetried(t, h.Message, messageTask(t, "m1"), 1)
	if len(attempts) != 4 || attempts[3].err != nil {
		t.Fatalf("attempts %+v, want three throttled and one done", attempts)
	}
	for _, a := range attempts {
		if a.retry != 0 {
			t.Errorf("attempt %+v used up a retry", a)
		}
	}
	if ds, err := s.DecisionsFor(context.Background(), "m1"); err != nil || len(ds) != 1 {
		t.Errorf("decisions of m1: %+v, %v; want one", ds, err)
	}
}

// graphFailure, through the message handler on a real asynq server: what
// each kind of failed Graph call does to the task and the mailbox.
func TestGraphFailure(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		g := newScriptGraph()
		h := newTestHandlers(t, s, Deps{Graph: g})
		mailbox := func() store.Mailbox {
			t.Helper()
			mb, err := s.MailboxByEmployee(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			return mb
		}

		t.Run("transient failures are retried", func(t *testing.T) {
			g.put(model.Message{ID: "m-transient", InternetMessageID: "<t@x>", ParentFolderID: "inbox", From: sender("kunde@example.org")})
			g.failNext(opMessage, &grapherr.Error{Kind: grapherr.ErrTransient, Op: "get message", Status: 503},
				fmt.Errorf("graph: %w", context.DeadlineExceeded))
			attempts := runRetried(t, h.Message, messageTask(t, "m-transient"), 12)
			if len(attempts) != 3 || attempts[0].retry != 0 || attempts[2].retry != 2 || attempts[2].err != nil {
				t.Fatalf("attempts %+v, want two failures and then done", attempts)
			}
			for _, a := range attempts[:2] {
				if errors.Is(a.err, asynq.SkipRetry) {
					t.Errorf("a transient failure was not retried: %v", a.err)
				}
			}
			if ds, err := s.DecisionsFor(ctx, "m-transient"); err != nil || len(ds) != 1 {
				t.Errorf("decisions: %+v, %v; want one", ds, err)
			}
		})

		t.Run("not found is retried notifiedNotFoundRetries times, then given up", func(t *testing.T) {
			attempts := runRetried(t, h.Message, messageTask(t, "m-gone"), 12)
			if len(attempts) != notifiedNotFoundRetries+1 {
				t.Fatalf("%d attempts %+v, want %d", len(attempts), attempts, notifiedNotFoundRetries+1)
			}
			for i, a := range attempts[:notifiedNotFoundRetries] {
				if a.retry != i || !errors.Is(a.err, grapherr.ErrNotFound) || errors.Is(a.err, asynq.SkipRetry) {
					t.Errorf("attempt %d: %+v, want ErrNotFound, retried", i, a)
				}
			}
			if last := attempts[notifiedNotFoundRetries]; last.err != nil {
				t.Errorf("attempt after %d retries: %v, want the task given up (done)", notifiedNotFoundRetries, last.err)
			}
			if !strings.Contains(h.log.String(), "message not found after retries") {
				t.Errorf("no log line on giving up:\n%s", h.log.String())
			}
			if mb := mailbox(); !mb.Syncable() || mb.LastError != "" {
				t.Errorf("a missing message changed the mailbox: %+v", mb)
			}
		})

		t.Run("a permanent refusal is recorded and not retried", func(t *testing.T) {
			g.failNext(opMessage, &grapherr.Error{Kind: grapherr.KindOf(400, "ErrorInvalidIdMalformed"), Op: "get message", Status: 400,
				Code: "ErrorInvalidIdMalformed", Message: "Id is malformed."})
			attempts := runRetried(t, h.Message, messageTask(t, "m-bad"), 12)
			if len(attempts) != 1 || !errors.Is(attempts[0].err, asynq.SkipRetry) || !errors.Is(attempts[0].err, grapherr.ErrInvalid) {
				t.Fatalf("attempts %+v, want one, ErrInvalid with asynq.SkipRetry", attempts)
			}
			mb := mailbox()
			if !strings.Contains(mb.LastError, "ErrorInvalidIdMalformed") || !mb.Syncable() {
				t.Errorf("mailbox %+v, want the refusal recorded and the mailbox still synced", mb)
			}
		})

		t.Run("access denied marks the mailbox and stops", func(t *testing.T) {
			g.put(model.Message{ID: "m-after", InternetMessageID: "<a@x>", ParentFolderID: "inbox", From: sender("kunde@example.org")})
			g.failNext(opMessage, &grapherr.Error{Kind: grapherr.ErrAccessDenied, Op: "get message", Status: 403, Code: "ErrorAccessDenied"})
			before := g.count(opMessage)
			attempts := runRetried(t, h.Message, messageTask(t, "m-denied"), 12)
			if len(attempts) != 1 || attempts[0].err != nil {
				t.Fatalf("attempts %+v, want one, done", attempts)
			}
			if mb := mailbox(); mb.State() != store.MailboxAccessDenied || !strings.Contains(mb.LastError, "ErrorAccessDenied") {
				t.Errorf("mailbox state %q (%q), want access denied", mb.State(), mb.LastError)
			}
			// The cached mailbox was forgotten: the next task is dropped
			// without asking Graph.
			if err := h.Message.ProcessTask(ctx, messageTask(t, "m-after")); err != nil {
				t.Errorf("task after the denial: %v, want dropped", err)
			}
			if n := g.count(opMessage) - before; n != 1 {
				t.Errorf("%d Graph requests, want 1 (none after the denial)", n)
			}
		})
	})
}

func sender(addr string) *model.Recipient {
	return &model.Recipient{EmailAddress: model.EmailAddress{Address: addr}}
}

// messageTask is the notification task of a message of employee 1's
// current subscription (s1).
func messageTask(t *testing.T, id string) *asynq.Task {
	t.Helper()
	task, err := queue.NewProcessMessageTask(queue.ProcessMessagePayload{EmployeeID: 1, MessageID: id, SubscriptionID: "s1", NotifiedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return task
}

// On a real asynq server with RetryDelay: a throttled task is rescheduled
// no earlier than Graph's (fractional) Retry-After, and no later than
// MaxThrottleDelay however long Graph asks for.
func TestThrottledTaskRescheduledAfterRetryAfter(t *testing.T) {
	opt := testenv.Redis(t, testenv.RedisDBJobs)
	redisOpt := asynq.RedisClientOpt{Addr: opt.Addr, Username: opt.Username, Password: opt.Password, DB: opt.DB}
	const queueName = "jobs-throttle-test"
	for _, tc := range []struct {
		name       string
		retryAfter time.Duration
		min, max   time.Duration
	}{
		{"fractional", 2128 * time.Millisecond, 2128 * time.Millisecond, 5 * time.Second},
		{"huge", 26 * time.Hour, MaxThrottleDelay - time.Minute, MaxThrottleDelay + time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan time.Time, 1)
			mux := asynq.NewServeMux()
			mux.HandleFunc("test:throttled", func(context.Context, *asynq.Task) error {
				done <- time.Now()
				return &grapherr.Error{Kind: grapherr.ErrThrottled, Op: "get message", Status: 429, RetryAfter: tc.retryAfter}
			})
			srv := asynq.NewServer(redisOpt, asynq.Config{
				Concurrency: 1, Queues: map[string]int{queueName: 1},
				IsFailure: IsFailure, RetryDelayFunc: RetryDelay,
				TaskCheckInterval: 10 * time.Millisecond, LogLevel: asynq.FatalLevel,
			})
			if err := srv.Start(mux); err != nil {
				t.Fatal(err)
			}
			client := asynq.NewClient(redisOpt)
			defer client.Close()
			ins := asynq.NewInspector(redisOpt)
			defer ins.Close()
			info, err := client.Enqueue(asynq.NewTask("test:throttled", nil), asynq.Queue(queueName), asynq.MaxRetry(3))
			if err != nil {
				t.Fatal(err)
			}
			var ran time.Time
			select {
			case ran = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("task did not run")
			}
			var ti *asynq.TaskInfo
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
				if ti, err = ins.GetTaskInfo(queueName, info.ID); err == nil && ti.State == asynq.TaskStateRetry {
					break
				}
				time.Sleep(10 * time.Millisecond) // polling Redis for the state change; not synchronising the code under test
			}
			srv.Shutdown()
			if ti == nil || ti.State != asynq.TaskStateRetry {
				t.Fatalf("task %+v, want it waiting for a retry", ti)
			}
			if wait := ti.NextProcessAt.Sub(ran); wait < tc.min || wait > tc.max {
				t.Errorf("rescheduled %v after the attempt, want between %v and %v", wait, tc.min, tc.max)
			}
			if ti.Retried != 0 {
				t.Errorf("retried %d: throttling used up a retry", ti.Retried)
			}
			_ = ins.DeleteTask(queueName, info.ID)
		})
	}
}
