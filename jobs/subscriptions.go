package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/clientstate"
	"github.com/dedesales/exchange-connector/internal/grapherr"
	"github.com/dedesales/exchange-connector/internal/metrics"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/queue"
	"github.com/dedesales/exchange-connector/internal/store"
)

// EnsureSubscriptionsHandler handles TypeEnsureSubscriptions.
type EnsureSubscriptionsHandler struct {
	st          *store.Store
	graph       SubscriptionManager
	subscriber  *subscriber
	now         func() time.Time
	renewBefore time.Duration
	sweepEvery  time.Duration
	lock        Locker // nil: none
	log         *slog.Logger
}

func (h *EnsureSubscriptionsHandler) ensureMailbox(ctx context.Context, mb store.Mailbox, log *slog.Logger) error {
	row, err := h.st.SubscriptionOf(ctx, mb.EmployeeID)
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if mb.AccessCheckDue(h.now()) {
		return h.recheckAccess(ctx, mb, log)
	}
	if !mb.Syncable() {
		if exists {
			return h.unsubscribe(ctx, mb, row, log)
		}
		return nil
	}
	var subErr error
	switch {
	case !exists || row.Status == store.SubscriptionFailed:
		subErr = h.subscriber.subscribe(ctx, mb, "backfill", log)
		if subErr == nil {
			// Marked access denied or not found just now: no sweep.
			if cur, err := h.st.MailboxByEmployee(ctx, mb.EmployeeID); err == nil && !cur.Syncable() {
				return nil
			}
		}
	case row.ExpiresAt.Sub(h.now()) < h.renewBefore:
		subErr = h.renew(ctx, mb, row, log)
	}
	// The safety net runs even when the subscription could not be made:
	// without notifications, the periodic sync is all that brings mail in.
	if sweepDue(mb, row, exists, h.now(), h.sweepEvery) {
		return errors.Join(subErr, h.subscriber.enqueueSync(ctx, mb.EmployeeID, "sweep"))
	}
	return subErr
}

// recheckAccess tries an access-denied or not-found mailbox again, on its
// own schedule (store.AccessRecheckDelay): access policies and RBAC for
// Applications take effect an hour or more after an admin's change, and a
// user created in Entra gets its Exchange mailbox some time later, so no
// operator should have to resume the mailbox. Creating its subscription is
// the check (it is what the connector needs, and "connector check" tests
// the same); when it succeeds the mailbox resumes with a catch-up sync,
// when it is denied or not found again the next re-check moves further
// out. Any other failure leaves it due, for the next upkeep.
func (h *EnsureSubscriptionsHandler) recheckAccess(ctx context.Context, mb store.Mailbox, log *slog.Logger) error {
	if mb.State() == store.MailboxNotFound {
		log.Info("re-checking a mailbox Graph did not find", "checks", mb.AccessChecks, "not_found_since", mb.NotFoundAt)
	} else {
		log.Info("re-checking access to a denied mailbox", "checks", mb.AccessChecks, "denied_since", mb.AccessDeniedAt)
	}
	if err := h.st.DeleteSubscriptionRow(ctx, mb.EmployeeID); err != nil {
		return err
	}
	if mb.State() == store.MailboxNotFound {
		return h.subscriber.subscribe(ctx, mb, "mailbox found", log)
	}
	return h.subscriber.subscribe(ctx, mb, "access restored", log)
}

// subscriber creates subscriptions and queues the syncs that follow them,
// for the subscription upkeep and the lifecycle events.
type subscriber struct {
	st        *store.Store
	graph     SubscriptionManager
	users     UserResolver // nil: mail addresses are not resolved
	enqueuer  Enqueuer
	keys      clientstate.Keys
	publicURL string
	now       func() time.Time
	lifetime  time.Duration
	metrics   *metrics.Metrics // nil: not counted
}

// MaxSubscriptionLifetime is the longest subscription the connector asks
// Graph for. Graph documents 10,080 minutes for mail, but the live service
// refuses more than 10,070 ("Subscription expiration can only be 10070
// minutes in the future.", reference/graph.md, Errata); ten minutes less
// leave room for a clock that runs ahead of Microsoft's.
const MaxSubscriptionLifetime = 10060 * time.Minute

// failure counts a failed creation or renewal by its cause and returns
// what is recorded on the subscription. A validation timeout (Graph waits
// 10 s for the notification URL) is a problem of the connector's public
// endpoint, not of Graph or the mailbox, so it is logged with the URL to
// check.
func (s *subscriber) failure(op, notificationURL string, err error, log *slog.Logger) string {
	reason, msg := "other", err.Error()
	switch {
	case grapherr.ValidationTimedOut(err):
		reason = "validation_timeout"
		msg = "the notification URL " + notificationURL + " did not answer Graph's validation request within 10 seconds: " + msg
		log.Error("notification URL did not answer Graph's validation request in time; check that it is reachable from the internet over HTTPS, without a login page or firewall challenge, and answers within seconds",
			"operation", op, "url", notificationURL, slog.Any("error", err))
	case errors.Is(err, grapherr.ErrUserNotFound):
		reason = "not_found"
	case errors.Is(err, grapherr.ErrAccessDenied):
		reason = "access_denied"
	case errors.Is(err, grapherr.ErrForbidden):
		reason = "forbidden"
	case errors.Is(err, grapherr.ErrThrottled):
		reason = "throttled"
	case errors.Is(err, grapherr.ErrInvalid):
		reason = "refused"
	case errors.Is(err, grapherr.ErrAuth):
		reason = "auth"
	}
	if s.metrics != nil {
		s.metrics.SubscriptionFailures.WithLabelValues(reason).Inc()
	}
	return msg
}

// subscribe creates a subscription (Graph runs the validation handshake
// against our endpoint before it answers) and then catches up with a sync.
// A user Graph does not know is looked up by mail address first
// (resolveUser); when that finds no one either, the mailbox is marked not
// found with Graph's words, alerted and re-checked with back-off.
func (s *subscriber) subscribe(ctx context.Context, mb store.Mailbox, reason string, log *slog.Logger) error {
	sub, err := s.create(ctx, mb)
	var lookupErr error
	if errors.Is(err, grapherr.ErrUserNotFound) {
		var id string
		if id, lookupErr = s.resolveUser(ctx, mb, log); id != "" && id != mb.GraphRef() {
			mb.GraphUser, mb.GraphUserFor = id, mb.Address
			sub, err = s.create(ctx, mb)
		}
	}
	if err != nil {
		if ferr := s.st.SubscriptionFailedNow(ctx, mb.EmployeeID, s.failure("create", s.endpoint("notifications"), err, log)); ferr != nil {
			return ferr
		}
		if errors.Is(err, grapherr.ErrUserNotFound) {
			msg := err.Error()
			if lookupErr != nil {
				msg += "; looking the address up in the directory failed too: " + lookupErr.Error()
			}
			log.Warn("mailbox not found at Graph; re-checking it later", "error", msg)
			return s.st.MarkMailboxNotFound(ctx, mb.EmployeeID, msg)
		}
		if errors.Is(err, grapherr.ErrAccessDenied) {
			log.Warn("mailbox access denied; re-checking it later", slog.Any("error", err))
			return s.st.MarkMailboxAccessDenied(ctx, mb.EmployeeID, err.Error())
		}
		if errors.Is(err, grapherr.ErrForbidden) {
			// Another 403, e.g. the mailbox's 1,000 subscriptions (of all
			// apps) used up: no access policy, so the mailbox is not marked;
			// Graph's words go where operators look.
			if merr := s.st.SetMailboxError(ctx, mb.EmployeeID, err.Error()); merr != nil {
				log.Warn("recording the error on the mailbox failed", slog.Any("error", merr))
			}
		}
		return fmt.Errorf("creating subscription: %w", err)
	}
	if err := s.st.SaveSubscription(ctx, mb.EmployeeID, sub); err != nil {
		return err
	}
	log.Info("subscription created", "subscription_id", sub.ID, "expires", sub.ExpiresAt)
	switch mb.State() {
	case store.MailboxAccessDenied:
		// Graph let us subscribe: access is back. Resumed before the sync
		// is queued, so that the sync does not find the mailbox denied.
		if err := s.st.ClearMailboxAccessDenied(ctx, mb.EmployeeID); err != nil {
			return err
		}
		log.Info("access to the mailbox is back; resumed", "checks", mb.AccessChecks)
	case store.MailboxNotFound:
		if err := s.st.ClearMailboxNotFound(ctx, mb.EmployeeID); err != nil {
			return err
		}
		log.Info("Graph finds the mailbox now; resumed", "checks", mb.AccessChecks)
	}
	return s.enqueueSync(ctx, mb.EmployeeID, reason)
}

// endpoint is the public URL of one of our Graph endpoints
// ("notifications", "lifecycle").
func (s *subscriber) endpoint(name string) string {
	return strings.TrimRight(s.publicURL, "/") + "/graph/" + name
}

// create asks Graph for the mailbox's subscription, naming its user as
// Graph paths must (Mailbox.GraphRef: the resolved ID or the address).
func (s *subscriber) create(ctx context.Context, mb store.Mailbox) (model.Subscription, error) {
	return s.graph.CreateSubscription(ctx, model.Subscription{
		Resource:                 "/users/" + mb.GraphRef() + "/messages",
		ChangeType:               "created",
		NotificationURL:          s.endpoint("notifications"),
		LifecycleNotificationURL: s.endpoint("lifecycle"),
		ClientState:              s.keys.Generate(mb.EmployeeID),
		ExpiresAt:                s.expiry(mb.EmployeeID),
	})
}

// resolveUser looks the mailbox's address up in the directory when Graph
// does not take it in a path. Graph documents /users/{id |
// userPrincipalName} (api/user-get.md); whether a primary SMTP address that
// differs from the UPN works there is not documented and reported not to
// (camerondwyer.com, 2023-07-07), so an employee's exchange_mailbox may
// hold a mail address that only a lookup (mail, then proxyAddresses) turns
// into the user's ID. The ID found is stored for this address and used
// from then on. id is "" when nobody has the address; err when the lookup
// failed (reading the directory needs User.ReadBasic.All, which the setup
// does not require: the operator then enters the UPN instead).
func (s *subscriber) resolveUser(ctx context.Context, mb store.Mailbox, log *slog.Logger) (id string, err error) {
	if s.users == nil || !strings.Contains(mb.Address, "@") {
		return "", nil
	}
	id, err = s.users.ResolveUser(ctx, mb.Address)
	if err != nil {
		log.Warn("looking up the mailbox's address in the directory failed", slog.Any("error", err))
		return "", err
	}
	if id == "" {
		return "", nil
	}
	if err := s.st.SetMailboxGraphUser(ctx, mb.EmployeeID, mb.Address, id); err != nil {
		return "", err
	}
	log.Info("mailbox address is not a UPN; resolved it to the user's ID", "user_id", id)
	return id, nil
}

func (h *EnsureSubscriptionsHandler) renew(ctx context.Context, mb store.Mailbox, row store.SubscriptionRow, log *slog.Logger) error {
	sub, err := h.graph.RenewSubscription(ctx, row.GraphID, h.subscriber.expiry(mb.EmployeeID))
	if errors.Is(err, grapherr.ErrNotFound) {
		log.Warn("subscription gone at Graph; recreating it", "subscription_id", row.GraphID)
		return h.subscriber.subscribe(ctx, mb, "recreated", log)
	}
	if err != nil {
		if ferr := h.st.SubscriptionFailedNow(ctx, mb.EmployeeID, h.subscriber.failure("renew", h.subscriber.endpoint("notifications"), err, log)); ferr != nil {
			return ferr
		}
		if errors.Is(err, grapherr.ErrUserNotFound) {
			// The user was deleted or renamed: Graph answers the
			// subscription's operations 404 "The requested user '…' is
			// invalid." (microsoft-graph-docs-contrib#3201).
			log.Warn("mailbox not found at Graph; re-checking it later", slog.Any("error", err))
			return h.st.MarkMailboxNotFound(ctx, mb.EmployeeID, err.Error())
		}
		return fmt.Errorf("renewing subscription: %w", err)
	}
	sub.Resource = row.Resource
	log.Info("subscription renewed", "subscription_id", sub.ID, "expires", sub.ExpiresAt)
	return h.st.SaveSubscription(ctx, mb.EmployeeID, sub)
}

func (h *EnsureSubscriptionsHandler) unsubscribe(ctx context.Context, mb store.Mailbox, row store.SubscriptionRow, log *slog.Logger) error {
	if row.Status == store.SubscriptionActive {
		err := h.graph.DeleteSubscription(ctx, row.GraphID)
		// A deleted user's subscription answers 404 ErrorInvalidUser
		// (microsoft-graph-docs-contrib#3201): gone with the user.
		if err != nil && !errors.Is(err, grapherr.ErrNotFound) && !errors.Is(err, grapherr.ErrUserNotFound) {
			return fmt.Errorf("deleting subscription: %w", err)
		}
	}
	log.Info("subscription deleted: mailbox no longer synced", "state", mb.State())
	return h.st.DeleteSubscriptionRow(ctx, mb.EmployeeID)
}

// enqueueSync queues a sync of the mailbox unless one is queued already.
func (s *subscriber) enqueueSync(ctx context.Context, employeeID int64, reason string) error {
	t, err := queue.NewSyncMailboxTask(queue.SyncMailboxPayload{EmployeeID: employeeID, Reason: reason}, s.now())
	if err != nil {
		return err
	}
	_, err = s.enqueuer.EnqueueContext(ctx, t)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil // a sync for this mailbox is already queued
	}
	return err
}

// LifecycleHandler handles TypeLifecycle: Graph's lifecycle events.
type LifecycleHandler struct {
	graph         SubscriptionManager
	mailboxes     *mailboxes
	subscriptions *subscriptionGate
	subscriber    *subscriber
	metrics       *metrics.Metrics
	log           *slog.Logger
}

// ProcessTask answers a lifecycle event: reauthorize, recreate (then
// sync), or sync after missed notifications.
func (h *LifecycleHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var pl queue.LifecyclePayload
	if err := json.Unmarshal(t.Payload(), &pl); err != nil {
		return fmt.Errorf("%s: bad payload: %v: %w", queue.TypeLifecycle, err, asynq.SkipRetry)
	}
	log := h.log.With("task", queue.TypeLifecycle, "employee_id", pl.EmployeeID, "event", pl.Event, "subscription_id", pl.SubscriptionID)
	mb, ok, err := h.mailboxes.syncable(ctx, pl.EmployeeID, log)
	if err != nil || !ok {
		return err
	}
	// Events about another subscription are forged, or stale (Graph retries
	// and reorders them, and one already replaced must not be replaced again).
	if ok, err := h.subscriptions.check(ctx, queue.TypeLifecycle, pl.EmployeeID, pl.SubscriptionID, log); err != nil || !ok {
		return err
	}
	event, _ := model.ParseLifecycleEvent(pl.Event) // "" when unknown
	switch event {
	case model.EventMissed:
		log.Info("notifications were missed; syncing")
		return h.subscriber.enqueueSync(ctx, mb.EmployeeID, "missed")
	case model.EventReauthorizationRequired:
		err := h.graph.ReauthorizeSubscription(ctx, pl.SubscriptionID)
		if errors.Is(err, grapherr.ErrNotFound) {
			return h.subscriber.recreate(ctx, mb, log)
		}
		if err != nil {
			return h.mailboxes.graphFailure(ctx, mb, err, log)
		}
		log.Info("subscription reauthorized")
		return nil
	case model.EventSubscriptionRemoved:
		return h.subscriber.recreate(ctx, mb, log)
	default:
		// Not an event this worker knows (a newer intake, a hand-made task).
		log.Warn("unknown lifecycle event dropped") // the name is in the event attribute
		if h.metrics != nil {
			h.metrics.TasksDropped.WithLabelValues(queue.TypeLifecycle, metrics.ReasonUnknownEvent).Inc()
		}
		return nil
	}
}

// recreate replaces a lost subscription.
func (s *subscriber) recreate(ctx context.Context, mb store.Mailbox, log *slog.Logger) error {
	if err := s.st.DeleteSubscriptionRow(ctx, mb.EmployeeID); err != nil {
		return err
	}
	return s.subscribe(ctx, mb, "recreated", log)
}
