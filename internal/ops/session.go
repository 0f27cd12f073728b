package ops

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Cookie names.
const (
	sessionCookie = "ops_session"
	// loginCookie carries the CSRF token of the login form (double submit).
	loginCookie = "ops_login"
	// xsrfCookie hands the session's CSRF token to asynqmon's axios, which
	// sends it back as the X-XSRF-TOKEN header (only when queues are writable).
	xsrfCookie = "XSRF-TOKEN"
	xsrfHeader = "X-XSRF-TOKEN"
)

// session is what the signed cookie carries.
type session struct {
	ID       string `json:"id"`
	Issued   int64  `json:"iat"`
	Expires  int64  `json:"exp"`
	CSRF     string `json:"csrf"`
	Password string `json:"pw"` // fingerprint of the password file it was issued for
}

// sessions issues and verifies session cookies and remembers logged-out
// sessions until they would have expired.
type sessions struct {
	key []byte
	ttl time.Duration
	now func() time.Time

	mu        sync.Mutex
	revoked   map[string]time.Time // session ID → its expiry
	lastPrune time.Time
}

func newSessions(key []byte, ttl time.Duration, now func() time.Time) *sessions {
	return &sessions{key: key, ttl: ttl, now: now, revoked: map[string]time.Time{}}
}

var errBadSession = errors.New("ops: invalid session")

// issue makes a new session for the password with fingerprint pw.
func (s *sessions) issue(pw string) session {
	now := s.now()
	return session{ID: randomToken(16), Issued: now.Unix(), Expires: now.Add(s.ttl).Unix(), CSRF: randomToken(32), Password: pw}
}

// encode signs a session into a cookie value: payload "." MAC, both base64url.
func (s *sessions) encode(v session) string {
	b, _ := json.Marshal(v) // a struct of strings and integers always marshals
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + base64.RawURLEncoding.EncodeToString(s.mac(payload))
}

// decode verifies a cookie value and returns its unexpired, unrevoked session.
func (s *sessions) decode(value string) (session, error) {
	payload, sig, ok := strings.Cut(value, ".")
	if !ok {
		return session{}, errBadSession
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac(payload)) {
		return session{}, errBadSession
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return session{}, errBadSession
	}
	var v session
	if err := json.Unmarshal(b, &v); err != nil || v.ID == "" || v.CSRF == "" {
		return session{}, errBadSession
	}
	if !s.now().Before(time.Unix(v.Expires, 0)) {
		return session{}, errBadSession
	}
	s.mu.Lock()
	_, gone := s.revoked[v.ID]
	s.mu.Unlock()
	if gone {
		return session{}, errBadSession
	}
	return v, nil
}

// revoke ends a session before its expiry (logout). The list is kept in
// this process only; another web process accepts the cookie until it
// expires, but the browser has dropped it by then.
func (s *sessions) revoke(v session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.revoked[v.ID] = time.Unix(v.Expires, 0)
	if now.Sub(s.lastPrune) > time.Minute {
		s.lastPrune = now
		for id, exp := range s.revoked {
			if now.After(exp) {
				delete(s.revoked, id)
			}
		}
	}
}

// mac is HMAC-SHA256 over a domain-separated message.
func (s *sessions) mac(payload string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("ops-session\x00"))
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// fingerprint names a password file's content without revealing it, so
// that sessions end when the password changes.
func (s *sessions) fingerprint(content []byte) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("ops-password\x00"))
	m.Write(content)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:12])
}

// cookie builds a cookie under /ops with the flags every ops cookie has.
func cookie(name, value, path string, maxAge int, secure, httpOnly bool) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge,
		Secure: secure, HttpOnly: httpOnly, SameSite: http.SameSiteStrictMode}
}

// tokensEqual compares two tokens in constant time; empty never matches.
func tokensEqual(a, b string) bool {
	return a != "" && b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// randomToken returns n random bytes, base64url-encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}
