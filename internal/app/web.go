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
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/dedesales/exchange-connector/internal/api"
	"github.com/dedesales/exchange-connector/internal/clientstate"
	"github.com/dedesales/exchange-connector/internal/metrics"
	"github.com/dedesales/exchange-connector/internal/ops"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/webhooks"
)

// shutdownGrace bounds how long in-flight requests may finish on shutdown.
const shutdownGrace = 10 * time.Second

// webDeps are what the HTTP side needs.
type webDeps struct {
	st         *store.Store
	rdb        redis.UniversalClient
	queue      *asynq.Client
	redisOpt   asynq.RedisConnOpt
	keys       clientstate.Keys
	sessionKey []byte
	m          *metrics.Metrics
	reg        *prometheus.Registry
}

// newWeb returns the HTTP side: Graph's webhooks, health, readiness,
// metrics, the operators' /ops pages and the CRM's API (/api/v1).
func newWeb(o Options, d webDeps) (func(context.Context) error, error) {
	st, rdb, queue, keys, m, reg := d.st, d.rdb, d.queue, d.keys, d.m, d.reg
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
	opsHandler, err := ops.New(ops.Deps{Store: st, PasswordFile: o.Config.OpsPasswordFile, SessionKey: d.sessionKey,
		RedisConnOpt: d.redisOpt, QueuesWritable: o.Config.OpsQueuesWritable, Alerts: openAlerts{st}, Logger: o.Log})
	if err != nil {
		return nil, err
	}
	opsHandler.Register(e)
	apiHandler, err := api.New(api.Deps{Store: st, Redis: rdb, RatePerSecond: o.Config.APIRatePerSecond, Metrics: m, Logger: o.Log})
	if err != nil {
		return nil, err
	}
	apiHandler.Register(e)
	return serveHTTP(o, e, opsHandler.Close), nil
}

// newWorkerHTTP serves only /healthz and /metrics, for a worker-only process.
func newWorkerHTTP(o Options, reg *prometheus.Registry) func(context.Context) error {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET(webhooks.PathHealth, func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	e.GET(webhooks.PathMetrics, echo.WrapHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	return serveHTTP(o, e, func() error { return nil })
}

// serveHTTP runs an HTTP server on the configured listener until ctx ends.
func serveHTTP(o Options, e *echo.Echo, closeFn func() error) func(context.Context) error {
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	return func(ctx context.Context) error {
		ln := o.Listener
		if ln == nil {
			var err error
			if ln, err = net.Listen("tcp", o.Config.Listen); err != nil {
				return err
			}
		}
		defer closeFn()
		o.Log.Info("listening", "addr", ln.Addr().String(), "public_url", o.Config.PublicURL, "tls", o.Config.TLSCertFile != "")
		done := make(chan error, 1)
		go func() {
			if o.Config.TLSCertFile != "" {
				done <- srv.ServeTLS(ln, o.Config.TLSCertFile, o.Config.TLSKeyFile)
				return
			}
			done <- srv.Serve(ln)
		}()
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
	}
}

// openAlerts shows the open alerts on the status page.
type openAlerts struct{ st *store.Store }

func (a openAlerts) OpenAlerts(ctx context.Context) ([]ops.OpenAlert, error) {
	rows, err := a.st.OpenAlerts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ops.OpenAlert, len(rows))
	for i, r := range rows {
		msg := r.Message
		if r.SentAt == nil && r.LastError != "" {
			msg += " (not mailed: " + r.LastError + ")"
		}
		out[i] = ops.OpenAlert{Kind: r.Kind, Subject: r.SubjectKey, Message: msg, Since: r.OpenedAt}
	}
	return out, nil
}
