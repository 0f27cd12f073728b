package cli

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/dedesales/exchange-connector/internal/secret"
)

func TestWebhookCommands(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			setup(t, dialect)
			var (
				secret   atomic.Value
				failWith atomic.Int32
				verified atomic.Int32
			)
			crm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				wh, err := standardwebhooks.NewWebhook(secret.Load().(string))
				if err == nil {
					err = wh.Verify(body, r.Header)
				}
				if err != nil || !strings.Contains(string(body), `"type":"webhook.test"`) {
					t.Errorf("the CRM got %s: %v", body, err)
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				verified.Add(1)
				if code := failWith.Load(); code != 0 {
					http.Error(w, "CRM is down for maintenance", int(code))
					return
				}
				w.WriteHeader(http.StatusNoContent)
			}))
			defer crm.Close()
			url := crm.URL + "/hooks"

			// Refused targets, with the reason and the way out.
			for _, tc := range []struct{ url, want string }{
				{"https://localhost:9/hooks", "localhost resolves to"},
				{"https://127.0.0.1:9/hooks", "loopback"},
				{url, "plain http://"},
			} {
				_, errOut, code := run(t, "", "webhook", "add", "--url", tc.url)
				if code == 0 || !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, "--allow-private") {
					t.Errorf("webhook add --url %s: exit %d, %q; want a refusal naming %q and --allow-private", tc.url, code, errOut, tc.want)
				}
			}
			if _, errOut, code := run(t, "", "webhook", "add", "--url", url, "--allow-private", "--events", "activity.deleted"); code == 0 || !strings.Contains(errOut, `unknown event type "activity.deleted"`) {
				t.Errorf("unknown event: exit %d, %q", code, errOut)
			}

			out, errOut, code := run(t, "", "webhook", "add", "--url", url, "--allow-private", "--events", "activity.created,document.filed")
			if code != 0 {
				t.Fatalf("webhook add: exit %d: %s", code, errOut)
			}
			signing := strings.TrimSuffix(out, "\n")
			if !strings.HasPrefix(signing, "whsec_") || strings.ContainsAny(signing, " \n") || !strings.Contains(errOut, "added webhook 1: "+url) {
				t.Fatalf("webhook add printed %q on stdout and %q on stderr; want the secret alone on stdout", out, errOut)
			}
			secret.Store(signing)
			if _, errOut, code := run(t, "", "webhook", "add", "--url", url, "--allow-private"); code == 0 || !strings.Contains(errOut, "already registered") {
				t.Errorf("the same URL twice: exit %d, %q", code, errOut)
			}

			list := mustRun(t, "webhook", "list")
			if !strings.Contains(list, "activity.created,document.filed") || !strings.Contains(list, "ok (no delivery yet), private allowed") {
				t.Errorf("webhook list:\n%s", list)
			}
			if out := mustRun(t, "webhook", "test", "1"); !strings.Contains(out, "answered HTTP 204") {
				t.Errorf("webhook test: %q", out)
			}
			failWith.Store(http.StatusServiceUnavailable)
			if _, errOut, code := run(t, "", "webhook", "test", url); code == 0 || !strings.Contains(errOut, "HTTP 503: CRM is down for maintenance") {
				t.Errorf("webhook test of a failing CRM: exit %d, %q", code, errOut)
			}
			if list := mustRun(t, "webhook", "list"); !strings.Contains(list, "failing since") || !strings.Contains(list, "HTTP 503") {
				t.Errorf("webhook list of a failing endpoint:\n%s", list)
			}
			if verified.Load() != 2 {
				t.Errorf("the CRM verified %d test events; want 2", verified.Load())
			}
			if out := mustRun(t, "webhook", "remove", url); !strings.Contains(out, "removed webhook 1") {
				t.Errorf("webhook remove: %q", out)
			}
			if _, errOut, code := run(t, "", "webhook", "remove", "1"); code == 0 || !strings.Contains(errOut, `no webhook "1"`) {
				t.Errorf("removing twice: exit %d, %q", code, errOut)
			}
		})
	}
}

// TestWebhookSecretSurvivesKeyRotation: after a master key rotation the
// webhook's signing secret opens with the previous key, `credentials
// reseal` moves it to the new key, and the CRM's secret stays the same.
func TestWebhookSecretSurvivesKeyRotation(t *testing.T) {
	dir := setup(t, "sqlite")
	var signing atomic.Value
	crm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		wh, err := standardwebhooks.NewWebhook(signing.Load().(string))
		if err == nil {
			err = wh.Verify(body, r.Header)
		}
		if err != nil {
			t.Errorf("the CRM got %s: %v", body, err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer crm.Close()
	out, errOut, code := run(t, "", "webhook", "add", "--url", crm.URL, "--allow-private")
	if code != 0 {
		t.Fatalf("webhook add: %s", errOut)
	}
	signing.Store(strings.TrimSpace(out))

	keyFile, oldFile := filepath.Join(dir, "var", "master.key"), filepath.Join(dir, "var", "master.key.old")
	if err := os.Rename(keyFile, oldFile); err != nil {
		t.Fatal(err)
	}
	if _, _, err := secret.LoadOrCreateKey(keyFile); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := run(t, "", "webhook", "test", "1"); code == 0 || !strings.Contains(errOut, "different master key") {
		t.Errorf("without the previous key: exit %d, %q", code, errOut)
	}
	t.Setenv("CONNECTOR_PREVIOUS_MASTER_KEY_FILES", oldFile)
	if out := mustRun(t, "webhook", "test", "1"); !strings.Contains(out, "answered HTTP 200") {
		t.Errorf("with the previous key: %q", out)
	}
	if out := mustRun(t, "credentials", "reseal"); !strings.Contains(out, "webhook 1 secret sealed under master key") {
		t.Errorf("reseal:\n%s", out)
	}
	t.Setenv("CONNECTOR_PREVIOUS_MASTER_KEY_FILES", "")
	if out := mustRun(t, "webhook", "test", "1"); !strings.Contains(out, "answered HTTP 200") {
		t.Errorf("after reseal, without the previous key: %q", out)
	}
}
