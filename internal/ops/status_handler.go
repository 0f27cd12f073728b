package ops

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/store"
)

// secretWarnDays: a secret expiring sooner is highlighted (the first alert
// goes out at 30 days).
const secretWarnDays = 30

// statusPage is the data of status.html.
type statusPage struct {
	page
	Mailboxes []mailboxRow
	Secrets   []secretRow
	Alerts    []OpenAlert
	AlertsErr string
	Webhooks  []webhookRow
	Decisions decisionList
	// FirstSyncs is the panel of running first syncs (progress_panel.go).
	FirstSyncs progressPanel
}

// webhookLister lists the CRM's webhook endpoints; *store.Store is one.
// Optional, so that the Store interface (and its fakes) need not change.
type webhookLister interface {
	WebhookEndpoints(ctx context.Context) ([]store.WebhookEndpoint, error)
}

// webhookRow is one CRM webhook endpoint.
type webhookRow struct {
	ID          int64
	URL, Events string
	Failing     bool
	State       string // "ok", "no delivery yet" or "failing for …"
	LastSuccess string
	LastError   string
}

// mailboxRow is one line of the mailbox table.
type mailboxRow struct {
	Address, Name, State string
	Subscription         string // active, failed or none
	SubExpires           string
	SubWarn              bool
	LastNotification     string
	LastSync             string
	LastError            string
	Imported, Duplicates int
	Ignored              int
	IgnoredBy            []store.Count // reason → count
}

// secretRow is one active credential.
type secretRow struct {
	TenantID, ClientID, Hint string
	Expires                  string
	DaysLeft                 string
	Warn                     bool
	LastError                string
}

// status shows the status page.
func (h *Handler) status(c echo.Context) error {
	ctx := c.Request().Context()
	now := h.now()
	data := statusPage{page: sessionPage(c, "Status")}
	data.FirstSyncs = h.firstSyncPanel(ctx, now)
	mbs, err := h.deps.Store.Mailboxes(ctx)
	if err != nil {
		return fmt.Errorf("ops: status: %w", err)
	}
	subs, err := h.deps.Store.SubscriptionRows(ctx)
	if err != nil {
		return fmt.Errorf("ops: status: %w", err)
	}
	subOf := make(map[int64]store.SubscriptionRow, len(subs))
	for _, s := range subs {
		subOf[s.EmployeeID] = s
	}
	counts, err := h.deps.Store.MailboxDecisionCounts(ctx)
	if err != nil {
		return fmt.Errorf("ops: status: %w", err)
	}
	for _, mb := range mbs {
		data.Mailboxes = append(data.Mailboxes, mailboxRowOf(now, mb, subOf, counts))
	}
	creds, err := h.deps.Store.ActiveCredentials(ctx)
	if err != nil {
		return fmt.Errorf("ops: status: %w", err)
	}
	for _, cr := range creds {
		data.Secrets = append(data.Secrets, secretRowOf(now, cr))
	}
	if h.deps.Alerts != nil {
		if data.Alerts, err = h.deps.Alerts.OpenAlerts(ctx); err != nil {
			h.log.Error("ops: open alerts", slog.Any("error", err))
			data.AlertsErr = err.Error()
		}
	}
	if wl, ok := h.deps.Store.(webhookLister); ok {
		eps, err := wl.WebhookEndpoints(ctx)
		if err != nil {
			return fmt.Errorf("ops: status: %w", err)
		}
		for _, ep := range eps {
			data.Webhooks = append(data.Webhooks, webhookRowOf(now, ep))
		}
	}
	if data.Decisions, err = h.decisionList(c, 10); err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "status.html", data)
}

func mailboxRowOf(now time.Time, mb store.Mailbox, subOf map[int64]store.SubscriptionRow, counts []store.MailboxOutcomeCount) mailboxRow {
	r := mailboxRow{Address: mb.Address, Name: mb.Name, State: mb.State(), Subscription: "none", SubExpires: "-",
		LastNotification: "never", LastSync: ago(now, mb.LastSyncAt), LastError: mb.LastError}
	if sub, ok := subOf[mb.EmployeeID]; ok {
		r.Subscription = sub.Status
		if sub.Status == store.SubscriptionActive {
			left := sub.ExpiresAt.Sub(now)
			r.SubExpires = "in " + roughDuration(left) + " (" + timeFmt(sub.ExpiresAt) + ")"
			r.SubWarn = left < 24*time.Hour // renewed when less than a day is left
			if left <= 0 {
				r.SubExpires = "expired " + roughDuration(-left) + " ago"
			}
		}
		r.LastNotification = ago(now, sub.LastNotificationAt)
		if r.LastError == "" {
			r.LastError = sub.LastError
		}
	}
	for _, n := range counts {
		if n.EmployeeID != mb.EmployeeID {
			continue
		}
		switch n.Outcome {
		case match.OutcomeImported:
			r.Imported += n.N
		case match.OutcomeDuplicate:
			r.Duplicates += n.N
		default:
			r.Ignored += n.N
			r.IgnoredBy = append(r.IgnoredBy, store.Count{Label: n.Reason, N: n.N})
		}
	}
	return r
}

func webhookRowOf(now time.Time, ep store.WebhookEndpoint) webhookRow {
	r := webhookRow{ID: ep.ID, URL: ep.URL, Events: strings.ReplaceAll(ep.EventsList, ",", ", "), State: "ok",
		LastSuccess: ago(now, ep.LastSuccessAt), LastError: ep.LastError}
	switch {
	case ep.FailingSince != nil:
		r.Failing = true
		r.State = "failing for " + roughDuration(now.Sub(*ep.FailingSince)) + " (since " + timeFmt(*ep.FailingSince) + ")"
	case ep.LastSuccessAt == nil:
		r.State = "no delivery yet"
	}
	return r
}

func secretRowOf(now time.Time, cr store.Credential) secretRow {
	r := secretRow{TenantID: cr.TenantID, ClientID: cr.ClientID, Hint: cr.SecretHint, Expires: "unknown", DaysLeft: "unknown", LastError: cr.LastError}
	if cr.ExpiresAt == nil {
		return r
	}
	r.Expires = timeFmt(*cr.ExpiresAt)
	days := int(math.Floor(cr.ExpiresAt.Sub(now).Hours() / 24))
	switch {
	case !now.Before(*cr.ExpiresAt):
		r.DaysLeft = fmt.Sprintf("expired %d days ago", -days-1)
		if -days-1 == 0 {
			r.DaysLeft = "expired today"
		}
	case days == 1:
		r.DaysLeft = "1 day"
	default:
		r.DaysLeft = fmt.Sprintf("%d days", days)
	}
	r.Warn = days < secretWarnDays
	return r
}
