package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dedesales/exchange-connector/internal/grapherr"
	"github.com/dedesales/exchange-connector/internal/graphsim"
	"github.com/dedesales/exchange-connector/internal/metrics"
	"github.com/dedesales/exchange-connector/internal/queue"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
	"github.com/dedesales/exchange-connector/internal/testenv"
)

// Graph notifies "created" for the Sent Items copy of a sent mail before
// the copy can be read: "may not succeed immediately" (graph.md Errata).
// The simulator's notFoundAfterCreated hides such a message for a while on
// its own clock; runAdvancing moves that clock by the product's real retry
// delays, so the back-off meets the window without waiting for it.

// runAdvancing is runRetried with the product's back-off played on the
// simulator's clock: before each retry the clock moves on by the delay
// RetryDelay gave for the failed attempt (asynq itself retries at once).
func runAdvancing(t *testing.T, sim *graphsim.Running, h asynq.Handler, task *asynq.Task, maxRetry int) []attempt {
	t.Helper()
	opt := testenv.Redis(t, testenv.RedisDBJobs)
	redisOpt := asynq.RedisClientOpt{Addr: opt.Addr, Username: opt.Username, Password: opt.Password, DB: opt.DB}
	const queueName = "jobs-delivery-test"
	seen := make(chan attempt, 64)
	var prev error
	mux := asynq.NewServeMux()
	mux.HandleFunc(task.Type(), func(ctx context.Context, t *asynq.Task) error {
		n, _ := asynq.GetRetryCount(ctx)
		if n > 0 {
			sim.AdvanceClock(RetryDelay(n-1, prev, t))
		}
		err := h.ProcessTask(ctx, t)
		prev = err
		seen <- attempt{retry: n, err: err}
		return err
	})
	srv := asynq.NewServer(redisOpt, asynq.Config{
		Concurrency: 1, Queues: map[string]int{queueName: 1},
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
	if _, err := client.Enqueue(task, asynq.Queue(queueName), asynq.MaxRetry(maxRetry)); err != nil {
		t.Fatal(err)
	}
	var out []attempt
	timeout := time.After(30 * time.Second)
	for {
		select {
		case a := <-seen:
			out = append(out, a)
			if a.err == nil || errors.Is(a.err, asynq.SkipRetry) || IsFailure(a.err) && a.retry >= maxRetry {
				return out
			}
		case <-timeout:
			t.Fatalf("task not finished after 30 s; attempts so far: %+v", out)
		}
	}
}

// sentCopy creates a mail in Anna's Sent Items that Graph notifies at once
// and lets read only after hiddenFor, and returns its notified task.
func sentCopy(t *testing.T, sim *graphsim.Running, hiddenFor string) (string, *asynq.Task) {
	t.Helper()
	sim.SetFaults(graphsim.Faults{Delivery: graphsim.Delivery{NotFoundAfterCreated: hiddenFor, NotFoundFolders: []string{"sentitems"}}})
	m, err := sim.CreateMessage(graphsim.MessageInput{Mailbox: annaAddr, Folder: "sentitems", Message: map[string]any{
		"subject":      "Angebot " + hiddenFor,
		"from":         map[string]any{"emailAddress": map[string]any{"address": annaAddr}},
		"toRecipients": []any{map[string]any{"emailAddress": map[string]any{"address": customerAddress}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	sim.SetFaults(graphsim.Faults{})
	task, err := queue.NewProcessMessageTask(queue.ProcessMessagePayload{EmployeeID: 1, UserID: m.Mailbox, MessageID: m.ID,
		SubscriptionID: "s1", ChangeType: "created", NotifiedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return m.ID, task
}

// The notified task keeps asking, with back-off, long enough for a copy
// that takes 20 minutes to appear, and stores it once. Fails with a
// back-off that gives up after a minute.
func TestSentItemsCopyNotFoundAtFirstIsImported(t *testing.T) {
	sim, c := startGraphSim(t)
	s := storetest.Open(t, store.SQLite)
	q := &taskQueue{}
	h := newTestHandlers(t, s, Deps{Graph: c, Enqueuer: q})
	id, task := sentCopy(t, sim, "20m")

	attempts := runAdvancing(t, sim, h.Message, task, 12)
	if last := attempts[len(attempts)-1]; last.err != nil || len(attempts) < 2 {
		t.Fatalf("attempts %+v, want 404s and then done", attempts)
	}
	ds, err := s.DecisionsFor(context.Background(), id)
	if err != nil || len(ds) != 1 {
		t.Fatalf("decisions of the Sent Items copy: %+v, %v; want one", ds, err)
	}
	if syncs := q.take(queue.TypeSyncMailbox); len(syncs) != 0 {
		t.Errorf("%d syncs requested although the message was found", len(syncs))
	}
}

// A copy that stays unreadable for longer than the back-off (3 hours) has
// a defined outcome: the task ends, asks for a delta sync of the mailbox,
// and that sync stores the message once it is there.
func TestSentItemsCopyNotFoundForHoursIsLeftToDelta(t *testing.T) {
	sim, c := startGraphSim(t)
	s := storetest.Open(t, store.SQLite)
	q := &taskQueue{}
	h := newTestHandlers(t, s, Deps{Graph: c, Enqueuer: q})
	ctx := context.Background()
	// The mailbox's first sync (the backfill) before the mail is sent.
	if err := h.Sync.ProcessTask(ctx, syncTask(t)); err != nil {
		t.Fatal(err)
	}
	id, task := sentCopy(t, sim, "3h")

	attempts := runAdvancing(t, sim, h.Message, task, 12)
	last := attempts[len(attempts)-1]
	if last.err != nil || len(attempts) != notifiedNotFoundRetries+1 {
		t.Fatalf("%d attempts %+v, want %d and then done", len(attempts), attempts, notifiedNotFoundRetries+1)
	}
	if ds, _ := s.DecisionsFor(ctx, id); len(ds) != 0 {
		t.Fatalf("decided before the message could be read: %+v", ds)
	}
	syncs := q.take(queue.TypeSyncMailbox)
	if len(syncs) != 1 {
		t.Fatalf("%d syncs requested, want 1", len(syncs))
	}
	var pl queue.SyncMailboxPayload
	if err := json.Unmarshal(syncs[0].Payload(), &pl); err != nil || pl.EmployeeID != 1 || pl.Reason != "notfound" {
		t.Errorf("sync payload %+v, %v", pl, err)
	}
	if !strings.Contains(h.log.String(), "message not found after retries") {
		t.Errorf("no log line on giving up:\n%s", h.log.String())
	}
	if got := testutil.ToFloat64(h.Metrics.MessagesNotFound.WithLabelValues(metrics.NotFoundLeftToDelta)); got != 1 {
		t.Errorf("messages left to delta counted %v, want 1", got)
	}
	if got := testutil.ToFloat64(h.Metrics.MessagesNotFound.WithLabelValues(metrics.NotFoundRetrying)); got != float64(notifiedNotFoundRetries) {
		t.Errorf("retries counted %v, want %d", got, notifiedNotFoundRetries)
	}

	sim.AdvanceClock(2 * time.Hour) // the copy appears
	if err := h.Sync.ProcessTask(ctx, syncs[0]); err != nil {
		t.Fatal(err)
	}
	if ds, err := s.DecisionsFor(ctx, id); err != nil || len(ds) != 1 {
		t.Errorf("decisions after the sync: %+v, %v; want one", ds, err)
	}
}

// The back-off of a notified message not found spans at least an hour.
func TestNotifiedNotFoundBackoffSpansAnHour(t *testing.T) {
	task := messageTask(t, "m")
	var sum time.Duration
	for n := range notifiedNotFoundRetries {
		sum += RetryDelay(n, &grapherr.Error{Kind: grapherr.ErrNotFound, Op: "get message", Status: 404}, task)
	}
	if sum < time.Hour {
		t.Errorf("a notified message not found is given up after %v, want at least an hour", sum)
	}
}
