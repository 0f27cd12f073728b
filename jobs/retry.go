package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/crmhook"
	"github.com/dedesales/exchange-connector/internal/documents"
	"github.com/dedesales/exchange-connector/internal/grapherr"
	"github.com/dedesales/exchange-connector/internal/metrics"
	"github.com/dedesales/exchange-connector/internal/queue"
	"github.com/dedesales/exchange-connector/internal/store"
)

// notFoundRetries is how often a notified message that Graph cannot find
// (a draft already sent, a message moved on) is tried again before the
// next delta round is left to pick it up.
const notFoundRetries = 3

// notifiedNotFoundDelays is the back-off of a notified message that Graph
// cannot find (yet). Graph notifies "created" for the Sent Items copy of a
// sent mail before the copy can be read: it "may not succeed immediately"
// (../shared/reference/graph.md, Errata "Delivery"); for how long is not
// documented. So the task keeps asking, sparser and sparser, for about an
// hour (10 s, 20 s, 30 s, then 1, 2, 5, 10, 15 and 30 min: 64 min in all;
// the first three are the schedule of other not-found tasks) before it
// leaves the message to a delta round, which it requests
// (notFoundYet). A message that moved on for good costs nine GETs.
var notifiedNotFoundDelays = []time.Duration{10 * time.Second, 20 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute}

// notifiedNotFoundRetries is how often a notified message that Graph
// cannot find is tried again (within the task's MaxRetry of 12).
var notifiedNotFoundRetries = len(notifiedNotFoundDelays)

// IsFailure tells asynq which errors count as failures: throttling by Graph
// does not (the task is simply retried after Retry-After).
func IsFailure(err error) bool {
	return !errors.Is(err, grapherr.ErrThrottled)
}

// RetryDelay is asynq's RetryDelayFunc: Graph's Retry-After when throttled,
// a short schedule for messages not found yet, the webhooks' back-off for
// deliveries to the CRM (crmhook.RetryDelay), asynq's default otherwise.
func RetryDelay(n int, err error, t *asynq.Task) time.Duration {
	if d, ok := crmhook.RetryDelay(n, err, t); ok {
		return d
	}
	if d, ok := grapherr.RetryAfter(err); ok {
		return throttleDelay(n, d)
	}
	if errors.Is(err, grapherr.ErrNotFound) {
		if t != nil && t.Type() == queue.TypeProcessMessage {
			return notifiedNotFoundDelays[min(max(n, 0), len(notifiedNotFoundDelays)-1)]
		}
		return time.Duration(10*(n+1)) * time.Second
	}
	if errors.Is(err, documents.ErrAuth) {
		return 10 * time.Minute // an operator must fix the credentials; no retry storm
	}
	return asynq.DefaultRetryDelayFunc(n, err, t)
}

// MaxThrottleDelay caps how long a throttled task waits for Graph's
// Retry-After: Graph asks for seconds to minutes; a larger value (a far
// HTTP date, a broken proxy) must not park the task for days.
const MaxThrottleDelay = time.Hour

// throttleDelay is when a throttled task runs again: Graph's Retry-After,
// rounded up to the second plus one (asynq stores the retry time in whole
// Unix seconds, truncated: internal/rdb Retry, processAt.Unix(), so a
// delay d runs the task between d-1 s and d later; Graph's time must have
// passed), at most MaxThrottleDelay. Without a Retry-After it backs off
// from 30 s, doubling per retry, never every second.
func throttleDelay(n int, retryAfter time.Duration) time.Duration {
	d := retryAfter
	if d <= 0 {
		d = 30 * time.Second << min(max(n, 0), 7)
	}
	d = (d + time.Second - 1).Truncate(time.Second) + time.Second
	return min(d, MaxThrottleDelay)
}

// permanent marks err as not worth retrying: asynq archives the task at
// once (the health check then reports it as a dead task).
func permanent(err error) error {
	return fmt.Errorf("%w (%w)", err, asynq.SkipRetry)
}

// notFoundYet decides a notified message that Graph answered 404 for:
// retried on notifiedNotFoundDelays while Graph may still be writing it
// (the Sent Items copy), then a defined outcome: the task ends, with a
// warning, and asks for a delta sync of the mailbox, whose next round
// stores the message if it exists by then (in this or another folder).
func (h *MessageHandler) notFoundYet(ctx context.Context, mb store.Mailbox, err error, log *slog.Logger) error {
	n, _ := asynq.GetRetryCount(ctx)
	if n < notifiedNotFoundRetries {
		log.Info("message not found yet; retrying", "retry", n, "error", err)
		h.countNotFound(metrics.NotFoundRetrying)
		return err
	}
	log.Warn("message not found after retries; leaving it to a delta sync of the mailbox",
		"retries", n, slog.Any("error", err))
	h.countNotFound(metrics.NotFoundLeftToDelta)
	if h.syncs == nil || h.syncs.enqueuer == nil { // tests without a queue
		return nil
	}
	return h.syncs.enqueueSync(ctx, mb.EmployeeID, "notfound")
}

func (h *MessageHandler) countNotFound(outcome string) {
	if h.importer != nil && h.importer.metrics != nil {
		h.importer.metrics.MessagesNotFound.WithLabelValues(outcome).Inc()
	}
}
