package graph

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dedesales/exchange-connector/internal/grapherr"
)

type recordingRT struct{ got []*http.Request }

func (r *recordingRT) RoundTrip(req *http.Request) (*http.Response, error) {
	r.got = append(r.got, req)
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("{}")), Header: http.Header{}}, nil
}

type countingLimiter struct{ acquired, released map[string]int }

func (l *countingLimiter) Acquire(_ context.Context, key string) (func(), error) {
	l.acquired[key]++
	return func() { l.released[key]++ }, nil
}

func TestTransportAddsTokenPreferAndHoldsSlotUntilClose(t *testing.T) {
	rec := &recordingRT{}
	lim := &countingLimiter{acquired: map[string]int{}, released: map[string]int{}}
	tr := &transport{base: rec, origin: "https://graph.example", token: func(context.Context) (string, error) { return "tok", nil }, limiter: lim}

	req, _ := http.NewRequest("GET", "https://graph.example/v1.0/users/Anna.Berger%40dedenet.de/messages/1", nil)
	req.Header.Set("Prefer", "odata.maxpagesize=50")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	sent := rec.got[0]
	if sent.Header.Get("Authorization") != "Bearer tok" || sent.Header.Get("Prefer") != `odata.maxpagesize=50, IdType="ImmutableId"` {
		t.Errorf("headers: %v", sent.Header)
	}
	if req.Header.Get("Authorization") != "" {
		t.Error("the caller's request was modified")
	}
	if lim.acquired["anna.berger@dedenet.de"] != 1 || lim.released["anna.berger@dedenet.de"] != 0 {
		t.Errorf("slot before close: %v %v", lim.acquired, lim.released)
	}
	resp.Body.Close()
	resp.Body.Close()
	if lim.released["anna.berger@dedenet.de"] != 1 {
		t.Errorf("slot after close: %v", lim.released)
	}

	req, _ = http.NewRequest("POST", "https://graph.example/v1.0/subscriptions", nil)
	if _, err := tr.RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	if rec.got[1].Header.Get("Prefer") != `IdType="ImmutableId"` || len(lim.acquired) != 1 {
		t.Errorf("subscriptions request: prefer %q, limiter %v", rec.got[1].Header.Get("Prefer"), lim.acquired)
	}

	failing := &transport{base: rec, origin: "https://graph.example", token: func(context.Context) (string, error) { return "", errors.New("no token") }}
	if _, err := failing.RoundTrip(req); err == nil || len(rec.got) != 2 {
		t.Errorf("request sent without a token: %v", err)
	}
}

// An error response gives its slot back at once, even if nobody closes it
// (kiota's retry handler drops 429 responses unclosed).
func TestErrorResponseReleasesSlotWithoutClose(t *testing.T) {
	lim := &countingLimiter{acquired: map[string]int{}, released: map[string]int{}}
	base := roundTripFunc(func(*http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"1"}},
			Body: io.NopCloser(strings.NewReader(`{"error":{"code":"ApplicationThrottled"}}`))}, nil
	})
	tr := &transport{base: base, origin: "https://graph.example", token: func(context.Context) (string, error) { return "tok", nil }, limiter: lim}
	req, _ := http.NewRequest("GET", "https://graph.example/v1.0/users/a@b.de/messages/1", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if lim.released["a@b.de"] != 1 {
		t.Errorf("slot not released before the body is closed: %v", lim.released)
	}
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), "ApplicationThrottled") {
		t.Errorf("error body lost: %q", body)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestMailboxOf(t *testing.T) {
	for path, want := range map[string]string{
		"/v1.0/users/anna%40x.de/mailFolders/inbox": "anna@x.de",
		"/v1.0/Users/4c1a7b1e/messages/1":           "4c1a7b1e",
		"/v1.0/subscriptions/1":                     "",
		"/v1.0/users":                               "",
	} {
		if got := mailboxOf(&url.URL{Path: path}); got != want {
			t.Errorf("mailboxOf(%s) = %q, want %q", path, got, want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	if d := parseRetryAfter("7"); d != 7*time.Second {
		t.Errorf("seconds: %v", d)
	}
	if d := parseRetryAfter(time.Now().Add(time.Minute).UTC().Format(http.TimeFormat)); d < 50*time.Second || d > time.Minute {
		t.Errorf("date: %v", d)
	}
	// Graph's sample (concepts/throttling.md): fractional seconds.
	if d := parseRetryAfter("2.128"); d != 2128*time.Millisecond {
		t.Errorf("fractional: %v", d)
	}
	if d := parseRetryAfter("0.0001"); d != time.Millisecond {
		t.Errorf("rounded up: %v", d)
	}
	if d := parseRetryAfter("1e12"); d != 24*time.Hour {
		t.Errorf("huge: %v", d)
	}
	if d := parseRetryAfter("-3"); d != 0 {
		t.Errorf("negative: %v", d)
	}
	if d := parseRetryAfter("soon"); d != 0 {
		t.Errorf("garbage: %v", d)
	}
}

func TestTransportSendsNoTokenToOtherHosts(t *testing.T) {
	rec := &recordingRT{}
	asked := 0
	tr := &transport{base: rec, origin: originOf(&url.URL{Scheme: "https", Host: "graph.example"}),
		token: func(context.Context) (string, error) { asked++; return "tok", nil }}
	for _, u := range []string{
		"http://graph.example/v1.0/users",         // downgrade
		"https://graph.example.evil/v1.0/users",   // look-alike
		"https://evil.example/steal",              // redirect target
		"https://graph.example:8443/v1.0/users",   // another port
		"https://user@evil.example/graph.example", // userinfo trick
	} {
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("Authorization", "Bearer copied-by-a-middleware")
		if _, err := tr.RoundTrip(req); err != nil {
			t.Fatal(err)
		}
		if got := rec.got[len(rec.got)-1].Header.Get("Authorization"); got != "" {
			t.Errorf("%s got Authorization %q", u, got)
		}
	}
	if asked != 0 {
		t.Errorf("a token was fetched %d times for other hosts", asked)
	}
	for _, u := range []string{"https://graph.example/v1.0/users", "https://GRAPH.example:443/v1.0/users"} {
		req, _ := http.NewRequest("GET", u, nil)
		if _, err := tr.RoundTrip(req); err != nil {
			t.Fatal(err)
		}
		if got := rec.got[len(rec.got)-1].Header.Get("Authorization"); got != "Bearer tok" {
			t.Errorf("%s (Graph) got Authorization %q", u, got)
		}
	}
	empty := &transport{base: rec, token: func(context.Context) (string, error) { return "tok", nil }}
	req, _ := http.NewRequest("GET", "https://graph.example/v1.0/users", nil)
	if _, err := empty.RoundTrip(req); err != nil || rec.got[len(rec.got)-1].Header.Get("Authorization") != "" {
		t.Errorf("a transport without an origin sent a token: %v", err)
	}
}

// Microsoft's 429 sample (concepts/throttling.md) with its fractional
// Retry-After, and its access-policy 403, through the raw-request path.
func TestResponseErrorFromGraphSamples(t *testing.T) {
	read := func(name string) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join("..", "grapherr", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	resp := &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"2.128"}},
		Body: io.NopCloser(bytes.NewReader(read("error-429-toomanyrequests.json")))}
	var ge *grapherr.Error
	if err := responseError("get attachment", resp); !errors.As(err, &ge) || !errors.Is(err, grapherr.ErrThrottled) ||
		ge.RetryAfter != 2128*time.Millisecond || ge.Code != "TooManyRequests" {
		t.Errorf("429 sample: %+v", err)
	}
	resp = &http.Response{StatusCode: 403, Header: http.Header{},
		Body: io.NopCloser(bytes.NewReader(read("error-403-erroraccessdenied-application-access-policy.json")))}
	if err := responseError("get attachment", resp); !errors.As(err, &ge) || !errors.Is(err, grapherr.ErrAccessDenied) ||
		ge.Message != "Access to OData is disabled." {
		t.Errorf("403 sample: %+v", err)
	}
	// The 1,000-subscriptions quota is a 403 too, but no access policy.
	resp = &http.Response{StatusCode: 403, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(
		`{"error":{"code":"ExtensionError","message":"Operation: Create; Exception: [Status Code: Forbidden; Reason: Maximum number of subscriptions has been reached]"}}`))}
	if err := responseError("create subscription", resp); !errors.Is(err, grapherr.ErrForbidden) || errors.Is(err, grapherr.ErrAccessDenied) {
		t.Errorf("quota: %v", err)
	}
}
