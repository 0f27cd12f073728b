package ops_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/bcrypt"

	"github.com/dedesales/exchange-connector/internal/ops"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// newAuthServer is a server with a seeded SQLite store and the hashed
// test password; the auth tests do not depend on the database.
func newAuthServer(t *testing.T) *server {
	t.Helper()
	st := storetest.Open(t, store.SQLite)
	seed(t, st)
	return newServer(t, ops.Deps{Store: st, PasswordFile: writePasswordFile(t, hashed())})
}

func TestHashPassword(t *testing.T) {
	h, err := ops.HashPassword("geheim")
	if err != nil {
		t.Fatal(err)
	}
	if cost, err := bcrypt.Cost([]byte(h)); err != nil || cost != ops.HashCost {
		t.Errorf("cost %d, %v; want %d", cost, err, ops.HashCost)
	}
	if bcrypt.CompareHashAndPassword([]byte(h), []byte("geheim")) != nil {
		t.Error("the hash does not verify the password")
	}
	if _, err := ops.HashPassword(""); err == nil {
		t.Error("empty password: no error")
	}
}

func TestLogin(t *testing.T) {
	srv := newAuthServer(t)
	b := newBrowser(t, srv)

	resp, _ := b.get("/ops/")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ops/login?next=%2Fops%2F" {
		t.Fatalf("/ops/ without session: %s, Location %q", resp.Status, resp.Header.Get("Location"))
	}
	resp, body := b.login("wrong")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Wrong password.") {
		t.Fatalf("wrong password: %s\n%s", resp.Status, body)
	}
	if resp, _ := b.get("/ops/"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after a failed login /ops/ answers %s", resp.Status)
	}

	resp, _ = b.login(testPassword)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ops/" {
		t.Fatalf("login: %s, Location %q", resp.Status, resp.Header.Get("Location"))
	}
	var sc *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "ops_session" {
			sc = c
		}
	}
	if sc == nil {
		t.Fatal("no session cookie")
	}
	type flags struct {
		Path     string
		MaxAge   int
		HttpOnly bool
		SameSite http.SameSite
	}
	want := flags{Path: "/ops", MaxAge: int((12 * time.Hour).Seconds()), HttpOnly: true, SameSite: http.SameSiteStrictMode}
	if diff := cmp.Diff(want, flags{sc.Path, sc.MaxAge, sc.HttpOnly, sc.SameSite}); diff != "" {
		t.Errorf("session cookie: mismatch (-want +got)\n%s", diff)
	}
	resp, body = b.get("/ops/")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "anna.berger@dedenet.de") {
		t.Fatalf("/ops/ after login: %s\n%s", resp.Status, body)
	}
	// Logged in, the form goes straight on.
	if resp, _ := b.get("/ops/login?next=/ops/decisions"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ops/decisions" {
		t.Errorf("login form while logged in: %s → %q", resp.Status, resp.Header.Get("Location"))
	}

	// Logout needs the CSRF token, then ends the session for good.
	if resp, _ := b.do(http.MethodPost, "/ops/logout", url.Values{}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("logout without CSRF token: %s, want 403", resp.Status)
	}
	token := b.csrf("/ops/")
	old := srv.cookie(t, b, "ops_session")
	resp, _ = b.do(http.MethodPost, "/ops/logout", url.Values{"csrf": {token}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ops/login" {
		t.Fatalf("logout: %s → %q", resp.Status, resp.Header.Get("Location"))
	}
	if resp, _ := b.get("/ops/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after logout /ops/ answers %s", resp.Status)
	}
	// A copy of the old cookie is worthless too.
	b2 := newBrowser(t, srv)
	b2.setCookie(old)
	if resp, _ := b2.get("/ops/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the logged-out cookie still opens /ops/: %s", resp.Status)
	}
}

func TestLoginRedirectsToNext(t *testing.T) {
	srv := newAuthServer(t)
	tests := []struct{ next, want string }{
		{"/ops/decisions?q=Angebot", "/ops/decisions?q=Angebot"},
		{"/ops/queues/", "/ops/queues/"},
		{"https://evil.example/ops/", "/ops/"},
		{"//evil.example/ops/", "/ops/"},
		{"/\\evil.example", "/ops/"},
		{"/elsewhere", "/ops/"},
		{"/ops/../admin", "/ops/"},
		{"/ops/logout", "/ops/"},
		{"", "/ops/"},
	}
	for _, tt := range tests {
		srv.clock.Add(time.Minute) // every attempt counts against the rate limit
		b := newBrowser(t, srv)
		token := b.csrf("/ops/login")
		resp, _ := b.do(http.MethodPost, "/ops/login", url.Values{"csrf": {token}, "password": {testPassword}, "next": {tt.next}}, nil)
		if got := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || got != tt.want {
			t.Errorf("next %q: %s → %q, want %q", tt.next, resp.Status, got, tt.want)
		}
	}
}

func TestCSRF(t *testing.T) {
	srv := newAuthServer(t)
	b := newBrowser(t, srv)
	token := b.csrf("/ops/login")
	tests := []struct {
		name   string
		form   url.Values
		header http.Header
	}{
		{"no token", url.Values{"password": {testPassword}}, nil},
		{"wrong token", url.Values{"password": {testPassword}, "csrf": {"x" + token}}, nil},
		{"cross-site", url.Values{"password": {testPassword}, "csrf": {token}}, http.Header{"Sec-Fetch-Site": {"cross-site"}}},
	}
	for _, tt := range tests {
		if resp, _ := b.do(http.MethodPost, "/ops/login", tt.form, tt.header); resp.StatusCode != http.StatusForbidden {
			t.Errorf("login, %s: %s, want 403", tt.name, resp.Status)
		}
	}
	// Without the login cookie the form's token is worthless (double submit).
	other := newBrowser(t, srv)
	if resp, _ := other.do(http.MethodPost, "/ops/login", url.Values{"password": {testPassword}, "csrf": {token}}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("login with another client's token: %s, want 403", resp.Status)
	}

	b.mustLogin()
	for _, path := range []string{"/ops/logout", "/ops/", "/ops/queues/api/queues/default:pause"} {
		if resp, _ := b.do(http.MethodPost, path, url.Values{}, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s without token: %s, want 403", path, resp.Status)
		}
	}
	// The login form's token is not the session's.
	if resp, _ := b.do(http.MethodPost, "/ops/logout", url.Values{"csrf": {token}}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("logout with the login token: %s, want 403", resp.Status)
	}
}

func TestSessionExpires(t *testing.T) {
	srv := newAuthServer(t)
	b := newBrowser(t, srv)
	b.mustLogin()
	srv.clock.Add(12*time.Hour - time.Second)
	if resp, _ := b.get("/ops/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("just before expiry: %s", resp.Status)
	}
	srv.clock.Add(time.Second)
	if resp, _ := b.get("/ops/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after 12 h: %s, want 303 to the login", resp.Status)
	}
	if resp, _ := b.get("/ops/queues/api/queues"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("API after 12 h: %s, want 401", resp.Status)
	}
}

func TestTamperedCookie(t *testing.T) {
	srv := newAuthServer(t)
	b := newBrowser(t, srv)
	b.mustLogin()
	good := srv.cookie(t, b, "ops_session")
	payload, sig, _ := strings.Cut(good.Value, ".")
	flip := func(s string) string {
		r := []byte(s)
		if r[3] == 'A' {
			r[3] = 'B'
		} else {
			r[3] = 'A'
		}
		return string(r)
	}
	otherKey := newServer(t, ops.Deps{Store: storetest.Open(t, store.SQLite), PasswordFile: writePasswordFile(t, hashed()),
		SessionKey: []byte("another key, another key, another key")})
	ob := newBrowser(t, otherKey)
	ob.mustLogin()
	forged := otherKey.cookie(t, ob, "ops_session").Value

	for name, value := range map[string]string{
		"payload changed":   flip(payload) + "." + sig,
		"signature changed": payload + "." + flip(sig),
		"no signature":      payload,
		"empty":             "",
		"other key":         forged,
		"garbage":           "a.b.c",
	} {
		t2 := newBrowser(t, srv)
		t2.setCookie(&http.Cookie{Name: "ops_session", Value: value, Path: "/ops"})
		if resp, _ := t2.get("/ops/"); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("%s: %s, want 303 to the login", name, resp.Status)
		}
	}
}

func TestEveryPathNeedsASession(t *testing.T) {
	srv := newServer(t, ops.Deps{Store: storetest.Open(t, store.SQLite), PasswordFile: writePasswordFile(t, hashed()), RedisConnOpt: redisOpt(t)})
	b := newBrowser(t, srv)
	paths := []string{"/ops", "/ops/", "/ops/decisions", "/ops/decisions?q=x", "/ops/decisions/1", "/ops/nothing/here",
		"/ops/queues", "/ops/queues/", "/ops/queues/servers", "/ops/queues/static/js/main.5adda2da.chunk.js",
		"/ops/queues/api/queues", "/ops/queues/api/servers", "/ops/queues/api/redis_info", "/ops/queues/api/queues/default"}
	for _, p := range paths {
		resp, body := b.get(p)
		switch {
		case strings.HasPrefix(p, "/ops/queues/api"):
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("GET %s: %s, want 401", p, resp.Status)
			}
		case resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/ops/login?next="):
			t.Errorf("GET %s: %s → %q, want 303 to the login\n%s", p, resp.Status, resp.Header.Get("Location"), body)
		}
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
			resp, _ := b.do(m, p, url.Values{}, nil)
			if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: %s, want 401", m, p, resp.Status)
			}
			if resp.StatusCode == http.StatusMethodNotAllowed && strings.HasPrefix(p, "/ops/queues") {
				t.Errorf("%s %s reached asynqmon: %s", m, p, resp.Status)
			}
		}
	}
	// Only the login form is open.
	if resp, _ := b.get("/ops/login"); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /ops/login: %s", resp.Status)
	}
}

func TestUnconfigured(t *testing.T) {
	srv := newServer(t, ops.Deps{})
	b := newBrowser(t, srv)
	for _, p := range []string{"/ops", "/ops/", "/ops/login", "/ops/queues/", "/ops/queues/api/queues", "/ops/decisions/1"} {
		resp, body := b.get(p)
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "CONNECTOR_OPS_PASSWORD_FILE") {
			t.Errorf("GET %s: %s, want 503 explaining CONNECTOR_OPS_PASSWORD_FILE\n%s", p, resp.Status, body)
		}
	}
	if resp, _ := b.do(http.MethodPost, "/ops/login", url.Values{"password": {""}}, nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("POST /ops/login: %s, want 503", resp.Status)
	}
}

func TestNewRefusesBadDeps(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	pw := writePasswordFile(t, hashed())
	empty := writePasswordFile(t, "  ")
	tests := map[string]ops.Deps{
		"short key":    {Store: st, PasswordFile: pw, SessionKey: []byte("short")},
		"no store":     {PasswordFile: pw, SessionKey: testKey},
		"missing file": {Store: st, PasswordFile: pw + ".missing", SessionKey: testKey},
		"empty file":   {Store: st, PasswordFile: empty, SessionKey: testKey},
	}
	for name, d := range tests {
		if _, err := ops.New(d); err == nil {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestPlainPasswordWorksWithAWarning(t *testing.T) {
	var logs bytes.Buffer
	srv := newServer(t, ops.Deps{Store: storetest.Open(t, store.SQLite), PasswordFile: writePasswordFile(t, testPassword),
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if !strings.Contains(logs.String(), "a bcrypt hash is recommended") {
		t.Errorf("no warning about the plain password:\n%s", logs.String())
	}
	b := newBrowser(t, srv)
	if resp, _ := b.login(testPassword + "x"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong password: %s", resp.Status)
	}
	b.mustLogin()
	if strings.Contains(logs.String(), testPassword) {
		t.Errorf("the password is in the log:\n%s", logs.String())
	}
}

func TestPasswordChangeEndsSessions(t *testing.T) {
	pw := writePasswordFile(t, hashed())
	srv := newServer(t, ops.Deps{Store: storetest.Open(t, store.SQLite), PasswordFile: pw})
	b := newBrowser(t, srv)
	b.mustLogin()
	newHash, err := bcrypt.GenerateFromPassword([]byte("a new password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pw, []byte(newHash), 0o600); err != nil {
		t.Fatal(err)
	}
	if resp, _ := b.get("/ops/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("old session after the password changed: %s, want 303", resp.Status)
	}
	if resp, _ := b.login(testPassword); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("old password: %s, want 401", resp.Status)
	}
	if resp, _ := b.login("a new password"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("new password: %s, want 303", resp.Status)
	}
}

func TestLoginIsRateLimited(t *testing.T) {
	srv := newAuthServer(t)
	b := newBrowser(t, srv)
	for i := range 5 {
		if resp, _ := b.login("wrong"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %s, want 401", i+1, resp.Status)
		}
	}
	resp, body := b.login(testPassword)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "Too many attempts") {
		t.Fatalf("sixth attempt: %s, Retry-After %q", resp.Status, resp.Header.Get("Retry-After"))
	}
	// A forged X-Forwarded-For does not make a new client.
	if resp, _ := b.do(http.MethodPost, "/ops/login", url.Values{"csrf": {b.csrf("/ops/login")}, "password": {testPassword}},
		http.Header{"X-Forwarded-For": {"203.0.113.9"}}); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("with X-Forwarded-For: %s, want 429", resp.Status)
	}
	srv.clock.Add(12 * time.Second)
	b.mustLogin()
}

func TestSecurityHeaders(t *testing.T) {
	srv := newServer(t, ops.Deps{Store: storetest.Open(t, store.SQLite), PasswordFile: writePasswordFile(t, hashed()), RedisConnOpt: redisOpt(t)})
	b := newBrowser(t, srv)
	b.mustLogin()
	for _, p := range []string{"/ops/login", "/ops/", "/ops/decisions", "/ops/queues/", "/ops/queues/api/queues", "/ops/nothing"} {
		resp, _ := b.get(p)
		want := map[string]string{"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
		got := map[string]string{}
		for k := range want {
			got[k] = resp.Header.Get(k)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: mismatch (-want +got)\n%s", p, diff)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: CSP %q", p, csp)
		}
		if strings.HasPrefix(p, "/ops/queues") {
			if !strings.Contains(csp, "script-src 'self' 'sha256-") || strings.Contains(csp, "script-src 'self' 'unsafe-inline'") {
				t.Errorf("%s: asynqmon CSP %q", p, csp)
			}
		} else if !strings.HasPrefix(csp, "default-src 'none'; style-src 'sha256-") || strings.Contains(csp, "script-src") {
			t.Errorf("%s: page CSP %q", p, csp)
		}
	}
}

// cookie returns the named cookie b holds for srv.
func (s *server) cookie(t testing.TB, b *browser, name string) *http.Cookie {
	t.Helper()
	u, _ := url.Parse(s.URL + "/ops/")
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no cookie %s", name)
	return nil
}

// setCookie gives b a cookie for srv under /ops.
func (b *browser) setCookie(c *http.Cookie) {
	u, _ := url.Parse(b.srv.URL + "/ops/")
	c.Path = "/ops"
	b.c.Jar.SetCookies(u, []*http.Cookie{c})
}
