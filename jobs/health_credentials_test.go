package jobs

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dedesales/exchange-connector/internal/alert"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/queue"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// graphDates is the app's password credentials as Graph lists them.
type graphDates []model.PasswordCredential

func (g graphDates) PasswordCredentials(context.Context) ([]model.PasswordCredential, error) {
	return g, nil
}

// A certificate expiring soon raises the same "credential expires" alert
// as a client secret, with its own NotAfter: Graph's password credentials
// are secrets and never shorten a certificate's date, even when a secret's
// hint happens to start like the thumbprint.
func TestHealthCertificateExpiry(t *testing.T) {
	s := storetest.Open(t, store.SQLite)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	notAfter := now.Add(10 * 24 * time.Hour)
	id, err := s.AddCredential(ctx, store.Credential{TenantID: "t", ClientID: "c", Kind: store.CredentialCertificate,
		SecretSealed: "v1:x:pem", SecretHint: "ABC0123456789ABCDEF0123456789ABCDEF01234", ExpiresAt: &notAfter}, true)
	if err != nil {
		t.Fatal(err)
	}
	alerts := &memAlerts{}
	h := newTestHandlers(t, s, Deps{Alerts: alerts, Now: func() time.Time { return now },
		Secrets: graphDates{{Hint: "ABC", EndsAt: now.Add(2 * 24 * time.Hour)}}})
	if err := h.Health.ProcessTask(ctx, asynq.NewTask(queue.TypeHealthCheck, nil)); err != nil {
		t.Fatal(err)
	}
	key := strconv.FormatInt(id, 10)
	a, ok := alerts.raised[alert.KindSecretExpiring+"/"+key]
	if !ok {
		t.Fatalf("no expiry alert for the certificate: %v", alerts.raised)
	}
	d := a.Data.(alert.SecretExpiring)
	if !d.Certificate || !d.ExpiresAt.Equal(notAfter) || d.SecretHint != "ABC0123456789ABCDEF0123456789ABCDEF01234" {
		t.Errorf("alert data %+v, want the certificate's own NotAfter %v", d, notAfter)
	}
	if days := testutil.ToFloat64(h.Metrics.SecretDaysLeft.WithLabelValues(key)); days < 9.9 || days > 10.1 {
		t.Errorf("credential days left = %v, want 10", days)
	}
}
