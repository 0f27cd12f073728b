package graph

import (
	"bytes"
	"context"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// preferImmutableID asks Graph for IDs that survive folder moves.
const preferImmutableID = `IdType="ImmutableId"`

// transport adds what every Graph request needs: the bearer token, the
// immutable-ID preference and a slot of the mailbox's concurrency limit,
// held until the response body is closed (a streamed download is a request
// in progress for Exchange too).
//
// The token goes to Graph's own scheme and host (origin) only. Anything
// else that reaches the transport, a redirect kiota follows or an
// @odata.nextLink a page iterator follows to another host, is sent without
// it: a token for Graph lets its holder read every mailbox in the app's
// scope.
type transport struct {
	base    http.RoundTripper
	origin  string // originOf the Graph URL
	token   func(ctx context.Context) (string, error)
	limiter Limiter
	observe func(status int) // optional
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Del("Authorization")
	if t.origin == "" || originOf(r.URL) != t.origin {
		return t.base.RoundTrip(r)
	}
	token, err := t.token(req.Context())
	if err != nil {
		return nil, err
	}
	r.Header.Set("Authorization", "Bearer "+token)
	if p := r.Header.Get("Prefer"); p != "" {
		if !strings.Contains(p, "IdType") {
			r.Header.Set("Prefer", p+", "+preferImmutableID)
		}
	} else {
		r.Header.Set("Prefer", preferImmutableID)
	}
	release := func() {}
	if mb := mailboxOf(r.URL); mb != "" && t.limiter != nil {
		rel, err := t.limiter.Acquire(r.Context(), strings.ToLower(mb))
		if err != nil {
			return nil, err
		}
		release = rel
	}
	resp, err := t.base.RoundTrip(r)
	if t.observe != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.observe(status)
	}
	if err != nil {
		release()
		return nil, err
	}
	if resp.StatusCode >= 400 {
		// Error bodies are small: read them now and give the slot back at
		// once. kiota's retry handler drops a 429's response without closing
		// it, which would otherwise keep the slot until the process ends.
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		release()
		if rerr != nil {
			return nil, rerr
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		wholeSecondsRetryAfter(resp)
		return resp, nil
	}
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: release}
	return resp, nil
}

// originOf is a URL's scheme and host, lower-cased and without the
// scheme's default port, for comparing where requests go.
func originOf(u *url.URL) string {
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	if port != "" {
		host = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]" // IPv6 literal
	}
	return scheme + "://" + host
}

// maxErrorBody bounds how much of an error response is kept.
const maxErrorBody = 1 << 20

// releasingBody gives the concurrency slot back when the body is closed.
type releasingBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}

// mailboxOf returns the user segment of a /users/{id}/… path: the key of
// Exchange's per-mailbox limit.
func mailboxOf(u *url.URL) string {
	parts := strings.Split(strings.TrimPrefix(u.Path, "/"), "/")
	for i := 0; i+1 < len(parts); i++ {
		if strings.EqualFold(parts[i], "users") {
			seg, err := url.PathUnescape(parts[i+1])
			if err != nil {
				return parts[i+1]
			}
			return seg
		}
	}
	return ""
}

// maxRetryAfterSeconds bounds a parsed Retry-After (a day) so that an
// absurd value cannot overflow a time.Duration; jobs caps the reschedule
// much lower.
const maxRetryAfterSeconds = 24 * 60 * 60

// wholeSecondsRetryAfter rewrites a fractional Retry-After to whole seconds,
// rounded up. kiota's retry handler parses it as a float but then truncates
// (time.Duration(2.128) * time.Second is 2 s, kiota-http-go v1.5.4
// retry_handler.go getRetryDelay), so it would retry before Graph's time.
func wholeSecondsRetryAfter(resp *http.Response) {
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v == "" || !strings.ContainsAny(v, ".eE") {
		return
	}
	if d := parseRetryAfter(v); d > 0 {
		resp.Header.Set("Retry-After", strconv.FormatInt(int64(math.Ceil(d.Seconds())), 10))
	}
}

// retryAfter reads a response's Retry-After (seconds or an HTTP date);
// zero when absent.
func retryAfter(resp *http.Response) time.Duration {
	if resp == nil {
		return 0
	}
	return parseRetryAfter(resp.Header.Get("Retry-After"))
}

// parseRetryAfter reads seconds, fractional ones included (Graph sends
// e.g. "2.128", concepts/throttling.md), rounded up to the millisecond so
// that the wait is never shorter than asked, or an HTTP date.
func parseRetryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s <= 0 || math.IsNaN(s) {
			return 0
		}
		if s > maxRetryAfterSeconds {
			s = maxRetryAfterSeconds
		}
		return time.Duration(math.Ceil(s*1000)) * time.Millisecond
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}
