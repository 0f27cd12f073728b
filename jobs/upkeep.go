package jobs

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/queue"
	"github.com/dedesales/exchange-connector/internal/store"
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

// Upkeep batches: mailboxes read per query, and subscriptions created or
// renewed at once (each a Graph request plus Graph's validation handshake
// against our endpoint, so a round of 10,000 new mailboxes is not 10,000
// round trips in a row).
const (
	upkeepBatch       = 500
	upkeepConcurrency = 8
)

// ProcessTask runs periodically: every syncable mailbox gets a
// subscription (created, then a catch-up sync), subscriptions close to
// expiry are renewed (recreated when Graph lost them), those of mailboxes
// no longer synced are deleted, and mailboxes not synced for a while get a
// safety-net sync. Rounds run one at a time (lock). It reads only the mailboxes with something due
// (store.UpkeepDue, in keyset batches), so a round where nothing is due is
// one query per 500 mailboxes; the due ones are worked on
// upkeepConcurrency at a time, in employee order, so that a restart
// resumes where the last round stopped (what is done is no longer due).
func (h *EnsureSubscriptionsHandler) ProcessTask(ctx context.Context, _ *asynq.Task) error {
	// One round at a time across the processes: two rounds at once would
	// both find a new mailbox without a subscription and both create one
	// (the second replaces the first, whose notifications are then stale).
	// The round that waited finds what the first did no longer due.
	if h.lock != nil {
		release, err := h.lock.Acquire(ctx, "ensure-subscriptions")
		if err != nil {
			return err
		}
		defer release()
	}
	now := h.now()
	q := store.UpkeepDueQuery{Now: now, RenewBy: now.Add(h.renewBefore), SweepBefore: now.Add(-h.sweepEvery), Limit: upkeepBatch}
	var (
		mu   sync.Mutex
		errs []error
	)
	for {
		mbs, err := h.st.UpkeepDue(ctx, q)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		work := make(chan store.Mailbox)
		var wg sync.WaitGroup
		for range min(upkeepConcurrency, len(mbs)) {
			wg.Go(func() {
				for mb := range work {
					log := h.log.With("task", queue.TypeEnsureSubscriptions, "employee_id", mb.EmployeeID, "mailbox", mb.Address)
					if err := h.ensureMailbox(ctx, mb, log); err != nil {
						log.Error("subscription upkeep failed", slog.Any("error", err))
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
					}
				}
			})
		}
		for _, mb := range mbs {
			if ctx.Err() != nil {
				break
			}
			work <- mb
		}
		close(work)
		wg.Wait()
		if len(mbs) < q.Limit || ctx.Err() != nil {
			break
		}
		q.AfterID = mbs[len(mbs)-1].EmployeeID
	}
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// expirySpreadShare: subscriptions ask for an expiry up to lifetime/16
// (about 10 h of the default 6.5 days) short of the full lifetime, by a
// fixed share per mailbox. 10,000 subscriptions created in one upkeep then
// come due for renewal over those hours instead of in one round six days
// later; and since each mailbox's renewal period differs by its share, they
// drift further apart with every renewal.
const expirySpreadShare = 16

// expirySpread is how much shorter than lifetime the subscription of an
// employee asks to live: a hash of the employee ID over [0, lifetime/16).
func expirySpread(employeeID int64, lifetime time.Duration) time.Duration {
	span := lifetime / expirySpreadShare
	if span < time.Second {
		return 0
	}
	h := fnv.New64a()
	_ = binary.Write(h, binary.BigEndian, employeeID)
	return time.Duration(h.Sum64()%uint64(span/time.Second)) * time.Second
}

// expiry is the expiry a new or renewed subscription of the employee asks for.
func (s *subscriber) expiry(employeeID int64) time.Time {
	return s.now().Add(s.lifetime - expirySpread(employeeID, s.lifetime))
}

// sweepDue reports whether a mailbox gets the safety-net sync: not synced
// for sweepEvery, or never synced, unless its subscription was made (with
// its first sync queued) less than sweepEvery ago. Without that exception
// every upkeep round queued another sync of each mailbox whose first sync
// was still waiting (the sync's task ID dedupes within a minute only): at
// 10,000 new mailboxes, 16,000 sync tasks instead of 10,000.
// store.UpkeepDue selects by the same rule.
func sweepDue(mb store.Mailbox, sub store.SubscriptionRow, subscribed bool, now time.Time, sweepEvery time.Duration) bool {
	if mb.LastSyncAt != nil {
		return now.Sub(*mb.LastSyncAt) > sweepEvery
	}
	return !subscribed || sub.Status != store.SubscriptionActive || now.Sub(sub.CreatedAt) >= sweepEvery
}
