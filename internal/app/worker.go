package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/crmhook"
	"github.com/dedesales/exchange-connector/internal/queue"
	"github.com/dedesales/exchange-connector/jobs"
)

// newWorker returns the job side: the asynq server with every handler, the
// periodic subscription upkeep and the CRM webhooks' dispatcher tick.
func newWorker(o Options, redisOpt asynq.RedisConnOpt, h *jobs.Handlers, hooks *crmhook.Service, tasks *asynq.Client) func(context.Context) error {
	concurrency := o.WorkerConcurrency
	if concurrency == 0 {
		concurrency = 20
	}
	every := o.EnsureEvery
	if every == 0 {
		every = 5 * time.Minute
	}
	srv := asynq.NewServer(redisOpt, asynq.Config{
		Concurrency:     concurrency,
		Queues:          map[string]int{queue.QueueCritical: 6, queue.QueueDefault: 3, queue.QueueLow: 1},
		IsFailure:       jobs.IsFailure,
		RetryDelayFunc:  jobs.RetryDelay,
		ShutdownTimeout: 25 * time.Second,
		// asynq sleeps this long when the queues are empty; its default (1 s)
		// would be most of the notification-to-activity latency. 20 polls a
		// second per process cost Redis nothing worth measuring.
		TaskCheckInterval:        50 * time.Millisecond,
		DelayedTaskCheckInterval: time.Second,
		Logger:                   asynqLogger{o.Log},
		ErrorHandler: asynq.ErrorHandlerFunc(func(ctx context.Context, t *asynq.Task, err error) {
			retried, _ := asynq.GetRetryCount(ctx)
			maxRetry, _ := asynq.GetMaxRetry(ctx)
			o.Log.Warn("task failed", "type", t.Type(), "retry", retried, "max_retry", maxRetry, slog.Any("error", err))
		}),
	})
	mux := asynq.NewServeMux()
	jobs.Register(mux, h)
	hooks.Register(mux)
	return func(ctx context.Context) error {
		if err := srv.Start(mux); err != nil {
			return fmt.Errorf("worker: %w", err)
		}
		go crmhook.RunTicker(ctx, tasks, crmhook.DispatchEvery, queue.QueueCritical, o.Log)
		jobs.RunUpkeep(ctx, tasks, every, o.Log)
		srv.Shutdown()
		return nil
	}
}

// asynqLogger adapts slog to asynq's logger.
type asynqLogger struct{ l *slog.Logger }

func (a asynqLogger) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...)) }
func (a asynqLogger) Info(args ...any)  { a.l.Info(fmt.Sprint(args...)) }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...)) }
func (a asynqLogger) Error(args ...any) { a.l.Error(fmt.Sprint(args...)) }
func (a asynqLogger) Fatal(args ...any) { a.l.Error(fmt.Sprint(args...)) }
