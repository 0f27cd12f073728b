package alert

import (
	"strings"
	"testing"
	"time"
)

var checked = time.Date(2026, 11, 4, 9, 30, 0, 0, time.UTC)

// samples has one alert of each kind.
var samples = map[string]Alert{
	KindSecretExpiring: {Kind: KindSecretExpiring, Key: "tenant/client", Level: "7d", Data: SecretExpiring{
		TenantID: "11111111-2222-3333-4444-555555555555", ClientID: "66666666-7777-8888-9999-000000000000",
		SecretHint: "abc", ExpiresAt: checked.Add(7 * 24 * time.Hour), CheckedAt: checked}},
	KindAuthFailed: {Kind: KindAuthFailed, Key: "tenant/client", Data: AuthFailed{TenantID: "t", ClientID: "c",
		Code: "AADSTS7000222", Description: "The provided client secret keys for app 'c' are expired."}},
	KindMailboxAccessDenied: {Kind: KindMailboxAccessDenied, Key: "anna.berger@dedenet.de", Data: MailboxAccessDenied{
		Mailbox: "anna.berger@dedenet.de", Employee: "Anna Berger", ClientID: "c", Error: "ErrorAccessDenied: Access to OData is disabled."}},
	KindMailboxNotFound: {Kind: KindMailboxNotFound, Key: "j.doe@dedenet.de", Data: MailboxNotFound{
		Mailbox: "j.doe@dedenet.de", Employee: "Jane Doe",
		Error: "graph: create subscription: user not found (404 ExtensionError): Operation: Create; Exception: [Status Code: NotFound; Reason: The requested user 'j.doe@dedenet.de' is invalid.]"}},
	KindSubscriptionFailed: {Kind: KindSubscriptionFailed, Key: "anna.berger@dedenet.de", Data: SubscriptionFailed{
		Mailbox: "anna.berger@dedenet.de", Operation: OpRenew, Error: "ExtensionError: Operation: Create; Exception: [Status Code: Forbidden]"}},
	KindTasksDead: {Kind: KindTasksDead, Key: "message:fetch", Data: TasksDead{TaskType: "message:fetch", Queue: "default",
		Count: 3, LastError: "webdav: 507 Insufficient Storage"}},
	KindMailboxSilent: {Kind: KindMailboxSilent, Key: "anna.berger@dedenet.de", Data: MailboxSilent{
		Mailbox: "anna.berger@dedenet.de", LastMail: checked.Add(-50 * time.Hour), UsualGap: 40 * time.Minute, CheckedAt: checked}},
	KindWebhookFailing: {Kind: KindWebhookFailing, Key: "3", Data: WebhookFailing{EndpointID: 3, URL: "https://crm.example.com/hooks",
		FailingSince: checked.Add(-90 * time.Minute), LastError: "crmhook: POST https://crm.example.com/hooks: HTTP 503", CheckedAt: checked}},
}

func TestRenderEveryKind(t *testing.T) {
	for _, lang := range []string{German, English} {
		for _, kind := range Kinds {
			t.Run(lang+"/"+kind, func(t *testing.T) {
				subject, body, err := Render(lang, samples[kind])
				if err != nil {
					t.Fatal(err)
				}
				checkMail(t, subject, body)
				rs, rb, err := RenderRecovery(lang, Recovery{Kind: kind, Key: samples[kind].Key, Subject: subject, OpenedAt: checked, ResolvedAt: checked.Add(time.Hour)})
				if err != nil {
					t.Fatal(err)
				}
				checkMail(t, rs, rb)
			})
		}
	}
}

func checkMail(t *testing.T, subject, body string) {
	t.Helper()
	if !strings.HasPrefix(subject, SubjectPrefix) || strings.Contains(subject, "\n") {
		t.Errorf("subject %q: want one line starting with %q", subject, SubjectPrefix)
	}
	for _, s := range []string{subject, body} {
		if strings.Contains(s, "<no value>") || strings.Contains(s, "%!") {
			t.Errorf("unfilled placeholder in:\n%s", s)
		}
	}
	// Every mail answers the three questions.
	de := []string{"Was ist passiert?", "Was bedeutet das für die CRM-Benutzer?", "Was ist zu tun?"}
	en := []string{"What happened?", "What does it mean for the CRM users?", "What should you do?"}
	for i := range de {
		if !strings.Contains(body, de[i]) && !strings.Contains(body, en[i]) {
			t.Errorf("body lacks %q:\n%s", en[i], body)
		}
	}
}

func TestRenderSubjects(t *testing.T) {
	exp := checked.Add(7 * 24 * time.Hour)
	secret := func(at time.Time) Alert {
		return Alert{Kind: KindSecretExpiring, Key: "k", Data: SecretExpiring{ExpiresAt: exp, CheckedAt: at}}
	}
	tests := []struct {
		lang  string
		alert Alert
		want  string
	}{
		{German, secret(checked), "[exchange-connector] Client-Secret läuft in 7 Tagen ab"},
		{English, secret(checked), "[exchange-connector] client secret expires in 7 days"},
		{German, secret(exp.Add(-23 * time.Hour)), "[exchange-connector] Client-Secret läuft in 1 Tag ab"},
		{English, secret(exp.Add(-23 * time.Hour)), "[exchange-connector] client secret expires in 1 day"},
		{German, secret(exp.Add(time.Hour)), "[exchange-connector] Client-Secret ist abgelaufen"},
		{German, secret(exp.Add(3*24*time.Hour + time.Hour)), "[exchange-connector] Client-Secret ist abgelaufen (seit 3 Tagen)"},
		{English, secret(exp.Add(3*24*time.Hour + time.Hour)), "[exchange-connector] client secret has expired (3 days ago)"},
		{German, samples[KindAuthFailed], "[exchange-connector] Anmeldung bei Microsoft 365 fehlgeschlagen (AADSTS7000222)"},
		{English, samples[KindSubscriptionFailed], "[exchange-connector] subscription for anna.berger@dedenet.de cannot be renewed"},
		{German, samples[KindTasksDead], "[exchange-connector] 3 Aufgaben vom Typ message:fetch endgültig fehlgeschlagen"},
		{English, samples[KindMailboxSilent], "[exchange-connector] mailbox anna.berger@dedenet.de silent for 2 days 2 hours"},
	}
	for _, tt := range tests {
		got, _, err := Render(tt.lang, tt.alert)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("subject = %q, want %q", got, tt.want)
		}
	}
}

func TestRenderRejectsWrongData(t *testing.T) {
	if _, _, err := Render(German, Alert{Kind: KindAuthFailed, Data: MailboxSilent{}}); err == nil {
		t.Error("Render with the wrong data type: no error")
	}
	if _, _, err := Render(German, Alert{Kind: "nope"}); err == nil {
		t.Error("Render of an unknown kind: no error")
	}
}

func TestHumanDuration(t *testing.T) {
	tests := []struct {
		d      time.Duration
		de, en string
	}{
		{30 * time.Second, "weniger als 1 Minute", "less than a minute"},
		{time.Minute, "1 Minute", "1 minute"},
		{90 * time.Minute, "1 Stunde 30 Minuten", "1 hour 30 minutes"},
		{50 * time.Hour, "2 Tage 2 Stunden", "2 days 2 hours"},
		{72*time.Hour + 5*time.Minute, "3 Tage", "3 days"},
		{24*time.Hour + time.Hour + time.Minute, "1 Tag 1 Stunde", "1 day 1 hour"},
	}
	for _, tt := range tests {
		if got := humanDuration(tt.d, true); got != tt.de {
			t.Errorf("humanDuration(%v, de) = %q, want %q", tt.d, got, tt.de)
		}
		if got := humanDuration(tt.d, false); got != tt.en {
			t.Errorf("humanDuration(%v, en) = %q, want %q", tt.d, got, tt.en)
		}
	}
}
