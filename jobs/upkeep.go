package jobs

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/dedesales/exchange-connector/internal/queue"
	"github.com/hibiken/asynq"
)

// RunUpkeep enqueues the subscription upkeep and the health check now and
// then every period until ctx ends. Every worker process runs it; the task ID of each time slot makes
// the upkeep run once per slot however many processes there are (asynq's
// Scheduler enqueues the same task ID every time, which cannot express that).
func RunUpkeep(ctx context.Context, q Enqueuer, every time.Duration, log *slog.Logger) {
	enqueue := func(slot string) {
		for _, t := range []*asynq.Task{queue.NewEnsureSubscriptionsTask(slot), queue.NewHealthCheckTask(slot)} {
			_, err := q.EnqueueContext(ctx, t, asynq.Retention(2*every))
			if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) && ctx.Err() == nil {
				log.Warn("enqueuing periodic task failed", "type", t.Type(), slog.Any("error", err))
			}
		}
	}
	// At start-up once more, whatever slot ran before: a restarted process
	// must not wait for the next slot to repair what happened while it was down.
	enqueue("start:" + time.Now().UTC().Format(time.RFC3339Nano))
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			enqueue(now.Truncate(every).UTC().Format(time.RFC3339))
		}
	}
}
