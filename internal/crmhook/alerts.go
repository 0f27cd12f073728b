package crmhook

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/dedesales/exchange-connector/internal/alert"
	"github.com/dedesales/exchange-connector/internal/store"
)

// AlertAfter is how long an endpoint fails before the operator is alerted.
const AlertAfter = time.Hour

// Alerts raises and clears alert conditions (internal/alert.Alerter).
type Alerts interface {
	Raise(ctx context.Context, a alert.Alert) error
	Clear(ctx context.Context, kind, key string) error
}

// AlertStore lists the endpoints and the open alerts.
type AlertStore interface {
	WebhookEndpoints(ctx context.Context) ([]store.WebhookEndpoint, error)
	OpenAlerts(ctx context.Context) ([]store.Alert, error)
}

// CheckAlerts raises KindWebhookFailing for every endpoint failing for
// AlertAfter or longer and clears it for the others and for removed
// endpoints. The periodic health check calls it. Alert mails that cannot
// be sent are logged, not returned: the next check retries them.
func CheckAlerts(ctx context.Context, st AlertStore, a Alerts, now time.Time, log *slog.Logger) error {
	eps, err := st.WebhookEndpoints(ctx)
	if err != nil {
		return err
	}
	known := map[string]bool{}
	for _, ep := range eps {
		key := strconv.FormatInt(ep.ID, 10)
		known[key] = true
		if ep.FailingSince != nil && now.Sub(*ep.FailingSince) >= AlertAfter {
			err := a.Raise(ctx, alert.Alert{Kind: alert.KindWebhookFailing, Key: key, Data: alert.WebhookFailing{
				EndpointID: ep.ID, URL: ep.URL, FailingSince: *ep.FailingSince, LastError: ep.LastError, CheckedAt: now}})
			if err != nil {
				log.Warn("alert not sent", "kind", alert.KindWebhookFailing, "key", key, slog.Any("error", err))
			}
			continue
		}
		clearAlert(ctx, a, key, log)
	}
	open, err := st.OpenAlerts(ctx)
	if err != nil {
		return err
	}
	for _, al := range open {
		if al.Kind == alert.KindWebhookFailing && !known[al.SubjectKey] {
			clearAlert(ctx, a, al.SubjectKey, log) // the endpoint was removed
		}
	}
	return nil
}

func clearAlert(ctx context.Context, a Alerts, key string, log *slog.Logger) {
	if err := a.Clear(ctx, alert.KindWebhookFailing, key); err != nil {
		log.Warn("recovery not sent", "kind", alert.KindWebhookFailing, "key", key, slog.Any("error", err))
	}
}
