package ops

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
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

// revokedPrefix prefixes the Redis keys of logged-out sessions.
const revokedPrefix = "connector:ops:revoked:"

// sessions issues and verifies session cookies and remembers logged-out
// sessions in Redis until they would have expired, so that a logout holds
// in every web process and across restarts.
type sessions struct {
	key []byte
	ttl time.Duration
	now func() time.Time
	rdb redis.UniversalClient
}

func newSessions(key []byte, ttl time.Duration, now func() time.Time, rdb redis.UniversalClient) *sessions {
	return &sessions{key: key, ttl: ttl, now: now, rdb: rdb}
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

// decode verifies a cookie value and returns its unexpired session; see
// revoked for logouts.
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
	return v, nil
}

// revoke ends a session before its expiry (logout): its ID is kept in
// Redis until the session would have expired.
func (s *sessions) revoke(ctx context.Context, v session) error {
	left := time.Unix(v.Expires, 0).Sub(s.now())
	if v.ID == "" || left <= 0 {
		return nil
	}
	if err := s.rdb.Set(ctx, revokedPrefix+v.ID, 1, left).Err(); err != nil {
		return fmt.Errorf("ops: recording the logout: %w", err)
	}
	return nil
}

// revoked reports whether the session was logged out. An error means it
// cannot be told; the caller refuses the session then (fails closed).
func (s *sessions) revoked(ctx context.Context, v session) (bool, error) {
	n, err := s.rdb.Exists(ctx, revokedPrefix+v.ID).Result()
	if err != nil {
		return false, fmt.Errorf("ops: checking the session against logouts: %w", err)
	}
	return n > 0, nil
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
