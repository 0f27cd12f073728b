package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/dedesales/exchange-connector/internal/metrics"
	"github.com/dedesales/exchange-connector/internal/store"
)

// A valid clientState proves that the connector made the subscription for
// this employee, not that the notification is about it: the webhook checks
// the HMAC without a database (DESIGN §7), and clientState and
// subscriptionId are both in the body. So the handlers of notification
// tasks check here that the subscription ID is the mailbox's current one
// before they act; otherwise one leaked clientState would let anybody start
// full syncs ("missed") or make the connector fetch messages at will.

// subscriptionsTTL is how long a confirmed subscription ID is trusted
// without asking the store again. Only IDs that matched are cached, so a
// stale entry can only accept the mailbox's own previous subscription for
// this long after it was replaced.
const subscriptionsTTL = time.Minute

// subscriptionGate answers whether a subscription ID is a mailbox's
// current subscription.
type subscriptionGate struct {
	lookup func(ctx context.Context, employeeID int64) (store.SubscriptionRow, error)
	known  *ttlCache[int64, string] // employee ID → confirmed subscription ID
	// metrics, when set, counts the tasks dropped by check.
	metrics *metrics.Metrics
}

func newSubscriptionGate(lookup func(context.Context, int64) (store.SubscriptionRow, error), m *metrics.Metrics) *subscriptionGate {
	return &subscriptionGate{lookup: lookup, known: newTTLCache[int64, string](subscriptionsTTL), metrics: m}
}

// current reports whether subscriptionID is the stored subscription of the
// employee's mailbox (active or failing to renew). It fails closed: when
// the store cannot be asked, the error makes asynq retry the task.
func (g *subscriptionGate) current(ctx context.Context, employeeID int64, subscriptionID string) (bool, error) {
	if subscriptionID == "" {
		return false, nil
	}
	if id, ok := g.known.get(employeeID); ok && id == subscriptionID {
		return true, nil
	}
	row, err := g.lookup(ctx, employeeID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("checking the notification's subscription: %w", err)
	}
	if row.GraphID != subscriptionID {
		return false, nil
	}
	g.known.put(employeeID, row.GraphID)
	return true, nil
}

// check checks a notification task's subscription: ok
// is false, and the task done, when it is not the mailbox's current one
// (logged at warning level and counted); err is a failed look-up, retried.
func (g *subscriptionGate) check(ctx context.Context, taskType string, employeeID int64, subscriptionID string, log *slog.Logger) (ok bool, err error) {
	ok, err = g.current(ctx, employeeID, subscriptionID)
	if err != nil || ok {
		return ok, err
	}
	// A notification of a subscription just replaced lands here too; the
	// sync that follows every new subscription picks up its mail.
	log.Warn("task dropped: its subscription is not the mailbox's current one (a forged or stale notification)")
	if g.metrics != nil {
		g.metrics.TasksDropped.WithLabelValues(taskType, metrics.ReasonUnknownSubscription).Inc()
	}
	return false, nil
}
