package jobs

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dedesales/exchange-connector/internal/grapherr"
	"github.com/dedesales/exchange-connector/internal/graphsim"
	"github.com/dedesales/exchange-connector/internal/queue"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// notifyEndpoint stands for the connector's public URL in Graph's
// validation handshake: it echoes the token, or does not answer while hang
// is set (until the request is given up).
type notifyEndpoint struct {
	srv  *httptest.Server
	hang atomic.Bool
}

func newNotifyEndpoint(t *testing.T) *notifyEndpoint {
	t.Helper()
	e := &notifyEndpoint{}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := r.URL.Query().Get("validationToken")
		if e.hang.Load() {
			<-r.Context().Done()
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, tok)
	}))
	t.Cleanup(e.srv.Close)
	return e
}

// The subscription upkeep against a simulator as strict as Graph on
// creation: it never asks for more than Graph's ceiling of 10,070 minutes,
// even when its lifetime is set to the documented 7 days, and a
// notification URL that does not answer Graph's validation in time gives a
// classified error, a log line that says what to check, a metric and the
// failed subscription recorded for the health check.
func TestSubscriptionCreationWithinGraphLimits(t *testing.T) {
	ep := newNotifyEndpoint(t)
	sim, err := graphsim.Start("", graphsim.Options{TenantID: simTenant, ClientID: simClient, ClientSecret: simSecret,
		AllowHTTPNotify: true, ValidationTimeout: 300 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	if _, err := sim.AddUser(graphsim.UserInput{DisplayName: "Anna", Mail: annaAddr, UserPrincipalName: annaAddr}); err != nil {
		t.Fatal(err)
	}
	s := storetest.Open(t, store.SQLite)
	ctx := context.Background()
	h := newTestHandlers(t, s, Deps{Graph: newSimClient(t, sim, 0), Enqueuer: &taskQueue{}, Keys: testKeys(t),
		PublicURL: ep.srv.URL, Now: sim.Now, SubscriptionLifetime: 7 * 24 * time.Hour})
	if err := s.DeleteSubscriptionRow(ctx, 1); err != nil { // the fixture's s1 is not at Graph
		t.Fatal(err)
	}
	ensure := func() error {
		return h.EnsureSubscriptions.ProcessTask(ctx, asynq.NewTask(queue.TypeEnsureSubscriptions, nil))
	}

	if err := ensure(); err != nil {
		t.Fatalf("subscription with a 7-day lifetime: %v", err)
	}
	row, err := s.SubscriptionOf(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	// The capped lifetime, less the employee's share of the expiry spread.
	want := MaxSubscriptionLifetime - expirySpread(1, MaxSubscriptionLifetime)
	if left := row.ExpiresAt.Sub(sim.Now()); row.Status != store.SubscriptionActive || left > MaxSubscriptionLifetime || (left-want).Abs() > time.Minute {
		t.Errorf("subscription %+v expires in %v, want %v (at most %v)", row, left, want, MaxSubscriptionLifetime)
	}

	// The endpoint stops answering: Graph gives up after its timeout.
	ep.hang.Store(true)
	if err := s.DeleteSubscriptionRow(ctx, 1); err != nil {
		t.Fatal(err)
	}
	err = ensure()
	if !grapherr.ValidationTimedOut(err) {
		t.Fatalf("upkeep with an endpoint that does not answer: %v, want Graph's validation timeout", err)
	}
	row, err = s.SubscriptionOf(ctx, 1)
	if err != nil || row.Status != store.SubscriptionFailed || !strings.Contains(row.LastError, "timed out") {
		t.Errorf("failed subscription recorded as %+v, %v", row, err)
	}
	if logs := h.log.String(); !strings.Contains(logs, "notification URL did not answer Graph's validation request in time") ||
		!strings.Contains(logs, ep.srv.URL+"/graph/notifications") {
		t.Errorf("no log line naming the URL to check:\n%s", logs)
	}
	if n := testutil.ToFloat64(h.Metrics.SubscriptionFailures.WithLabelValues("validation_timeout")); n != 1 {
		t.Errorf("subscription failures by validation timeout = %v, want 1", n)
	}

	// Answering again: the next upkeep makes the subscription.
	ep.hang.Store(false)
	if err := ensure(); err != nil {
		t.Fatalf("after the endpoint recovered: %v", err)
	}
	if row, err := s.SubscriptionOf(ctx, 1); err != nil || row.Status != store.SubscriptionActive {
		t.Errorf("after recovery: %+v, %v", row, err)
	}
}
