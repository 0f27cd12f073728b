package crmhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Delivery limits.
const (
	// DefaultTimeout bounds one delivery attempt, connection to last byte.
	DefaultTimeout = 10 * time.Second
	// MaxResponseBody is how much of a response body is read (the rest is
	// discarded with the connection).
	MaxResponseBody = 64 << 10
)

// UserAgent is sent with every delivery.
const UserAgent = "exchange-connector-webhooks/1"

// sender POSTs signed events. It holds two clients: one that refuses
// non-public addresses at dial time and one for allow_private endpoints.
type sender struct {
	guarded, open *http.Client
	timeout       time.Duration
}

func newSender(timeout time.Duration, roots *x509.CertPool) *sender {
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	return &sender{guarded: newClient(timeout, true, roots), open: newClient(timeout, false, roots), timeout: timeout}
}

func newClient(timeout time.Duration, guard bool, roots *x509.CertPool) *http.Client {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if guard {
		d.ControlContext = dialControl
	}
	t := &http.Transport{
		// No proxy from the environment: the guard must see the
		// endpoint's address, not a proxy's.
		Proxy:                 nil,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   timeout,
		ExpectContinueTimeout: time.Second,
		TLSClientConfig:       &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
	}
	return &http.Client{
		Transport: t,
		Timeout:   timeout,
		// A redirect is not followed: the 3xx is the answer, a failure.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Result is the outcome of one delivery attempt.
type Result struct {
	Status   int           // HTTP status; 0 when there was no response
	Duration time.Duration // until the response was read
}

// OK reports whether the CRM accepted the event (2xx).
func (r Result) OK() bool { return r.Status >= 200 && r.Status < 300 }

// send POSTs e to rawURL signed with key; it returns an error unless the
// answer is 2xx. A target the guard refuses wraps ErrForbiddenTarget.
func (s *sender) send(ctx context.Context, rawURL string, allowPrivate bool, key []byte, e Event, now time.Time) (Result, error) {
	start := time.Now()
	u, err := url.Parse(rawURL)
	if err != nil {
		return Result{}, fmt.Errorf("crmhook: endpoint URL %q: %w", rawURL, err)
	}
	client := s.open
	if !allowPrivate {
		if u.Scheme != "https" {
			return Result{}, fmt.Errorf("%w: %s uses plain http:// (allowed only with --allow-private)", ErrForbiddenTarget, rawURL)
		}
		client = s.guarded
	}
	body, err := e.body()
	if err != nil {
		return Result{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return Result{}, fmt.Errorf("crmhook: request to %s: %w", rawURL, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set("webhook-id", e.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", Sign(key, e.ID, now, body))
	resp, err := client.Do(req)
	if err != nil {
		return Result{Duration: time.Since(start)}, fmt.Errorf("crmhook: POST %s: %w", rawURL, unwrapURLError(err))
	}
	defer resp.Body.Close()
	// At most MaxResponseBody is read; a read error after the status line
	// changes nothing (a 2xx whose body breaks off is still accepted).
	head, _ := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBody))
	res := Result{Status: resp.StatusCode, Duration: time.Since(start)}
	if !res.OK() {
		msg := fmt.Sprintf("crmhook: POST %s: HTTP %d", rawURL, resp.StatusCode)
		if loc := resp.Header.Get("Location"); loc != "" && resp.StatusCode >= 300 && resp.StatusCode < 400 {
			msg += " redirect to " + loc + " (redirects are not followed)"
		}
		if snip := snippet(head); snip != "" {
			msg += ": " + snip
		}
		return res, errors.New(msg)
	}
	return res, nil
}

// unwrapURLError drops *url.Error's repetition of method and URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// snippet is the start of a response body for the endpoint's last error.
func snippet(b []byte) string {
	const max = 200
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) <= max {
		return s
	}
	s = s[:max]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}
