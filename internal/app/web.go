package app

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/hibiken/asynq"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/dedesales/exchange-connector/internal/clientstate"
	"github.com/dedesales/exchange-connector/internal/metrics"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/webhooks"
)

// shutdownGrace bounds how long in-flight requests may finish on shutdown.
const shutdownGrace = 10 * time.Second

// newWeb returns the HTTP side: Graph's webhooks, health, readiness, metrics.
func newWeb(o Options, st *store.Store, rdb redis.UniversalClient, queue *asynq.Client, keys clientstate.Keys,
	m *metrics.Metrics, reg *prometheus.Registry) (func(context.Context) error, error) {
	h, err := webhooks.New(webhooks.Deps{
		Enqueuer: queue, Keys: keys, Metrics: m, Gatherer: reg, Logger: o.Log,
		Ready: []webhooks.ReadyCheck{
			{Name: "redis", Check: func(ctx context.Context) error { return rdb.Ping(ctx).Err() }},
			{Name: "database", Check: st.Ping},
		},
	})
	if err != nil {
		return nil, err
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	h.Register(e)
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	return func(ctx context.Context) error {
		ln := o.Listener
		if ln == nil {
			var err error
			if ln, err = net.Listen("tcp", o.Config.Listen); err != nil {
				return err
			}
		}
		o.Log.Info("listening", "addr", ln.Addr().String(), "public_url", o.Config.PublicURL)
		done := make(chan error, 1)
		go func() { done <- srv.Serve(ln) }()
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
		}
		sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			o.Log.Warn("HTTP shutdown", slog.Any("error", err))
		}
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}, nil
}
