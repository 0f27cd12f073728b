package webhooks

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dedesales/exchange-connector/internal/testenv"

	"github.com/hibiken/asynq"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/dedesales/exchange-connector/internal/clientstate"
	"github.com/dedesales/exchange-connector/internal/metrics"
	"github.com/dedesales/exchange-connector/internal/queue"
)

// testNow is the clock of the handlers under test.
var testNow = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

const (
	testSecret  = "test-master-secret-0123456789abcdef"
	otherSecret = "other-master-secret-0123456789abcdef"
	placeholder = "REPLACE-WITH-THE-SUBSCRIPTION-CLIENT-STATE"
)

func testRedis(t testing.TB) *redis.Client {
	return testenv.RedisClient(t, testenv.RedisDBWebhooks)
}

// testKeys are the clientState keys of the handler under test.
func testKeys(t testing.TB) clientstate.Keys {
	t.Helper()
	k, err := clientstate.NewKeys([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// env is a handler under test with what the tests look at.
type env struct {
	e        *echo.Echo // the public routes (Register)
	internal *echo.Echo // the internal routes (RegisterInternal)
	h        *Handler
	reg      *prometheus.Registry
	m        *metrics.Metrics
	keys     clientstate.Keys
	rdb      *redis.Client // nil with a fake enqueuer
	inspect  *asynq.Inspector
	log      *logBuffer // what the handler logged (text format)
}

// logBuffer collects log output; handlers may log from several goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newEnv builds a handler on an asynq client of the test Redis.
func newEnv(t testing.TB, ready ...ReadyCheck) *env {
	t.Helper()
	rdb := testRedis(t)
	client := asynq.NewClientFromRedisClient(rdb)
	ev := newEnvWith(t, client, ready...)
	ev.rdb = rdb
	ev.inspect = asynq.NewInspectorFromRedisClient(rdb)
	return ev
}

// newEnvWith builds a handler on the given enqueuer.
func newEnvWith(t testing.TB, enq Enqueuer, ready ...ReadyCheck) *env {
	t.Helper()
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	keys := testKeys(t)
	logs := new(logBuffer)
	h, err := New(Deps{
		Enqueuer: enq,
		Keys:     keys,
		Metrics:  m,
		Gatherer: reg,
		Ready:    ready,
		Logger:   slog.New(slog.NewTextHandler(logs, nil)),
		Now:      func() time.Time { return testNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	e, internal := echo.New(), echo.New()
	h.Register(e)
	h.RegisterInternal(internal)
	return &env{e: e, internal: internal, h: h, reg: reg, m: m, keys: keys, log: logs}
}

// do sends a request to the handler's public routes and returns the
// recorded answer.
func (ev *env) do(method, target string, body []byte) *httptest.ResponseRecorder {
	return ev.doOn(ev.e, method, target, body)
}

// doInternal sends a request to the internal routes (metrics_listen).
func (ev *env) doInternal(method, target string) *httptest.ResponseRecorder {
	return ev.doOn(ev.internal, method, target, nil)
}

func (ev *env) doOn(e *echo.Echo, method, target string, body []byte) *httptest.ResponseRecorder {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req := httptest.NewRequest(method, target, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

// post POSTs body to path and fails the test unless the answer has the code.
func (ev *env) post(t testing.TB, path string, body []byte, want int) *httptest.ResponseRecorder {
	t.Helper()
	rec := ev.do(http.MethodPost, path, body)
	if rec.Code != want {
		t.Fatalf("POST %s: %d %q, want %d", path, rec.Code, rec.Body.String(), want)
	}
	return rec
}

// pending lists the pending tasks of the notification queue.
func (ev *env) pending(t testing.TB) []*asynq.TaskInfo {
	t.Helper()
	tasks, err := ev.inspect.ListPendingTasks(queue.QueueCritical, asynq.PageSize(1000))
	if errors.Is(err, asynq.ErrQueueNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return tasks
}

// fixture reads a testdata file with its clientState placeholder replaced.
func fixture(t testing.TB, name, clientState string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return []byte(strings.ReplaceAll(string(b), placeholder, clientState))
}

// fakeEnqueuer records tasks in memory, or fails with err.
type fakeEnqueuer struct {
	mu    sync.Mutex
	tasks []*asynq.Task
	err   error
}

func (f *fakeEnqueuer) EnqueueContext(_ context.Context, t *asynq.Task, _ ...asynq.Option) (*asynq.TaskInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	f.tasks = append(f.tasks, t)
	return &asynq.TaskInfo{Type: t.Type(), Payload: t.Payload()}, nil
}

func (f *fakeEnqueuer) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.tasks)
}

// httpRequest builds a request for ServeHTTP.
func httpRequest(t testing.TB, method, target, body string) *http.Request {
	t.Helper()
	return httptest.NewRequest(method, target, strings.NewReader(body))
}

// serve runs req through the handler.
func (ev *env) serve(req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	ev.e.ServeHTTP(rec, req)
	return rec
}

// closedPortAddr is a local address nobody listens on.
func closedPortAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// closedPortClient is an asynq client for a Redis address nobody listens
// on, without go-redis's dial retries so that it fails at once.
func closedPortClient(t testing.TB) *asynq.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: closedPortAddr(t), MaxRetries: -1, DialerRetries: 1, DialTimeout: time.Second})
	c := asynq.NewClientFromRedisClient(rdb)
	t.Cleanup(func() { rdb.Close() })
	return c
}
