package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/dedesales/exchange-connector/internal/crmhook"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// TestMailReachesCRMWebhook: with `connector serve`, a new e-mail that
// becomes an activity reaches a registered CRM endpoint as a signed
// activity.created event within seconds, with nobody but the worker's
// dispatcher tick involved.
func TestMailReachesCRMWebhook(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			s := newStack(t, dialect)
			signing, err := crmhook.NewSecret()
			if err != nil {
				t.Fatal(err)
			}
			wh, err := standardwebhooks.NewWebhook(signing)
			if err != nil {
				t.Fatal(err)
			}
			type event struct {
				Type string `json:"type"`
				Data struct {
					ID int64 `json:"id"`
				} `json:"data"`
			}
			events := make(chan event, 100)
			crm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				if err := wh.Verify(body, r.Header); err != nil {
					t.Errorf("CRM: %s: %v", body, err)
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				var e event
				if err := json.Unmarshal(body, &e); err != nil {
					t.Errorf("CRM: %s: %v", body, err)
				}
				w.WriteHeader(http.StatusNoContent)
				events <- e
			}))
			defer crm.Close()
			sealed, err := crmhook.SealSecret(s.key, crm.URL, signing)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.st.AddWebhookEndpoint(context.Background(), store.WebhookEndpoint{URL: crm.URL, SecretSealed: sealed, AllowPrivate: true},
				[]string{store.ChangeActivityCreated}); err != nil {
				t.Fatal(err)
			}
			s.start(t)

			m := s.mail(t, anna, "inbox", map[string]any{"subject": "AW: Angebot Dachsanierung",
				"from": from("T.Mueller@Mueller-Bau.de"), "toRecipients": to(anna)})
			d := s.decision(t, m.ID)
			if d.ActivityID == nil {
				t.Fatalf("not imported: %+v", d)
			}
			start := time.Now()
			giveUp := time.After(30 * time.Second) // a failsafe, not a target
			for {
				select {
				case e := <-events:
					if e.Type != store.ChangeActivityCreated {
						t.Errorf("event %+v", e)
					}
					if e.Data.ID != *d.ActivityID {
						continue // an activity of the first sync
					}
					// How fast is measured (PERFORMANCE.md), not asserted here.
					t.Logf("activity stored → webhook received: %s", time.Since(start))
					// The counter moves once the handler returns, after the CRM answered.
					s.waitFor(t, "the delivered webhook on /metrics", func() bool {
						return strings.Contains(s.getInternal(t, "/metrics"), `connector_crm_webhook_deliveries_total{outcome="delivered"}`)
					})
					return
				case <-giveUp:
					t.Fatalf("no webhook for activity %d", *d.ActivityID)
				}
			}
		})
	}
}
