package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/metrics"
	"github.com/dedesales/exchange-connector/internal/queue"
	"github.com/dedesales/exchange-connector/internal/store"
)

// queues are the queues connector_queue_tasks reports.
var queues = []string{queue.QueueCritical, queue.QueueDefault, queue.QueueLow}

// queueStats reads the queues' sizes and latencies for the metrics; a queue
// Redis does not know yet is empty.
func queueStats(insp *asynq.Inspector) func(context.Context) ([]metrics.QueueStats, error) {
	return func(ctx context.Context) ([]metrics.QueueStats, error) {
		var out []metrics.QueueStats
		for _, q := range queues {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			info, err := insp.GetQueueInfo(q)
			if errors.Is(err, asynq.ErrQueueNotFound) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("queue %s: %w", q, err)
			}
			out = append(out, metrics.QueueStats{Queue: q, Latency: info.Latency, Tasks: map[string]int{
				"pending": info.Pending, "active": info.Active, "scheduled": info.Scheduled, "retry": info.Retry, "archived": info.Archived}})
		}
		return out, nil
	}
}

// mailboxCounts reads the mailbox gauges from the database.
func mailboxCounts(st *store.Store) func(context.Context) (metrics.MailboxCounts, error) {
	return func(ctx context.Context) (metrics.MailboxCounts, error) {
		n, err := st.MailboxCounts(ctx)
		if err != nil {
			return metrics.MailboxCounts{}, err
		}
		return metrics.MailboxCounts{ByState: n.ByState, InError: map[string]int{
			"last_error": n.LastError, "subscription_failed": n.SubscriptionFailed}}, nil
	}
}
