package app_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/alert"
	"github.com/dedesales/exchange-connector/internal/queue"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/jobs"
)

// mailbag records the alert mails; the SMTP path itself is tested against
// a real SMTP server in internal/alert.
type mailbag struct {
	mu    sync.Mutex
	mails []string
}

func (m *mailbag) Send(_ context.Context, to []string, subject, _ string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mails = append(m.mails, strings.Join(to, ",")+" | "+subject)
	return nil
}

func (m *mailbag) take() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.mails
	m.mails = nil
	return out
}

func TestHealthCheckAlertsOncePerCondition(t *testing.T) {
	s := newStack(t, store.SQLite)
	ctx := context.Background()
	if err := s.st.SetSetting(ctx, "alert_recipients", "ops@dedenet.de"); err != nil {
		t.Fatal(err)
	}
	if err := s.st.SetSetting(ctx, "alert_language", "en"); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	exp := now.Add(5 * 24 * time.Hour)
	if _, err := s.st.AddCredential(ctx, store.Credential{TenantID: tenantID, ClientID: clientID, SecretSealed: "v1:x:y", SecretHint: "abc…", ExpiresAt: &exp}, true); err != nil {
		t.Fatal(err)
	}
	bag := &mailbag{}
	p := jobs.NewHandlers(jobs.Deps{Store: s.st, Alerts: alert.NewAlerter(s.st, bag, nil), Now: func() time.Time { return now }})
	check := func() []string {
		t.Helper()
		if err := p.Health.ProcessTask(ctx, asynq.NewTask(queue.TypeHealthCheck, nil)); err != nil {
			t.Fatal(err)
		}
		return bag.take()
	}
	mails := check()
	if len(mails) != 1 || !strings.Contains(mails[0], "ops@dedenet.de | [exchange-connector]") || !strings.Contains(mails[0], "5 days") {
		t.Fatalf("first check: %q", mails)
	}
	if mails := check(); len(mails) != 0 {
		t.Errorf("second check sent again: %q", mails)
	}
	emp := mailboxID(t, s, peter)
	if err := s.st.MarkMailboxAccessDenied(ctx, emp, "ErrorAccessDenied: Access is denied."); err != nil {
		t.Fatal(err)
	}
	if mails := check(); len(mails) != 1 || !strings.Contains(mails[0], peter) {
		t.Errorf("access denied: %q", mails)
	}
	if err := s.st.SetMailboxDisabled(ctx, emp, false); err != nil { // the operator enables it again
		t.Fatal(err)
	}
	if mails := check(); len(mails) != 1 || !strings.Contains(strings.ToLower(mails[0]), "resolved") && !strings.Contains(strings.ToLower(mails[0]), "recover") {
		t.Errorf("recovery: %q", mails)
	}
	now = now.Add(2 * 24 * time.Hour) // 3 days left: the next threshold
	if mails := check(); len(mails) != 1 || !strings.Contains(mails[0], "3 days") {
		t.Errorf("3-day threshold: %q", mails)
	}
}

// Entra rejecting the secret alerts at once (here: recorded as open and
// unsent, since the test configures no SMTP server).
func TestRejectedSecretAlertsAtOnce(t *testing.T) {
	s := newStack(t, store.SQLite)
	ctx := context.Background()
	sealed, err := s.key.Seal("wrong~secret", store.SecretContext(tenantID, clientID))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.st.AddCredential(ctx, store.Credential{TenantID: tenantID, ClientID: clientID, SecretSealed: sealed, SecretHint: "wro…"}, true); err != nil {
		t.Fatal(err)
	}
	s.serve(t)
	var open []store.Alert
	s.waitFor(t, "the authentication alert", func() bool {
		open, _ = s.st.OpenAlerts(ctx)
		for _, a := range open {
			if a.Kind == alert.KindAuthFailed {
				return true
			}
		}
		return false
	})
	for _, a := range open {
		if a.Kind == alert.KindAuthFailed && (a.SentAt != nil || a.LastError == "" || !strings.Contains(a.Message, "AADSTS7000215")) {
			t.Errorf("auth alert: %+v", a)
		}
	}
	creds, _ := s.st.ActiveCredentials(ctx)
	if len(creds) != 1 || !strings.Contains(creds[0].LastError, "AADSTS7000215") {
		t.Errorf("credential's last error: %+v", creds)
	}
}
