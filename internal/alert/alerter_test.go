package alert_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dedesales/exchange-connector/internal/alert"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
	"github.com/google/go-cmp/cmp"
)

var now = time.Date(2026, 11, 4, 9, 30, 0, 0, time.UTC)

// setup configures recipients and language and returns an Alerter that
// mails through srv (STARTTLS + AUTH PLAIN when srv has a CA).
func setup(t *testing.T, s *store.Store, srv *smtpServer, lang string) *alert.Alerter {
	t.Helper()
	ctx := context.Background()
	if err := s.SetSetting(ctx, "alert_recipients", "ops@dedesales.de, IT@Kunde.de"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSetting(ctx, "alert_language", lang); err != nil {
		t.Fatal(err)
	}
	cfg := alert.SMTPConfig{Host: "127.0.0.1", Port: srv.Port, TLS: alert.TLSNone,
		From: "Exchange Connector <connector@dedenet.de>", Timeout: 5 * time.Second}
	if srv.RootCA != nil {
		pw := filepath.Join(t.TempDir(), "smtp-password")
		if err := os.WriteFile(pw, []byte(smtpPass+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg.TLS, cfg.Username, cfg.PasswordFile, cfg.RootCAs = alert.TLSStartTLS, smtpUser, pw, srv.RootCA
	}
	m, err := alert.NewMailer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return alert.NewAlerter(s, m, nil)
}

func secretAlert(level string, checked time.Time) alert.Alert {
	return alert.Alert{Kind: alert.KindSecretExpiring, Key: "tenant-1/client-1", Level: level, Data: alert.SecretExpiring{
		TenantID: "tenant-1", ClientID: "client-1", ExpiresAt: now.Add(7 * 24 * time.Hour), CheckedAt: checked}}
}

func TestRaiseOnceThenRecoverOverStartTLS(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		srv := startSMTP(t, true)
		a := setup(t, s, srv, "de")

		if err := a.Raise(ctx, secretAlert("7d", now)); err != nil {
			t.Fatal(err)
		}
		// The same condition and level again, an hour later: nothing new.
		if err := a.Raise(ctx, secretAlert("7d", now.Add(time.Hour))); err != nil {
			t.Fatal(err)
		}
		msgs := srv.Messages()
		if len(msgs) != 1 {
			t.Fatalf("%d messages after two raises, want 1", len(msgs))
		}
		got := msgs[0]
		want := received{From: "connector@dedenet.de", To: []string{"ops@dedesales.de", "it@kunde.de"}, User: smtpUser, TLS: true,
			Subject: "[exchange-connector] Client-Secret läuft in 7 Tagen ab"}
		if diff := cmp.Diff(want, got, cmpMeta); diff != "" {
			t.Errorf("message mismatch (-want +got):\n%s", diff)
		}
		for _, s := range []string{"läuft am 11.11.2026 ab", "Was ist zu tun?",
			"connector credentials rotate --tenant-id tenant-1 --client-id client-1 --secret-file DATEI"} {
			if !strings.Contains(got.Body, s) {
				t.Errorf("body lacks %q:\n%s", s, got.Body)
			}
		}
		if got.Header.Get("Auto-Submitted") != "auto-generated" {
			t.Errorf("Auto-Submitted = %q", got.Header.Get("Auto-Submitted"))
		}

		open, err := s.OpenAlerts(ctx)
		if err != nil || len(open) != 1 || open[0].SentAt == nil || open[0].Message != want.Subject {
			t.Fatalf("OpenAlerts = %+v, %v; want one sent alert with the subject as message", open, err)
		}

		// A further level is a new mail; clearing sends one recovery mail.
		if err := a.Raise(ctx, secretAlert("3d", now.Add(4*24*time.Hour))); err != nil {
			t.Fatal(err)
		}
		if err := a.Clear(ctx, alert.KindSecretExpiring, "tenant-1/client-1"); err != nil {
			t.Fatal(err)
		}
		if err := a.Clear(ctx, alert.KindSecretExpiring, "tenant-1/client-1"); err != nil {
			t.Fatal(err)
		}
		var subjects []string
		for _, m := range srv.Messages() {
			subjects = append(subjects, m.Subject)
		}
		wantSubjects := []string{
			"[exchange-connector] Client-Secret läuft in 7 Tagen ab",
			"[exchange-connector] Client-Secret läuft in 3 Tagen ab",
			"[exchange-connector] Entwarnung: Anmeldedaten sind erneuert",
		}
		if diff := cmp.Diff(wantSubjects, subjects); diff != "" {
			t.Errorf("subjects mismatch (-want +got):\n%s", diff)
		}
		if body := srv.Messages()[2].Body; !strings.Contains(body, "Client-Secret läuft in 3 Tagen ab") {
			t.Errorf("recovery body does not name the last alert:\n%s", body)
		}

		// The condition comes back later: it alerts again.
		if err := a.Raise(ctx, secretAlert("7d", now.Add(30*24*time.Hour))); err != nil {
			t.Fatal(err)
		}
		if n := len(srv.Messages()); n != 4 {
			t.Errorf("%d messages after the condition came back, want 4", n)
		}
	})
}

// cmpMeta compares the envelope and subject only.
var cmpMeta = cmp.FilterPath(func(p cmp.Path) bool {
	f := p.Last().String()
	return f == ".Body" || f == ".Header"
}, cmp.Ignore())

func TestRaiseInEnglishOverPlainSMTP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		srv := startSMTP(t, false)
		a := setup(t, s, srv, "en")
		denied := alert.Alert{Kind: alert.KindMailboxAccessDenied, Key: "anna.berger@dedenet.de", Data: alert.MailboxAccessDenied{
			Mailbox: "anna.berger@dedenet.de", Employee: "Anna Berger", ClientID: "client-1",
			Error: "ErrorAccessDenied: Access to OData is disabled."}}
		for range 3 {
			if err := a.Raise(ctx, denied); err != nil {
				t.Fatal(err)
			}
		}
		if err := a.Clear(ctx, alert.KindMailboxAccessDenied, "anna.berger@dedenet.de"); err != nil {
			t.Fatal(err)
		}
		msgs := srv.Messages()
		if len(msgs) != 2 {
			t.Fatalf("%d messages, want the alert and one recovery", len(msgs))
		}
		want := received{From: "connector@dedenet.de", To: []string{"ops@dedesales.de", "it@kunde.de"},
			Subject: "[exchange-connector] no access to the mailbox anna.berger@dedenet.de"}
		if diff := cmp.Diff(want, msgs[0], cmpMeta); diff != "" {
			t.Errorf("message mismatch (-want +got):\n%s", diff)
		}
		for _, s := range []string{"Access to OData is disabled.", "What should you do?",
			"Test-ApplicationAccessPolicy -Identity anna.berger@dedenet.de -AppId client-1",
			"connector mailbox enable anna.berger@dedenet.de"} {
			if !strings.Contains(msgs[0].Body, s) {
				t.Errorf("body lacks %q:\n%s", s, msgs[0].Body)
			}
		}
		if got := msgs[1].Subject; got != "[exchange-connector] Resolved: access to the mailbox anna.berger@dedenet.de works again" {
			t.Errorf("recovery subject = %q", got)
		}
	})
}

func TestRefusedMailIsRetriedByTheNextRaise(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		srv := startSMTP(t, true)
		a := setup(t, s, srv, "en")
		dead := alert.Alert{Kind: alert.KindTasksDead, Key: "message:fetch", Data: alert.TasksDead{
			TaskType: "message:fetch", Queue: "default", Count: 2, LastError: "webdav: 507 Insufficient Storage"}}

		srv.Refuse(true)
		if err := a.Raise(ctx, dead); err == nil || !strings.Contains(err.Error(), "554") {
			t.Fatalf("Raise with a refusing server: %v, want the 554 error", err)
		}
		open, err := s.OpenAlerts(ctx)
		if err != nil || len(open) != 1 || open[0].SentAt != nil || !strings.Contains(open[0].LastError, "554") || open[0].Attempts != 1 {
			t.Fatalf("OpenAlerts = %+v, %v; want one unsent alert with the 554 error", open, err)
		}
		if len(srv.Messages()) != 0 {
			t.Fatalf("refused message was recorded")
		}

		srv.Refuse(false)
		if err := a.Raise(ctx, dead); err != nil {
			t.Fatalf("retry: %v", err)
		}
		if err := a.Raise(ctx, dead); err != nil {
			t.Fatal(err)
		}
		msgs := srv.Messages()
		if len(msgs) != 1 || msgs[0].Subject != "[exchange-connector] 2 tasks of type message:fetch failed for good" {
			t.Fatalf("messages after the retry = %+v, want the one alert", msgs)
		}
		open, _ = s.OpenAlerts(ctx)
		if len(open) != 1 || open[0].SentAt == nil || open[0].LastError != "" {
			t.Errorf("after the retry: %+v, want sent without error", open)
		}
	})
}

func TestUnsentAlertIsClearedWithoutRecoveryMail(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		srv := startSMTP(t, false)
		a := setup(t, s, srv, "de")
		srv.Refuse(true)
		silent := alert.Alert{Kind: alert.KindMailboxSilent, Key: "peter.kraus@dedenet.de", Data: alert.MailboxSilent{
			Mailbox: "peter.kraus@dedenet.de", LastMail: now.Add(-72 * time.Hour), UsualGap: time.Hour, CheckedAt: now}}
		if err := a.Raise(ctx, silent); err == nil {
			t.Fatal("Raise with a refusing server: no error")
		}
		srv.Refuse(false)
		if err := a.Clear(ctx, alert.KindMailboxSilent, "peter.kraus@dedenet.de"); err != nil {
			t.Fatal(err)
		}
		if n := len(srv.Messages()); n != 0 {
			t.Errorf("%d messages, want none: the alert never went out, so no recovery is owed", n)
		}
	})
}

func TestRaiseWithoutRecipientsStaysUnsent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		srv := startSMTP(t, false)
		a := setup(t, s, srv, "de")
		if err := s.SetSetting(ctx, "alert_recipients", "[]"); err != nil {
			t.Fatal(err)
		}
		auth := alert.Alert{Kind: alert.KindAuthFailed, Key: "t/c", Data: alert.AuthFailed{TenantID: "t", ClientID: "c", Code: "AADSTS7000215"}}
		if err := a.Raise(ctx, auth); err == nil || !strings.Contains(err.Error(), "alert_recipients") {
			t.Fatalf("Raise without recipients: %v", err)
		}
		if err := s.SetSetting(ctx, "alert_recipients", "ops@dedesales.de"); err != nil {
			t.Fatal(err)
		}
		if err := a.Raise(ctx, auth); err != nil {
			t.Fatal(err)
		}
		if msgs := srv.Messages(); len(msgs) != 1 || !strings.Contains(msgs[0].Body, "Das Client-Secret ist falsch") {
			t.Errorf("messages = %+v, want the alert once recipients are set", msgs)
		}
	})
}

func TestSMTPConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     alert.SMTPConfig
		wantErr string
	}{
		{"no host", alert.SMTPConfig{From: "a@b.de"}, "smtp_host"},
		{"bad tls", alert.SMTPConfig{Host: "h", TLS: "ssl", From: "a@b.de"}, "smtp_tls"},
		{"password in clear", alert.SMTPConfig{Host: "h", TLS: "none", Username: "u", PasswordFile: "f", From: "a@b.de"}, "unencrypted"},
		{"user without password file", alert.SMTPConfig{Host: "h", Username: "u", From: "a@b.de"}, "smtp_password_file"},
		{"bad from", alert.SMTPConfig{Host: "h", From: "nobody"}, "smtp_from"},
		{"ok", alert.SMTPConfig{Host: "h", From: "Connector <a@b.de>"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Validate() = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
	cfg := alert.SMTPConfig{Host: "h", TLS: alert.TLSImplicit, From: "a@b.de"}
	if err := cfg.Validate(); err != nil || cfg.Port != 465 || cfg.Timeout != alert.DefaultSMTPTimeout {
		t.Errorf("defaults: port %d, timeout %v, err %v", cfg.Port, cfg.Timeout, err)
	}
}
