package crmhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/store"
)

// dispatchBudget bounds one dispatcher run; the next tick continues.
const dispatchBudget = 20 * time.Second

// enqueueParallel is how many enqueues the dispatcher has in flight.
const enqueueParallel = 16

// DispatchEvery is the default period of RunTicker: the webhooks' latency.
const DispatchEvery = 2 * time.Second

// NewDispatchTask builds a dispatcher run for the time slot of now (one
// per second): however many processes tick or changes trigger it, a slot
// runs once.
func NewDispatchTask(now time.Time, queue string) *asynq.Task {
	if queue == "" {
		queue = "default"
	}
	id := "crmhook:dispatch:" + strconv.FormatInt(now.Unix(), 10)
	return asynq.NewTask(TypeDispatch, nil, asynq.TaskID(id), asynq.Queue(queue), asynq.MaxRetry(0), asynq.Timeout(time.Minute))
}

// Trigger enqueues a dispatcher run soon (after a change was appended);
// runs already queued for this second absorb it.
func Trigger(ctx context.Context, q Enqueuer, queue string) error {
	_, err := q.EnqueueContext(ctx, NewDispatchTask(time.Now(), queue))
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("crmhook: enqueuing the dispatcher: %w", err)
	}
	return nil
}

// RunTicker enqueues a dispatcher run every period until ctx ends. Every
// worker process runs it; the per-second task ID makes simultaneous ticks one run.
func RunTicker(ctx context.Context, q Enqueuer, every time.Duration, queue string, log *slog.Logger) {
	if every <= 0 {
		every = DispatchEvery
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if err := Trigger(ctx, q, queue); err != nil && ctx.Err() == nil {
			log.Warn("webhooks: enqueuing the dispatcher failed", slog.Any("error", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// HandleDispatch runs the dispatcher. A failure is logged, not retried by
// asynq: the next tick runs it again from the stored cursor.
func (s *Service) HandleDispatch(ctx context.Context, _ *asynq.Task) error {
	n, err := s.Dispatch(ctx)
	if err != nil {
		s.cfg.Log.Warn("webhooks: dispatch failed; the next run continues from the stored cursor", slog.Int("enqueued", n), slog.Any("error", err))
		return nil
	}
	if n > 0 {
		s.cfg.Log.Debug("webhooks: deliveries enqueued", slog.Int("enqueued", n))
	}
	return nil
}

// Dispatch enqueues the deliveries of the changes after the stored cursor
// and moves the cursor past them, page by page, until the log is read (or
// the run's budget is spent). It returns how many delivery tasks it newly
// enqueued.
//
// The cursor moves only after every delivery of a page is in Redis, so a
// crash or a Redis failure before that loses nothing: the next run reads the
// page again, and the deliveries' task IDs (endpoint and change) turn what
// is already queued (or was delivered within Retention) into no-ops.
func (s *Service) Dispatch(ctx context.Context) (int, error) {
	deadline := time.Now().Add(dispatchBudget)
	total := 0
	for {
		eps, err := s.cfg.Store.WebhookEndpoints(ctx)
		if err != nil {
			return total, err
		}
		cur, err := s.cfg.Store.WebhookCursor(ctx)
		if err != nil {
			return total, err
		}
		changes, err := s.cfg.Store.Changes(ctx, cur, s.cfg.PageSize)
		if err != nil || len(changes) == 0 {
			return total, err
		}
		n, err := s.enqueuePage(ctx, eps, changes)
		total += n
		if err != nil {
			return total, err
		}
		moved, err := s.cfg.Store.AdvanceWebhookCursor(ctx, cur, changes[len(changes)-1].Cursor)
		if err != nil || !moved {
			// !moved: another run moved the cursor meanwhile; it goes on.
			return total, err
		}
		if len(changes) < s.cfg.PageSize || time.Now().After(deadline) {
			return total, nil
		}
	}
}

// enqueuePage enqueues the deliveries of a page of changes: one per change
// and endpoint that subscribed to its kind and existed when it happened.
func (s *Service) enqueuePage(ctx context.Context, eps []store.WebhookEndpoint, changes []store.Change) (int, error) {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		enqueued int
		errs     []error
		sem      = make(chan struct{}, enqueueParallel)
	)
	for _, c := range changes {
		for _, ep := range eps {
			if !ep.Subscribed(c.Kind) || c.CreatedAt.Before(ep.CreatedAt) {
				continue
			}
			task, err := s.deliveryTask(eventOf(ep.ID, c))
			if err != nil {
				return enqueued, err
			}
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				_, err := s.cfg.Queue.EnqueueContext(ctx, task)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					enqueued++
				case errors.Is(err, asynq.ErrTaskIDConflict):
					// Enqueued by an earlier run.
				default:
					errs = append(errs, err)
				}
			}()
		}
	}
	wg.Wait()
	if len(errs) > 0 {
		return enqueued, fmt.Errorf("crmhook: enqueuing deliveries (%d failed): %w", len(errs), errs[0])
	}
	return enqueued, nil
}

// deliveryTask builds the delivery of one event; its task ID is derived
// from the endpoint and the change.
func (s *Service) deliveryTask(e Event) (*asynq.Task, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("crmhook: %s payload: %w", TypeDeliver, err)
	}
	return asynq.NewTask(TypeDeliver, b,
		asynq.TaskID(DeliveryTaskID(e.EndpointID, e.ID)),
		asynq.Queue(s.cfg.TaskQueue),
		asynq.MaxRetry(MaxRetry),
		asynq.Timeout(s.sender.timeout+5*time.Second),
		asynq.Retention(s.cfg.Retention)), nil
}

// DeliveryTaskID is the asynq task ID of the delivery of event eventID to an endpoint.
func DeliveryTaskID(endpointID int64, eventID string) string {
	return "crmhook:" + strconv.FormatInt(endpointID, 10) + ":" + eventID
}
