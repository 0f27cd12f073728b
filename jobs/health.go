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

// openKeyLister is an Alerts that lists the keys of its open alerts of a
// kind (alert.Alerter does with internal/store).
type openKeyLister interface {
	OpenKeys(ctx context.Context, kind string) (keys map[string]bool, ok bool, err error)
}

// clearer clears a kind's alerts of subjects whose condition no longer
// holds: only those with an open alert when the Alerts can list them (a
// query per check instead of one per mailbox), else every one.
func (h *HealthHandler) clearer(ctx context.Context, kind string) (func(key string), error) {
	if l, ok := h.alerts.(openKeyLister); ok {
		keys, listed, err := l.OpenKeys(ctx, kind)
		if err != nil {
			return nil, err
		}
		if listed {
			return func(key string) {
				if keys[key] {
					h.clear(ctx, kind, key)
				}
			}, nil
		}
	}
	return func(key string) { h.clear(ctx, kind, key) }, nil
}

// checkMailboxes reads the mailboxes, their subscriptions and the open
// alerts in a few queries; what it asks per mailbox is the recent mail
// times for the silent-mailbox check, and only of mailboxes without a
// notification since SilentFloor (one that had one is not silent) or with
// a silent alert to clear.
func (h *HealthHandler) checkMailboxes(ctx context.Context, now time.Time) error {
	mbs, err := h.st.Mailboxes(ctx)
	if err != nil {
		return err
	}
	rows, err := h.st.SubscriptionRows(ctx)
	if err != nil {
		return err
	}
	subs := make(map[int64]store.SubscriptionRow, len(rows))
	for _, r := range rows {
		subs[r.EmployeeID] = r
	}
	clearDenied, err := h.clearer(ctx, alert.KindMailboxAccessDenied)
	if err != nil {
		return err
	}
	clearNotFound, err := h.clearer(ctx, alert.KindMailboxNotFound)
	if err != nil {
		return err
	}
	clearFailed, err := h.clearer(ctx, alert.KindSubscriptionFailed)
	if err != nil {
		return err
	}
	clearSilent, err := h.clearer(ctx, alert.KindMailboxSilent)
	if err != nil {
		return err
	}
	var silentOpen map[string]bool // nil: unknown, check every mailbox
	if l, ok := h.alerts.(openKeyLister); ok {
		if keys, listed, err := l.OpenKeys(ctx, alert.KindMailboxSilent); err == nil && listed {
			silentOpen = keys
		}
	}
	states := map[string]int{store.MailboxEnabled: 0, store.MailboxDisabled: 0, store.MailboxAccessDenied: 0,
		store.MailboxNotFound: 0, store.MailboxInactive: 0}
	for _, mb := range mbs {
		states[mb.State()]++
		if mb.State() == store.MailboxAccessDenied {
			h.raise(ctx, alert.Alert{Kind: alert.KindMailboxAccessDenied, Key: mb.Address, Data: alert.MailboxAccessDenied{
				Mailbox: mb.Address, Employee: mb.Name, Error: mb.LastError}})
		} else {
			clearDenied(mb.Address)
		}
		if mb.State() == store.MailboxNotFound {
			h.raise(ctx, alert.Alert{Kind: alert.KindMailboxNotFound, Key: mb.Address, Data: alert.MailboxNotFound{
				Mailbox: mb.Address, Employee: mb.Name, Error: mb.LastError}})
		} else {
			clearNotFound(mb.Address)
		}
		if !mb.Syncable() {
			continue
		}
		sub, subscribed := subs[mb.EmployeeID]
		switch {
		case subscribed && sub.Status == store.SubscriptionFailed:
			op := alert.OpRenew
			if sub.ExpiresAt.Before(sub.CreatedAt.Add(time.Minute)) {
				op = alert.OpCreate
			}
			h.raise(ctx, alert.Alert{Kind: alert.KindSubscriptionFailed, Key: mb.Address, Data: alert.SubscriptionFailed{
				Mailbox: mb.Address, Employee: mb.Name, Operation: op, Error: sub.LastError}})
		case subscribed:
			clearFailed(mb.Address)
			if h.metrics != nil {
				h.metrics.SetSubscriptionExpiry(mb.EmployeeID, sub.ExpiresAt.Sub(now).Seconds())
			}
		}
		if silentOpen != nil && !silentOpen[mb.Address] && subscribed && sub.LastNotificationAt != nil &&
			now.Sub(*sub.LastNotificationAt) < alert.SilentFloor {
			continue // mail came in lately: not silent, and no alert to clear
		}
		times, err := h.st.RecentMailTimes(ctx, mb.EmployeeID, 30)
		if err != nil {
			return err
		}
		if alert.SilentMailbox(times, now) {
			h.raise(ctx, alert.Alert{Kind: alert.KindMailboxSilent, Key: mb.Address, Data: alert.MailboxSilent{
				Mailbox: mb.Address, Employee: mb.Name, LastMail: times[0], UsualGap: alert.UsualGap(times), CheckedAt: now}})
		} else {
			clearSilent(mb.Address)
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
		TypeRematch, TypeRematchMessage, crmhook.TypeDeliver, crmhook.TypeDispatch} {
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
