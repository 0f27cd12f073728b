package ops_test

import (
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/dedesales/exchange-connector/internal/ops"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
	"github.com/dedesales/exchange-connector/internal/testenv"
)

// These tests pin the fixes of the security review (issue 14).

// A logout holds in every web process and across a restart: the
// revocation is in Redis, not in the memory of the process that saw it.
func TestLogoutHoldsAcrossInstancesAndRestarts(t *testing.T) {
	rdb := testenv.RedisClient(t, redisDB)
	pw := writePasswordFile(t, hashed())
	deps := func() ops.Deps {
		return ops.Deps{Store: storetest.Open(t, store.SQLite), PasswordFile: pw, Redis: rdb}
	}
	web1, web2 := newServer(t, deps()), newServer(t, deps())
	b := newBrowser(t, web1)
	b.mustLogin()
	stolen := web1.cookie(t, b, "ops_session")
	other := newBrowser(t, web2)
	other.setCookie(&http.Cookie{Name: stolen.Name, Value: stolen.Value})
	if resp, _ := other.get("/ops/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("the session does not open /ops/ on the second instance: %s", resp.Status)
	}

	if resp, _ := b.do(http.MethodPost, "/ops/logout", url.Values{"csrf": {b.csrf("/ops/")}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %s", resp.Status)
	}
	if resp, _ := other.get("/ops/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after the logout on the first instance, the second still accepts the session: %s", resp.Status)
	}
	web1.Close()
	restarted := newServer(t, deps())
	again := newBrowser(t, restarted)
	again.setCookie(&http.Cookie{Name: stolen.Name, Value: stolen.Value})
	if resp, _ := again.get("/ops/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after a restart the logged-out session opens /ops/: %s", resp.Status)
	}
	if ttl := rdb.TTL(t.Context(), "connector:ops:revoked:"+sessionID(t, stolen.Value)).Val(); ttl <= 0 || ttl > ops.DefaultSessionTTL {
		t.Errorf("the revocation is kept for %s, want until the session expires", ttl)
	}
}

// sessionID reads the ID out of a session cookie value.
func sessionID(t *testing.T, value string) string {
	t.Helper()
	payload, _, _ := strings.Cut(value, ".")
	s := struct{ ID string }{}
	if err := decodeJSONBase64(payload, &s); err != nil || s.ID == "" {
		t.Fatalf("session cookie %q: %v", value, err)
	}
	return s.ID
}

// When Redis cannot say whether a session was logged out, the session is
// refused (503), not let through.
func TestSessionCheckFailsClosedWithoutRedis(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	down := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	t.Cleanup(func() { down.Close() })
	srv := newServer(t, ops.Deps{Store: storetest.Open(t, store.SQLite), PasswordFile: writePasswordFile(t, hashed()), Redis: down})
	b := newBrowser(t, srv)
	b.mustLogin()
	if resp, body := b.get("/ops/"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/ops/ with Redis down: %s, want 503\n%s", resp.Status, body)
	}
}

// Behind a trusted proxy every client has its own login budget: one client
// guessing does not lock the others out, and a client cannot escape its
// budget by sending X-Forwarded-For itself.
func TestLoginLimitPerClientBehindTrustedProxy(t *testing.T) {
	proxy := netip.MustParsePrefix("127.0.0.1/32") // the httptest client plays the proxy
	srv := newServer(t, ops.Deps{Store: storetest.Open(t, store.SQLite), PasswordFile: writePasswordFile(t, hashed())},
		func(e *echo.Echo) { e.IPExtractor = ops.IPExtractor([]netip.Prefix{proxy}) })
	login := func(b *browser, xff, password string) int {
		t.Helper()
		resp, _ := b.do(http.MethodPost, "/ops/login", url.Values{"csrf": {b.csrf("/ops/login")}, "password": {password}, "next": {"/ops/"}},
			http.Header{"X-Forwarded-For": {xff}})
		return resp.StatusCode
	}
	guesser, operator := newBrowser(t, srv), newBrowser(t, srv)
	for i := range 5 {
		if code := login(guesser, "203.0.113.5", "wrong"); code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d, want 401", i+1, code)
		}
	}
	if code := login(guesser, "203.0.113.5", "wrong"); code != http.StatusTooManyRequests {
		t.Errorf("sixth guess: %d, want 429", code)
	}
	if code := login(guesser, "198.51.100.1, 203.0.113.5", "wrong"); code != http.StatusTooManyRequests {
		t.Errorf("a guess with a forged X-Forwarded-For entry: %d, want 429", code)
	}
	if code := login(operator, "203.0.113.9", testPassword); code != http.StatusSeeOther {
		t.Errorf("another client behind the same proxy: %d, want 303 (logged in)", code)
	}

	// Without trusted proxies the header is not believed at all.
	direct := newServer(t, ops.Deps{Store: storetest.Open(t, store.SQLite), PasswordFile: writePasswordFile(t, hashed())},
		func(e *echo.Echo) { e.IPExtractor = ops.IPExtractor(nil) })
	b := newBrowser(t, direct)
	for i := range 5 {
		login(b, "203.0.113."+string(rune('1'+i)), "wrong")
	}
	if code := login(b, "203.0.113.99", testPassword); code != http.StatusTooManyRequests {
		t.Errorf("untrusted X-Forwarded-For made a new client: %d, want 429", code)
	}
}

// The password checks running at once are capped across all clients; one
// more is answered 503 at once instead of queueing on the CPU.
func TestConcurrentPasswordChecksAreCapped(t *testing.T) {
	srv := newAuthServer(t)
	b := newBrowser(t, srv)
	release := srv.h.HoldLoginSlots()
	resp, body := b.login(testPassword)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "Too many logins at once") {
		t.Errorf("login while every slot is busy: %s, Retry-After %q", resp.Status, resp.Header.Get("Retry-After"))
	}
	release()
	b.mustLogin()
}

// With an https:// public URL every cookie is Secure and the pages send
// HSTS, even when the request reaches us as plain HTTP from the proxy.
func TestHTTPSPublicURLMakesCookiesSecureAndSendsHSTS(t *testing.T) {
	for _, https := range []bool{true, false} {
		srv := newServer(t, ops.Deps{Store: storetest.Open(t, store.SQLite), PasswordFile: writePasswordFile(t, hashed()), HTTPS: https, QueuesWritable: true})
		b := newBrowser(t, srv)
		form, _ := b.get("/ops/login")
		resp, _ := b.login(testPassword)
		cookies := append(form.Cookies(), resp.Cookies()...)
		if len(cookies) < 3 {
			t.Fatalf("HTTPS=%v: cookies %v", https, cookies)
		}
		for _, c := range cookies {
			if c.Secure != https {
				t.Errorf("HTTPS=%v: cookie %s has Secure=%v", https, c.Name, c.Secure)
			}
		}
		for _, r := range []*http.Response{form, resp} {
			hsts := r.Header.Get("Strict-Transport-Security")
			if https && !strings.HasPrefix(hsts, "max-age=") || !https && hsts != "" {
				t.Errorf("HTTPS=%v: Strict-Transport-Security %q", https, hsts)
			}
		}
	}
}

// decodeJSONBase64 decodes base64url JSON into v.
func decodeJSONBase64(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
