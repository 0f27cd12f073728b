package webhooks

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestHealth(t *testing.T) {
	ev := newEnvWith(t, &fakeEnqueuer{})
	rec := ev.do(http.MethodGet, PathHealth, nil)
	if rec.Code != http.StatusOK || rec.Body.String() != "ok\n" {
		t.Errorf("GET /healthz: %d %q", rec.Code, rec.Body.String())
	}
}

func TestReady(t *testing.T) {
	ok := func(context.Context) error { return nil }
	down := func(context.Context) error {
		return errors.New("dial tcp 10.0.0.5:5432: connection refused (user=secret)")
	}
	tests := []struct {
		name     string
		checks   []ReadyCheck
		wantCode int
		wantBody string
	}{
		{"all up", []ReadyCheck{{Name: "redis", Check: ok}, {Name: "database", Check: ok}}, http.StatusOK, "redis: ok\ndatabase: ok\n"},
		{"database down", []ReadyCheck{{Name: "redis", Check: ok}, {Name: "database", Check: down}}, http.StatusServiceUnavailable, "redis: ok\ndatabase: failed\n"},
		{"both down", []ReadyCheck{{Name: "redis", Check: down}, {Name: "database", Check: down}}, http.StatusServiceUnavailable, "redis: failed\ndatabase: failed\n"},
		{"hanging check times out", []ReadyCheck{{Name: "redis", Check: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}}, http.StatusServiceUnavailable, "redis: failed\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := newEnvWith(t, &fakeEnqueuer{}, tt.checks...)
			ev.h.d.ReadyTimeout = 50e6 // 50 ms
			rec := ev.doInternal(http.MethodGet, PathReady)
			if rec.Code != tt.wantCode || rec.Body.String() != tt.wantBody {
				t.Errorf("GET /readyz: %d %q, want %d %q", rec.Code, rec.Body.String(), tt.wantCode, tt.wantBody)
			}
		})
	}
}

func TestReadyWithRealRedis(t *testing.T) {
	ev := newEnv(t)
	ev2 := newEnvWith(t, &fakeEnqueuer{}, ReadyCheck{Name: "redis", Check: func(ctx context.Context) error { return ev.rdb.Ping(ctx).Err() }})
	if rec := ev2.doInternal(http.MethodGet, PathReady); rec.Code != http.StatusOK {
		t.Errorf("GET /readyz with Redis up: %d %q", rec.Code, rec.Body.String())
	}
}

func TestMetricsExposed(t *testing.T) {
	ev := newEnvWith(t, &fakeEnqueuer{})
	ev.post(t, PathNotifications, fixture(t, "notification-created.json", ev.keys.Generate(1)), http.StatusAccepted)
	ev.post(t, PathNotifications, fixture(t, "notification-created.json", "forged"), http.StatusAccepted)
	rec := ev.doInternal(http.MethodGet, PathMetrics)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{
		`connector_webhook_received_total{kind="notification"} 2`,
		`connector_webhook_dropped_total{kind="notification",reason="bad_client_state"} 1`,
		`connector_tasks_enqueued_total{type="message:process"} 1`,
		`connector_http_request_duration_seconds_count{code="202",method="POST",route="/graph/notifications"} 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// /metrics and the detailed /readyz are served only on the internal
// listener; the public one (Graph's, possibly on the internet) keeps
// /healthz and a /readyz that names nothing (security review, issue 14).
func TestMetricsAndReadinessAreNotPublic(t *testing.T) {
	ev := newEnvWith(t, &fakeEnqueuer{})
	if rec := ev.do(http.MethodGet, PathMetrics, nil); rec.Code != http.StatusNotFound {
		t.Errorf("public GET /metrics: %d, want 404", rec.Code)
	}
	if rec := ev.do(http.MethodGet, PathReady, nil); rec.Code != http.StatusOK || rec.Body.String() != "ready\n" {
		t.Errorf("public GET /readyz: %d %q, want 200 \"ready\"", rec.Code, rec.Body.String())
	}
	for _, path := range []string{PathMetrics, PathReady} {
		if rec := ev.doInternal(http.MethodGet, path); rec.Code != http.StatusOK {
			t.Errorf("internal GET %s: %d, want 200", path, rec.Code)
		}
	}
	for _, do := range []func() int{
		func() int { return ev.do(http.MethodGet, PathHealth, nil).Code },
		func() int { return ev.doInternal(http.MethodGet, PathHealth).Code },
	} {
		if code := do(); code != http.StatusOK {
			t.Errorf("GET /healthz: %d", code)
		}
	}
}
