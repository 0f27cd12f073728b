package ops_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dedesales/exchange-connector/internal/ops"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// TestStatusPageShowsCRMWebhooks: the status page lists the CRM's webhook
// endpoints, a failing one with how long and why.
func TestStatusPageShowsCRMWebhooks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		seed(t, st)
		since := testNow.Add(-90 * time.Minute)
		st.SetClock(func() time.Time { return since })
		ok, err := st.AddWebhookEndpoint(ctx, store.WebhookEndpoint{URL: "https://crm.example.com/ok", SecretSealed: "s"}, []string{store.ChangeActivityCreated})
		if err != nil {
			t.Fatal(err)
		}
		bad, err := st.AddWebhookEndpoint(ctx, store.WebhookEndpoint{URL: "https://crm.example.com/down", SecretSealed: "s"},
			[]string{store.ChangeActivityCreated, store.ChangeDocumentFiled})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.RecordWebhookSuccess(ctx, ok); err != nil {
			t.Fatal(err)
		}
		if err := st.RecordWebhookFailure(ctx, bad, since, "crmhook: POST https://crm.example.com/down: HTTP 503"); err != nil {
			t.Fatal(err)
		}
		srv := newServer(t, ops.Deps{Store: st, PasswordFile: writePasswordFile(t, hashed())})
		b := newBrowser(t, srv)
		b.mustLogin()
		resp, body := b.get("/ops/")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("/ops/: %s\n%s", resp.Status, body)
		}
		if got, want := rowOf(t, body, "crm.example.com/down"),
			"2 https://crm.example.com/down activity.created, document.filed failing for 1h 30m (since "+since.Local().Format("2006-01-02 15:04:05 MST")+") never crmhook: POST https://crm.example.com/down: HTTP 503"; got != want {
			t.Errorf("failing row:\n got %s\nwant %s", got, want)
		}
		if got := rowOf(t, body, "crm.example.com/ok"); !strings.HasPrefix(got, "1 https://crm.example.com/ok activity.created ok 1h 30m ago") {
			t.Errorf("healthy row: %s", got)
		}
	})
}
