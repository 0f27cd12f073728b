package jobs

import (
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/crmhook"
	"github.com/dedesales/exchange-connector/internal/documents"
	"github.com/dedesales/exchange-connector/internal/grapherr"
)

// notFoundRetries is how often a notified message that Graph cannot find
// (a draft already sent, a message moved on) is tried again before the
// next delta round is left to pick it up.
const notFoundRetries = 3

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
