package crmhook_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/dedesales/exchange-connector/internal/crmhook"
	"github.com/dedesales/exchange-connector/internal/secret"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// fixedResolver answers every lookup with its addresses.
type fixedResolver []string

func (r fixedResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, a := range r {
		out = append(out, netip.MustParseAddr(a))
	}
	return out, nil
}

func TestCheckURL(t *testing.T) {
	public := fixedResolver{"203.0.113.7"}
	tests := []struct {
		url      string
		resolver crmhook.Resolver
		private  bool
		want     string // "" = accepted; otherwise a part of the error
	}{
		{"https://crm.example.com/hooks", public, false, ""},
		{"https://93.184.215.14/hooks", nil, false, ""},
		{"http://crm.example.com/hooks", public, false, "plain http://"},
		{"http://crm.example.com/hooks", public, true, ""},
		{"https://localhost:8443/hooks", nil, false, "localhost resolves to"}, // the system resolver: 127.0.0.1 or ::1
		{"https://localhost:8443/hooks", nil, true, ""},
		{"https://127.0.0.1/", nil, false, "loopback"},
		{"https://[::1]/", nil, false, "loopback"},
		{"https://10.1.2.3/", nil, false, "private"},
		{"https://172.16.0.1/", nil, false, "private"},
		{"https://192.168.178.1/", nil, false, "private"},
		{"https://100.64.0.1/", nil, false, "carrier-grade NAT"},
		{"https://169.254.169.254/latest/meta-data", nil, false, "link-local"},
		{"https://[fe80::1]/", nil, false, "link-local"},
		{"https://[fd12:3456::1]/", nil, false, "unique local"},
		{"https://0.0.0.0/", nil, false, "unspecified"},
		{"https://[::]/", nil, false, "unspecified"},
		{"https://224.0.0.1/", nil, false, "multicast"},
		{"https://[::ffff:127.0.0.1]/", nil, false, "loopback"},
		{"https://rebind.example.com/", fixedResolver{"203.0.113.7", "10.0.0.5"}, false, "resolves to 10.0.0.5"},
		{"ftp://crm.example.com/", public, true, "scheme"},
		{"https:///nohost", public, true, "no host"},
		{"https://user:pw@crm.example.com/", public, true, "credentials"},
		{"https://crm.example.com/#x", public, true, "fragment"},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			_, err := crmhook.CheckURL(context.Background(), tc.url, tc.private, tc.resolver)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v; want one containing %q", err, tc.want)
			case strings.Contains(tc.want, "resolves") || strings.Contains(tc.want, "loopback") || strings.Contains(tc.want, "private"):
				if !errors.Is(err, crmhook.ErrForbiddenTarget) {
					t.Errorf("error %v does not wrap ErrForbiddenTarget", err)
				}
			}
		})
	}
}

// guardedService has a stored endpoint per URL, added without the check of
// `webhook add` (as if DNS had changed since), so that the delivery's own
// check at dial time is what stands.
func guardedService(t *testing.T, timeout time.Duration, roots *x509.CertPool) (*crmhook.Service, *store.Store, func(url string, allowPrivate bool) store.WebhookEndpoint) {
	st := storetest.Open(t, store.SQLite)
	key := testKey(t)
	svc := crmhook.New(crmhook.Config{Store: st, Keys: secret.Ring{Current: key}, Log: testLog(t), Timeout: timeout, RootCAs: roots})
	return svc, st, func(url string, allowPrivate bool) store.WebhookEndpoint {
		ep, _ := addEndpoint(t, st, key, url, allowPrivate)
		return ep
	}
}

// TestGuardChecksTheDialledAddress: deliveries to loopback addresses, also
// through a host name that resolves to 127.0.0.1, are refused when the
// connection is opened, before anything is sent; plain http:// is refused.
func TestGuardChecksTheDialledAddress(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate()) // so that only the guard stands between the delivery and the receiver
	svc, st, add := guardedService(t, 0, roots)
	ctx := context.Background()
	for _, url := range []string{
		"https://localhost:" + port + "/hooks", // a name resolving to 127.0.0.1
		"https://127.0.0.1:" + port + "/hooks",
		"https://[::ffff:127.0.0.1]:" + port + "/hooks",
		"http://127.0.0.1:" + port + "/hooks",
	} {
		ep := add(url, false)
		_, err := svc.Test(ctx, ep)
		if !errors.Is(err, crmhook.ErrForbiddenTarget) {
			t.Errorf("%s: %v; want ErrForbiddenTarget", url, err)
		}
		got, err := st.WebhookEndpoint(ctx, ep.ID)
		if err != nil || got.FailingSince == nil || !strings.Contains(got.LastError, "forbidden webhook target") {
			t.Errorf("%s: endpoint %+v, %v; want failing with the reason", url, got, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the receiver got %d requests", n)
	}
}

// TestNoRedirects: a 3xx is a failed delivery; its target is not called.
func TestNoRedirects(t *testing.T) {
	var followed atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/hooks", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/elsewhere", func(http.ResponseWriter, *http.Request) { followed.Add(1) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	svc, _, add := guardedService(t, 0, nil)
	res, err := svc.Test(context.Background(), add(srv.URL+"/hooks", true))
	if err == nil || res.Status != http.StatusTemporaryRedirect || !strings.Contains(err.Error(), "not followed") {
		t.Errorf("Test = %+v, %v; want a failure with status 307", res, err)
	}
	if followed.Load() != 0 {
		t.Error("the redirect was followed")
	}
}

// TestResponseBodyIsCapped: at most 64 KiB of an answer is read, and the
// start of an error answer is kept, shortened, as the endpoint's last error.
func TestResponseBodyIsCapped(t *testing.T) {
	const huge = 256 << 20
	written := make(chan int, 2)
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(status)
		chunk := []byte(strings.Repeat("x", 32<<10))
		n := 0
		for n < huge {
			m, err := w.Write(chunk)
			n += m
			if err != nil {
				break
			}
		}
		written <- n
	}))
	defer srv.Close()
	svc, st, add := guardedService(t, 0, nil)
	ep := add(srv.URL, true)
	start := time.Now()
	if _, err := svc.Test(context.Background(), ep); err != nil {
		t.Fatalf("a 200 with a huge body: %v", err)
	}
	if n := <-written; n >= huge {
		t.Errorf("the receiver wrote all of its %d bytes: the body was read to the end", n)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s", d)
	}
	status = http.StatusInternalServerError
	if _, err := svc.Test(context.Background(), ep); err == nil || len(err.Error()) > 400 {
		t.Errorf("a 500 with a huge body: %v", err)
	}
	<-written
	got, _ := st.WebhookEndpoint(context.Background(), ep.ID)
	if !strings.Contains(got.LastError, "HTTP 500: xxxx") || len(got.LastError) > 400 {
		t.Errorf("last error %q", got.LastError)
	}
}

// TestTimeout: an endpoint that does not answer fails after the timeout.
func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	svc, _, add := guardedService(t, 200*time.Millisecond, nil)
	start := time.Now()
	_, err := svc.Test(context.Background(), add(srv.URL, true))
	if err == nil || time.Since(start) > 5*time.Second {
		t.Errorf("Test = %v after %s; want a timeout after 200ms", err, time.Since(start))
	}
}

// TestSignature: the signature is the one the Standard Webhooks library
// computes and verifies, and the secret has the documented form.
func TestSignature(t *testing.T) {
	signing, err := crmhook.NewSecret()
	if err != nil || !strings.HasPrefix(signing, "whsec_") {
		t.Fatalf("NewSecret = %q, %v", signing, err)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(signing, "whsec_"))
	if err != nil || len(raw) < 24 || len(raw) > 32 {
		t.Fatalf("signing %q: %d bytes, %v; want base64 of 24 to 32 bytes", signing, len(raw), err)
	}
	wh, err := standardwebhooks.NewWebhook(signing)
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Now()
	body := []byte(`{"type":"activity.created","data":{"id":1}}`)
	want, err := wh.Sign("evt_1", ts, body)
	if err != nil {
		t.Fatal(err)
	}
	if got := crmhook.Sign(raw, "evt_1", ts, body); got != want {
		t.Errorf("Sign = %s; the library says %s", got, want)
	}
	h := http.Header{}
	h.Set("webhook-id", "evt_1")
	h.Set("webhook-timestamp", fmt.Sprint(ts.Unix()))
	h.Set("webhook-signature", crmhook.Sign(raw, "evt_1", ts, body))
	if err := wh.Verify(body, h); err != nil {
		t.Errorf("the library does not verify our signature: %v", err)
	}
	h.Set("webhook-signature", crmhook.Sign(raw, "evt_2", ts, body))
	if err := wh.Verify(body, h); err == nil {
		t.Error("a signature over another webhook-id verifies")
	}
	if _, _, err := crmhook.OpenSecret(secret.Ring{}, store.WebhookEndpoint{}); err == nil {
		t.Error("OpenSecret without a master key succeeded")
	}
}

// TestTestEvent: `webhook test` sends a signed webhook.test event and
// records the result.
func TestTestEvent(t *testing.T) {
	rcv := newReceiver(t)
	st := storetest.Open(t, store.SQLite)
	key := testKey(t)
	ep, signing := addEndpoint(t, st, key, rcv.srv.URL+"/hooks", true)
	rcv.setSecret(signing)
	svc := crmhook.New(crmhook.Config{Store: st, Keys: secret.Ring{Current: key}, Log: testLog(t)})
	res, err := svc.Test(context.Background(), ep)
	if err != nil || res.Status != http.StatusNoContent {
		t.Fatalf("Test = %+v, %v", res, err)
	}
	if d := rcv.await(1, waitFor)[0]; d.Body.Type != crmhook.EventTest || !strings.HasPrefix(d.ID, "test_") {
		t.Errorf("test event %+v", d)
	}
	rcv.check()
	got, err := st.WebhookEndpoint(context.Background(), ep.ID)
	if err != nil || got.LastSuccessAt == nil {
		t.Errorf("endpoint after the test: %+v, %v", got, err)
	}
}
