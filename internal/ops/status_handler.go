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

	"github.com/dedesales/exchange-connector/internal/store"
)

// secretWarnDays: a secret expiring sooner is highlighted (the first alert
// goes out at 30 days).
const secretWarnDays = 30

// maxAlertsShown caps the open alerts listed on the status page.
const maxAlertsShown = 50

// statusPage is the data of status.html.
type statusPage struct {
	page
	Mailboxes mailboxTable
	Secrets   []secretRow
	Alerts    []OpenAlert
	AlertsErr string
	// AlertsMore is how many open alerts are not shown.
	AlertsMore int
	Webhooks   []webhookRow
	Decisions  decisionList
	Charts     *charts // nil: the store cannot chart
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
	Silent               bool          // an open silent-mailbox alert
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
	// The first page of the mailbox table; its links lead to /ops/mailboxes.
	var err error
	if data.Mailboxes, err = h.mailboxTable(ctx, mailboxParams{Sort: "address", Page: 1}, false); err != nil {
		return err
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
		// With thousands of mailboxes, thousands may be alerted about at
		// once: the oldest are shown, the table below filters the rest.
		if len(data.Alerts) > maxAlertsShown {
			data.AlertsMore = len(data.Alerts) - maxAlertsShown
			data.Alerts = data.Alerts[:maxAlertsShown]
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
	data.Charts = h.charts(ctx, now)
	if data.Decisions, err = h.decisionList(c, 10); err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "status.html", data)
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
	r := secretRow{TenantID: cr.TenantID, ClientID: cr.ClientID, Hint: "secret " + cr.SecretHint, Expires: "unknown", DaysLeft: "unknown", LastError: cr.LastError}
	if cr.IsCertificate() {
		r.Hint = "certificate " + cr.SecretHint // the thumbprint, as Entra shows it
	}
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
