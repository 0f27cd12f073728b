package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/grapherr"
	"github.com/dedesales/exchange-connector/internal/metrics"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/store"
)

// HandleEnsureSubscriptions runs periodically: every syncable mailbox gets a
// subscription (created, then a catch-up sync), subscriptions close to
// expiry are renewed (recreated when Graph lost them), those of mailboxes
// no longer synced are deleted, and mailboxes not synced for a while get a
// safety-net sync.
func (p *Processor) HandleEnsureSubscriptions(ctx context.Context, _ *asynq.Task) error {
	mbs, err := p.Store.Mailboxes(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, mb := range mbs {
		log := p.Log.With("task", TypeEnsureSubscriptions, "employee_id", mb.EmployeeID, "mailbox", mb.Address)
		if err := p.ensureMailbox(ctx, mb, log); err != nil {
			log.Error("subscription upkeep failed", slog.Any("error", err))
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (p *Processor) ensureMailbox(ctx context.Context, mb store.Mailbox, log *slog.Logger) error {
	row, err := p.Store.SubscriptionOf(ctx, mb.EmployeeID)
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if !mb.Syncable() {
		if exists {
			return p.unsubscribe(ctx, mb, row, log)
		}
		return nil
	}
	var subErr error
	switch {
	case !exists || row.Status == store.SubscriptionFailed:
		subErr = p.subscribe(ctx, mb, "backfill", log)
	case row.ExpiresAt.Sub(p.Now()) < p.RenewBefore:
		subErr = p.renew(ctx, mb, row, log)
	}
	// The safety net runs even when the subscription could not be made:
	// without notifications, the periodic sync is all that brings mail in.
	if mb.LastSyncAt == nil || p.Now().Sub(*mb.LastSyncAt) > p.SweepEvery {
		return errors.Join(subErr, p.enqueueSync(ctx, mb.EmployeeID, "sweep"))
	}
	return subErr
}

// subscribe creates a subscription (Graph runs the validation handshake
// against our endpoint before it answers) and then catches up with a sync.
func (p *Processor) subscribe(ctx context.Context, mb store.Mailbox, reason string, log *slog.Logger) error {
	base := strings.TrimRight(p.PublicURL, "/")
	sub, err := p.Graph.CreateSubscription(ctx, model.Subscription{
		Resource:                 "/users/" + mb.Address + "/messages",
		ChangeType:               "created",
		NotificationURL:          base + "/graph/notifications",
		LifecycleNotificationURL: base + "/graph/lifecycle",
		ClientState:              p.Keys.Generate(mb.EmployeeID),
		ExpiresAt:                p.Now().Add(p.SubscriptionLifetime),
	})
	if err != nil {
		if ferr := p.Store.SubscriptionFailedNow(ctx, mb.EmployeeID, err.Error()); ferr != nil {
			return ferr
		}
		if errors.Is(err, grapherr.ErrAccessDenied) {
			return p.Store.MarkMailboxAccessDenied(ctx, mb.EmployeeID, err.Error())
		}
		return fmt.Errorf("creating subscription: %w", err)
	}
	if err := p.Store.SaveSubscription(ctx, mb.EmployeeID, sub); err != nil {
		return err
	}
	log.Info("subscription created", "subscription_id", sub.ID, "expires", sub.ExpiresAt)
	return p.enqueueSync(ctx, mb.EmployeeID, reason)
}

func (p *Processor) renew(ctx context.Context, mb store.Mailbox, row store.SubscriptionRow, log *slog.Logger) error {
	sub, err := p.Graph.RenewSubscription(ctx, row.GraphID, p.Now().Add(p.SubscriptionLifetime))
	if errors.Is(err, grapherr.ErrNotFound) {
		log.Warn("subscription gone at Graph; recreating it", "subscription_id", row.GraphID)
		return p.subscribe(ctx, mb, "recreated", log)
	}
	if err != nil {
		if ferr := p.Store.SubscriptionFailedNow(ctx, mb.EmployeeID, err.Error()); ferr != nil {
			return ferr
		}
		return fmt.Errorf("renewing subscription: %w", err)
	}
	sub.Resource = row.Resource
	log.Info("subscription renewed", "subscription_id", sub.ID, "expires", sub.ExpiresAt)
	return p.Store.SaveSubscription(ctx, mb.EmployeeID, sub)
}

func (p *Processor) unsubscribe(ctx context.Context, mb store.Mailbox, row store.SubscriptionRow, log *slog.Logger) error {
	if row.Status == store.SubscriptionActive {
		err := p.Graph.DeleteSubscription(ctx, row.GraphID)
		if err != nil && !errors.Is(err, grapherr.ErrNotFound) {
			return fmt.Errorf("deleting subscription: %w", err)
		}
	}
	log.Info("subscription deleted: mailbox no longer synced", "state", mb.State())
	return p.Store.DeleteSubscriptionRow(ctx, mb.EmployeeID)
}

func (p *Processor) enqueueSync(ctx context.Context, employeeID int64, reason string) error {
	t, err := NewSyncMailboxTask(SyncMailboxPayload{EmployeeID: employeeID, Reason: reason}, p.Now())
	if err != nil {
		return err
	}
	_, err = p.Enqueuer.EnqueueContext(ctx, t)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil // a sync for this mailbox is already queued
	}
	return err
}

// HandleLifecycle answers Graph's lifecycle events: reauthorize, recreate
// (then sync), or sync after missed notifications.
func (p *Processor) HandleLifecycle(ctx context.Context, t *asynq.Task) error {
	var pl LifecyclePayload
	if err := json.Unmarshal(t.Payload(), &pl); err != nil {
		return fmt.Errorf("%s: bad payload: %v: %w", TypeLifecycle, err, asynq.SkipRetry)
	}
	log := p.Log.With("task", TypeLifecycle, "employee_id", pl.EmployeeID, "event", pl.Event, "subscription_id", pl.SubscriptionID)
	mb, ok, err := p.syncableMailbox(ctx, pl.EmployeeID, log)
	if err != nil || !ok {
		return err
	}
	// Events about another subscription are forged, or stale (Graph retries
	// and reorders them, and one already replaced must not be replaced again).
	if ok, err := p.fromCurrentSubscription(ctx, TypeLifecycle, pl.EmployeeID, pl.SubscriptionID, log); err != nil || !ok {
		return err
	}
	event, _ := model.ParseLifecycleEvent(pl.Event) // "" when unknown
	switch event {
	case model.EventMissed:
		log.Info("notifications were missed; syncing")
		return p.enqueueSync(ctx, mb.EmployeeID, "missed")
	case model.EventReauthorizationRequired:
		err := p.Graph.ReauthorizeSubscription(ctx, pl.SubscriptionID)
		if errors.Is(err, grapherr.ErrNotFound) {
			return p.recreate(ctx, mb, log)
		}
		if err != nil {
			return p.graphFailure(ctx, mb, err, log)
		}
		log.Info("subscription reauthorized")
		return nil
	case model.EventSubscriptionRemoved:
		return p.recreate(ctx, mb, log)
	default:
		// Not an event this worker knows (a newer intake, a hand-made task).
		log.Warn("unknown lifecycle event dropped") // the name is in the event attribute
		if p.Metrics != nil {
			p.Metrics.TasksDropped.WithLabelValues(TypeLifecycle, metrics.ReasonUnknownEvent).Inc()
		}
		return nil
	}
}

func (p *Processor) recreate(ctx context.Context, mb store.Mailbox, log *slog.Logger) error {
	if err := p.Store.DeleteSubscriptionRow(ctx, mb.EmployeeID); err != nil {
		return err
	}
	return p.subscribe(ctx, mb, "recreated", log)
}
