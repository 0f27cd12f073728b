package ops_test

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dedesales/exchange-connector/internal/ops"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// alerts is a fixed AlertSource.
type alerts struct {
	list []ops.OpenAlert
	err  error
}

func (a alerts) OpenAlerts(context.Context) ([]ops.OpenAlert, error) { return a.list, a.err }

// rowOf returns the text of the table row containing needle, tags removed
// and white space collapsed.
func rowOf(t *testing.T, body, needle string) string {
	t.Helper()
	for _, row := range strings.Split(body, "<tr>") {
		if strings.Contains(row, needle) {
			row, _, _ = strings.Cut(row, "</tr>")
			return strings.Join(strings.Fields(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(row, " ")), " ")
		}
	}
	t.Fatalf("no row with %q:\n%s", needle, body)
	return ""
}

func TestStatusPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		seed(t, st)
		since := testNow.Add(-2 * time.Hour)
		srv := newServer(t, ops.Deps{Store: st, PasswordFile: writePasswordFile(t, hashed()),
			Alerts: alerts{list: []ops.OpenAlert{{Kind: "subscription_failed", Subject: "peter.kraus@dedenet.de", Message: "The subscription could not be created.", Since: since}}}})
		b := newBrowser(t, srv)
		b.mustLogin()
		resp, body := b.get("/ops/")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("/ops/: %s\n%s", resp.Status, body)
		}
		gotRows := map[string]string{
			"anna":   rowOf(t, body, "anna.berger@dedenet.de<br>"),
			"peter":  rowOf(t, body, "peter.kraus@dedenet.de<br>"),
			"olaf":   rowOf(t, body, "olaf.alt@dedenet.de<br>"),
			"secret": rowOf(t, body, "tenant-1"),
			"alert":  rowOf(t, body, "subscription_failed"),
		}
		expires := testNow.Add(5 * 24 * time.Hour).Local().Format("2006-01-02 15:04:05 MST")
		wantRows := map[string]string{
			"anna": "anna.berger@dedenet.de Anna Berger enabled active in 5d 0h (" + expires + ") 1m 30s ago never 1 0 1 no_match: 1",
			// Peter's copy of Anna's e-mail is a duplicate; his subscription failed.
			"peter":  "peter.kraus@dedenet.de Peter Kraus enabled failed - never never 0 1 0 Graph: subscription validation failed",
			"olaf":   "olaf.alt@dedenet.de Olaf Alt inactive none - never never 0 0 0",
			"secret": "tenant-1 client-1 secret abc… " + testNow.Add(20*24*time.Hour+time.Hour).Local().Format("2006-01-02 15:04:05 MST") + " 20 days",
			"alert":  since.Local().Format("2006-01-02 15:04:05 MST") + " subscription_failed peter.kraus@dedenet.de The subscription could not be created.",
		}
		if diff := cmp.Diff(wantRows, gotRows); diff != "" {
			t.Errorf("status rows: mismatch (-want +got)\n%s", diff)
		}
		for _, want := range []string{"AW: Angebot Wartungsvertrag", "Newsletter &lt;b&gt;November&lt;/b&gt;", `action="/ops/decisions"`} {
			if !strings.Contains(body, want) {
				t.Errorf("status page lacks %q", want)
			}
		}
		if strings.Contains(body, "<b>November") {
			t.Error("a subject is not escaped")
		}
	})
}

func TestStatusPageWithoutAlertsOrCredentials(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	srv := newServer(t, ops.Deps{Store: st, PasswordFile: writePasswordFile(t, hashed()), Alerts: alerts{err: errors.New("alerts table missing")}})
	b := newBrowser(t, srv)
	b.mustLogin()
	resp, body := b.get("/ops/")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/ops/: %s\n%s", resp.Status, body)
	}
	for _, want := range []string{"Could not load the alerts: alerts table missing", "No employee has an Exchange mailbox", "No active credentials", "No decisions yet."} {
		if !strings.Contains(body, want) {
			t.Errorf("status page lacks %q", want)
		}
	}
}

// A certificate credential is shown with its thumbprint and its own expiry.
func TestStatusPageCertificate(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	notAfter := testNow.Add(40*24*time.Hour + time.Hour)
	if _, err := st.AddCredential(context.Background(), store.Credential{TenantID: "tenant-1", ClientID: "client-1", Kind: store.CredentialCertificate,
		SecretSealed: "sealed", SecretHint: "0A1B2C3D4E5F60718293A4B5C6D7E8F901234567", ExpiresAt: &notAfter}, true); err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, ops.Deps{Store: st, PasswordFile: writePasswordFile(t, hashed())})
	b := newBrowser(t, srv)
	b.mustLogin()
	_, body := b.get("/ops/")
	row := rowOf(t, body, "tenant-1")
	if !strings.Contains(row, "certificate 0A1B2C3D4E5F60718293A4B5C6D7E8F901234567") || !strings.Contains(row, "40 days") {
		t.Errorf("credential row %q", row)
	}
	if !strings.Contains(body, "<h2>Credentials</h2>") {
		t.Error("the section is not called Credentials")
	}
}

func TestSecretDaysLeft(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	srv := newServer(t, ops.Deps{Store: st, PasswordFile: writePasswordFile(t, hashed())})
	ctx := context.Background()
	for i, exp := range []*time.Time{nil, ptr(testNow.Add(-36 * time.Hour)), ptr(testNow.Add(-time.Hour)), ptr(testNow.Add(30 * time.Hour)), ptr(testNow.Add(400 * 24 * time.Hour))} {
		if _, err := st.AddCredential(ctx, store.Credential{TenantID: "t", ClientID: string(rune('a' + i)), SecretSealed: "s", ExpiresAt: exp}, false); err != nil {
			t.Fatal(err)
		}
	}
	b := newBrowser(t, srv)
	b.mustLogin()
	_, body := b.get("/ops/")
	var got []string
	for _, c := range []string{"a", "b", "c", "d", "e"} {
		row := rowOf(t, body, "<td>t</td><td>"+c+"</td>")
		got = append(got, row[strings.LastIndex(row, " ")+1:])
	}
	if diff := cmp.Diff([]string{"unknown", "ago", "today", "day", "days"}, got); diff != "" {
		t.Errorf("mismatch (-want +got)\n%s", diff)
	}
	for _, want := range []string{"expired 1 days ago", "expired today", ">1 day<", ">400 days<", ">unknown<"} {
		if !strings.Contains(body, want) {
			t.Errorf("status page lacks %q", want)
		}
	}
}

func ptr[T any](v T) *T { return &v }
