package jobs

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/alert"
	"github.com/dedesales/exchange-connector/internal/crmhook"
	"github.com/dedesales/exchange-connector/internal/grapherr"
	"github.com/dedesales/exchange-connector/internal/metrics"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/queue"
	"github.com/dedesales/exchange-connector/internal/store"
)

// Alerts raises and clears alert conditions (internal/alert.Alerter).
type Alerts interface {
	Raise(ctx context.Context, a alert.Alert) error
	Clear(ctx context.Context, kind, key string) error
}

// SecretDates reads the app registration's secret end dates from Graph.
type SecretDates interface {
	PasswordCredentials(ctx context.Context) ([]model.PasswordCredential, error)
}

// DeadTasks reports tasks archived after their last retry, by type.
type DeadTasks interface {
	DeadTasks(ctx context.Context) ([]alert.TasksDead, error)
}

// HealthHandler handles TypeHealthCheck.
type HealthHandler struct {
	st      *store.Store
	alerts  Alerts // nil turns the check off
	secrets SecretDates
	dead    DeadTasks
	metrics *metrics.Metrics
	now     func() time.Time
	log     *slog.Logger
}

// ProcessTask raises the alerts whose conditions hold and clears the
// others: a credential's expiry (a client secret's: the nearer of the
// operator's date and Graph's; a certificate's: its NotAfter), mailboxes outside the app's scope, subscriptions that cannot be
// created or renewed, dead tasks, mailboxes silent far longer than usual, and
// CRM webhook endpoints failing for an hour (crmhook.CheckAlerts).
// The alert store makes every condition mail once per level.
func (h *HealthHandler) ProcessTask(ctx context.Context, _ *asynq.Task) error {
	if h.alerts == nil {
		return nil
	}
	now := h.now()
	checks := []func(context.Context, time.Time) error{h.checkSecrets, h.checkMailboxes, h.checkDeadTasks, h.checkWebhooks}
	var errs []error
	for _, check := range checks {
		if err := check(ctx, now); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// raise and clear log alert failures instead of failing the check: a mail
// server that is down must not stop the other checks; the unsent alert is
// retried by the next check.
func (h *HealthHandler) raise(ctx context.Context, a alert.Alert) {
	if err := h.alerts.Raise(ctx, a); err != nil {
		h.log.Warn("alert not sent", "kind", a.Kind, "key", a.Key, slog.Any("error", err))
	}
}

func (h *HealthHandler) clear(ctx context.Context, kind, key string) {
	if err := h.alerts.Clear(ctx, kind, key); err != nil {
		h.log.Warn("recovery not sent", "kind", kind, "key", key, slog.Any("error", err))
	}
}

func (h *HealthHandler) checkSecrets(ctx context.Context, now time.Time) error {
	creds, err := h.st.ActiveCredentials(ctx)
	if err != nil {
		return err
	}
	var graphCreds []model.PasswordCredential
	if h.secrets != nil && len(creds) > 0 {
		graphCreds, err = h.secrets.PasswordCredentials(ctx)
		if err != nil && !errors.Is(err, grapherr.ErrAccessDenied) {
			h.log.Info("reading the secrets' end dates from Graph failed; using the operator's dates", slog.Any("error", err))
		}
	}
	for _, c := range creds {
		key := strconv.FormatInt(c.ID, 10)
		expires := nearerExpiry(c, graphCreds)
		if expires == nil {
			continue
		}
		if h.metrics != nil {
			h.metrics.SecretDaysLeft.WithLabelValues(key).Set(expires.Sub(now).Hours() / 24)
		}
		level, due := alert.SecretExpiryLevels(now, *expires)
		if !due {
			h.clear(ctx, alert.KindSecretExpiring, key)
			continue
		}
		h.raise(ctx, alert.Alert{Kind: alert.KindSecretExpiring, Key: key, Level: level, Data: alert.SecretExpiring{
			TenantID: c.TenantID, ClientID: c.ClientID, SecretHint: c.SecretHint, ExpiresAt: *expires, CheckedAt: now,
			Certificate: c.IsCertificate()}})
	}
	return nil
}

// nearerExpiry is the earlier of the operator's date and Graph's end date
// of the secret with the same hint (its first characters). A certificate's
// expiry is its own NotAfter: a thumbprint is no secret's hint.
func nearerExpiry(c store.Credential, graph []model.PasswordCredential) *time.Time {
	out := c.ExpiresAt
	if c.IsCertificate() {
		return out
	}
	hint := strings.TrimSuffix(c.SecretHint, "…")
	for _, g := range graph {
		if g.Hint == "" || !strings.HasPrefix(hint, g.Hint) || g.EndsAt.IsZero() {
			continue
		}
		if out == nil || g.EndsAt.Before(*out) {
			t := g.EndsAt
			out = &t
		}
	}
	return out
}

func (h *HealthHandler) checkMailboxes(ctx context.Context, now time.Time) error {
	mbs, err := h.st.Mailboxes(ctx)
	if err != nil {
		return err
	}
	states := map[string]int{store.MailboxEnabled: 0, store.MailboxDisabled: 0, store.MailboxAccessDenied: 0,
		store.MailboxNotFound: 0, store.MailboxInactive: 0}
	for _, mb := range mbs {
		states[mb.State()]++
		if mb.State() == store.MailboxAccessDenied {
			h.raise(ctx, alert.Alert{Kind: alert.KindMailboxAccessDenied, Key: mb.Address, Data: alert.MailboxAccessDenied{
				Mailbox: mb.Address, Employee: mb.Name, Error: mb.LastError}})
		} else {
			h.clear(ctx, alert.KindMailboxAccessDenied, mb.Address)
		}
		if mb.State() == store.MailboxNotFound {
			h.raise(ctx, alert.Alert{Kind: alert.KindMailboxNotFound, Key: mb.Address, Data: alert.MailboxNotFound{
				Mailbox: mb.Address, Employee: mb.Name, Error: mb.LastError}})
		} else {
			h.clear(ctx, alert.KindMailboxNotFound, mb.Address)
		}
		if !mb.Syncable() {
			continue
		}
		sub, err := h.st.SubscriptionOf(ctx, mb.EmployeeID)
		switch {
		case err == nil && sub.Status == store.SubscriptionFailed:
			op := alert.OpRenew
			if sub.ExpiresAt.Before(sub.CreatedAt.Add(time.Minute)) {
				op = alert.OpCreate
			}
			h.raise(ctx, alert.Alert{Kind: alert.KindSubscriptionFailed, Key: mb.Address, Data: alert.SubscriptionFailed{
				Mailbox: mb.Address, Employee: mb.Name, Operation: op, Error: sub.LastError}})
		case err == nil:
			h.clear(ctx, alert.KindSubscriptionFailed, mb.Address)
			if h.metrics != nil {
				h.metrics.SetSubscriptionExpiry(mb.EmployeeID, sub.ExpiresAt.Sub(now).Seconds())
			}
		}
		times, err := h.st.RecentMailTimes(ctx, mb.EmployeeID, 30)
		if err != nil {
			return err
		}
		if alert.SilentMailbox(times, now) {
			h.raise(ctx, alert.Alert{Kind: alert.KindMailboxSilent, Key: mb.Address, Data: alert.MailboxSilent{
				Mailbox: mb.Address, Employee: mb.Name, LastMail: times[0], UsualGap: alert.UsualGap(times), CheckedAt: now}})
		} else {
			h.clear(ctx, alert.KindMailboxSilent, mb.Address)
		}
	}
	if h.metrics != nil {
		for st, n := range states {
			h.metrics.Mailboxes.WithLabelValues(st).Set(float64(n))
		}
	}
	return nil
}

func (h *HealthHandler) checkDeadTasks(ctx context.Context, _ time.Time) error {
	if h.dead == nil {
		return nil
	}
	dead, err := h.dead.DeadTasks(ctx)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, d := range dead {
		seen[d.TaskType] = true
		h.raise(ctx, alert.Alert{Kind: alert.KindTasksDead, Key: d.TaskType, Data: d})
	}
	for _, t := range []string{queue.TypeProcessMessage, queue.TypeLifecycle, queue.TypeSyncMailbox, queue.TypeEnsureSubscriptions, queue.TypeFileAttachments, queue.TypeHealthCheck,
		crmhook.TypeDeliver, crmhook.TypeDispatch} {
		if !seen[t] {
			h.clear(ctx, alert.KindTasksDead, t)
		}
	}
	return nil
}

// checkWebhooks alerts on CRM webhook endpoints failing for an hour or more.
func (h *HealthHandler) checkWebhooks(ctx context.Context, now time.Time) error {
	return crmhook.CheckAlerts(ctx, h.st, h.alerts, now, h.log)
}
