package webhooks

import (
	"bufio"
	"bytes"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dedesales/exchange-connector/internal/metrics"
	"github.com/dedesales/exchange-connector/internal/queue"
)

// sampleValidation returns the request line's query and the expected answer
// of testdata/validation-request.txt.
func sampleValidation(t *testing.T) (rawQuery, want string) {
	t.Helper()
	b, err := os.ReadFile("testdata/validation-request.txt")
	if err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(bytes.NewReader(b))
	var first, last string
	for lines.Scan() {
		if first == "" {
			first = lines.Text()
		}
		if l := strings.TrimSpace(lines.Text()); l != "" {
			last = l
		}
	}
	target := strings.Fields(first)[1]
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	return u.RawQuery, last
}

func TestHandshake(t *testing.T) {
	rawQuery, sampleWant := sampleValidation(t)
	tests := []struct {
		name     string
		rawQuery string
		wantCode int
		wantBody string
	}{
		{"graph sample", rawQuery, http.StatusOK, sampleWant},
		{"html is echoed as text", "validationToken=" + url.QueryEscape("<script>alert(1)</script>"), http.StatusOK, "<script>alert(1)</script>"},
		{"unicode", "validationToken=" + url.QueryEscape("Grüße – ok"), http.StatusOK, "Grüße – ok"},
		{"at the cap", "validationToken=" + strings.Repeat("a", DefaultMaxTokenBytes), http.StatusOK, strings.Repeat("a", DefaultMaxTokenBytes)},
		{"over the cap", "validationToken=" + strings.Repeat("a", DefaultMaxTokenBytes+1), http.StatusBadRequest, ""},
		{"newline", "validationToken=a%0Ab", http.StatusBadRequest, ""},
		{"carriage return", "validationToken=a%0D%0ASet-Cookie:+x", http.StatusBadRequest, ""},
		{"nul", "validationToken=a%00b", http.StatusBadRequest, ""},
		{"del", "validationToken=a%7Fb", http.StatusBadRequest, ""},
		{"c1 control", "validationToken=a%C2%85b", http.StatusBadRequest, ""},
		{"invalid utf-8", "validationToken=a%FFb", http.StatusBadRequest, ""},
		{"empty", "validationToken=", http.StatusBadRequest, ""},
		{"twice", "validationToken=a&validationToken=b", http.StatusBadRequest, ""},
	}
	for _, path := range []string{PathNotifications, PathLifecycle} {
		for _, tt := range tests {
			t.Run(path+"/"+tt.name, func(t *testing.T) {
				enq := &fakeEnqueuer{}
				ev := newEnvWith(t, enq)
				req := httpRequest(t, http.MethodPost, path+"?"+tt.rawQuery, "")
				req.Header.Set("Content-Type", "text/plain; charset=utf-8")
				rec := ev.serve(req)
				if rec.Code != tt.wantCode {
					t.Fatalf("code %d (%q), want %d", rec.Code, rec.Body.String(), tt.wantCode)
				}
				if enq.count() != 0 {
					t.Errorf("a handshake enqueued %d tasks", enq.count())
				}
				if tt.wantCode != http.StatusOK {
					return
				}
				if got := rec.Body.String(); got != tt.wantBody {
					t.Errorf("body %q, want %q", got, tt.wantBody)
				}
				if got := rec.Header().Get("Content-Type"); got != "text/plain; charset=utf-8" {
					t.Errorf("Content-Type %q", got)
				}
				if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
					t.Errorf("X-Content-Type-Options %q", got)
				}
				if got := testutil.ToFloat64(ev.m.WebhookValidations.WithLabelValues(path)); got != 1 {
					t.Errorf("validations counted %v, want 1", got)
				}
			})
		}
	}
}

func TestMalformedBody(t *testing.T) {
	for _, body := range []string{"", "{", "[]", "null", `{"value":5}`, `{}`, `{"value":null}`, `{"value":[]}x`, "\xff"} {
		for _, path := range []string{PathNotifications, PathLifecycle} {
			ev := newEnvWith(t, &fakeEnqueuer{})
			if rec := ev.do(http.MethodPost, path, []byte(body)); rec.Code != http.StatusBadRequest {
				t.Errorf("POST %s %q: %d, want 400", path, body, rec.Code)
			}
		}
	}
}

func TestEmptyBatchAccepted(t *testing.T) {
	enq := &fakeEnqueuer{}
	ev := newEnvWith(t, enq)
	ev.post(t, PathNotifications, []byte(`{"value":[]}`), http.StatusAccepted)
	if enq.count() != 0 {
		t.Errorf("%d tasks from an empty batch", enq.count())
	}
}

func TestOversizeBody(t *testing.T) {
	ev := newEnvWith(t, &fakeEnqueuer{})
	big := []byte(`{"value":[{"clientState":"` + strings.Repeat("a", DefaultMaxBodyBytes) + `"}]}`)
	ev.post(t, PathNotifications, big, http.StatusRequestEntityTooLarge)

	// Without a Content-Length (chunked), the limit applies while reading.
	req := httpRequest(t, http.MethodPost, PathLifecycle, string(big))
	req.ContentLength = -1
	if rec := ev.serve(req); rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked oversize body: %d, want 413", rec.Code)
	}
	// Just under the cap is read.
	pad := DefaultMaxBodyBytes - len(`{"value":[],"x":""}`)
	ev.post(t, PathNotifications, []byte(`{"value":[],"x":"`+strings.Repeat("a", pad)+`"}`), http.StatusAccepted)
}

func TestRedisUnreachable(t *testing.T) {
	ev := newEnvWith(t, closedPortClient(t))
	body := fixture(t, "notification-created.json", ev.keys.Generate(42))
	ev.post(t, PathNotifications, body, http.StatusServiceUnavailable)
	ev.post(t, PathLifecycle, fixture(t, "lifecycle-missed.json", ev.keys.Generate(42)), http.StatusServiceUnavailable)
	for _, typ := range []string{queue.TypeProcessMessage, queue.TypeLifecycle} {
		if got := testutil.ToFloat64(ev.m.EnqueueErrors.WithLabelValues(typ)); got != 1 {
			t.Errorf("enqueue errors{%s} = %v, want 1", typ, got)
		}
	}
	// A batch without valid items needs no queue.
	ev.post(t, PathNotifications, fixture(t, "notification-created.json", "forged"), http.StatusAccepted)
	if got := testutil.ToFloat64(ev.m.WebhookDropped.WithLabelValues(metrics.KindNotification, metrics.ReasonBadClientState)); got != 1 {
		t.Errorf("dropped %v, want 1", got)
	}
}

func TestRedisUnreachableDefaultClient(t *testing.T) {
	// asynq's own client, with go-redis's default dial retries.
	c := asynq.NewClient(asynq.RedisClientOpt{Addr: closedPortAddr(t)})
	t.Cleanup(func() { c.Close() })
	ev := newEnvWith(t, c)
	ev.post(t, PathNotifications, fixture(t, "notification-created.json", ev.keys.Generate(42)), http.StatusServiceUnavailable)
}

func TestParseResource(t *testing.T) {
	tests := []struct {
		resource  string
		user, msg string
		ok        bool
	}{
		{"Users/u1/Messages/m1", "u1", "m1", true},
		{"users/u1/messages/m1", "u1", "m1", true},
		{"/USERS/u1/MESSAGES/m1=", "u1", "m1=", true},
		{"Users('u1')/Messages('m1')", "u1", "m1", true},
		{"users/4c1a7b1e@84bd8158/messages/AA-_x=", "4c1a7b1e@84bd8158", "AA-_x=", true},
		{"Users/u1/Messages/", "", "", false},
		{"Users//Messages/m1", "", "", false},
		{"Users/u1/Messages/m1/attachments/a1", "", "", false},
		{"Users/u1/Messages/m1/", "", "", false},
		{"Users/u1/Events/e1", "", "", false},
		{"Groups/g1/Messages/m1", "", "", false},
		{"Users/u1/Messages/m%2F1", "", "", false},
		{"Users/u1/Messages/m1?x=1", "", "", false},
		{"Users/u1/Messages/../m1", "", "", false}, // "/" splits it: too many segments
		{"Users/u1/Messages/..", "", "", false},
		{"Users/./Messages/m1", "", "", false},
		{"Users('u1')/Messages('m1", "", "", false},
		{"Users('u1')/Messages('m1')x", "", "", false},
		{"https://evil.example/Users/u1/Messages/m1", "", "", false},
		{"", "", "", false},
		{"Users", "", "", false},
	}
	for _, tt := range tests {
		user, msg, ok := parseResource(tt.resource)
		if user != tt.user || msg != tt.msg || ok != tt.ok {
			t.Errorf("parseResource(%q) = %q, %q, %v; want %q, %q, %v", tt.resource, user, msg, ok, tt.user, tt.msg, tt.ok)
		}
	}
}

// TestDecodeBatchOnePass guards the fast path: Graph's samples decode in one
// pass into typed items, case-insensitively; only an odd item falls back to
// decoding the items one by one. (A malformed struct tag surfaces as a
// semantic error at run time and would silently send every body the slow way.)
func TestDecodeBatchOnePass(t *testing.T) {
	for _, name := range []string{"notification-created.json", "lifecycle-missed.json", "lifecycle-reauthorization-required.json", "lifecycle-subscription-removed.json"} {
		b, err := decodeBatch(fixture(t, name, "state"))
		if err != nil || b.raw != nil || len(b.items) != 1 {
			t.Errorf("%s: decoded %+v, %v; want one typed item", name, b, err)
		}
	}
	b, err := decodeBatch([]byte(`{"Value":[{"SubscriptionId":"s","ChangeType":"Missed","ResourceData":{"ID":"m","@ODATA.ETAG":"e"}}]}`))
	if err != nil || b.raw != nil || len(b.items) != 1 {
		t.Fatalf("decoded %+v, %v; want one typed item", b, err)
	}
	if n := b.items[0]; n.SubscriptionID != "s" || n.ChangeType != "Missed" || n.ResourceData == nil || n.ResourceData.ID != "m" || n.ResourceData.ETag != "e" {
		t.Errorf("keys not matched without regard to case: %+v %+v", n, n.ResourceData)
	}
	b, err = decodeBatch([]byte(`{"value":[{"resource":5},{"resource":"r"}]}`))
	if err != nil || b.raw == nil || b.len() != 2 {
		t.Errorf("odd item: decoded %+v, %v; want two raw items", b, err)
	}
}
