package app

import (
	"context"
	"errors"
	"fmt"
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
	"github.com/dedesales/exchange-connector/jobs"
	"github.com/dedesales/exchange-connector/webhooks"
)

// shutdownGrace bounds how long in-flight requests may finish on shutdown.
const shutdownGrace = 10 * time.Second

// webDeps are what the HTTP side needs.
type webDeps struct {
	st         *store.Store
	rdb        redis.UniversalClient
	tasks      *asynq.Client
	redisOpt   asynq.RedisConnOpt
	keys       clientstate.Keys
	sessionKey []byte
	m          *metrics.Metrics
	reg        *prometheus.Registry
	docs       api.DocumentReader
}

// newWeb returns the HTTP side: Graph's webhooks, /healthz, the operators'
// /ops pages and the CRM's API (/api/v1) on the public listener, and
// /metrics, /readyz and /healthz on the internal one (metrics_listen),
// which never faces the internet.
func newWeb(o Options, d webDeps) ([]func(context.Context) error, error) {
	st, rdb, tasks, keys, m, reg := d.st, d.rdb, d.tasks, d.keys, d.m, d.reg
	ready := []webhooks.ReadyCheck{
		{Name: "redis", Check: func(ctx context.Context) error { return rdb.Ping(ctx).Err() }},
		{Name: "database", Check: st.Ping},
	}
	metrics.RegisterReadiness(reg, o.Log, ready)
	h, err := webhooks.New(webhooks.Deps{
		Enqueuer: tasks, Keys: keys, Metrics: m, Gatherer: reg, Logger: o.Log, Ready: ready,
	})
	if err != nil {
		return nil, err
	}
	proxies, err := o.Config.TrustedProxyPrefixes()
	if err != nil {
		return nil, fmt.Errorf("trusted_proxies: %w", err)
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.IPExtractor = ops.IPExtractor(proxies)
	h.Register(e)
	opsHandler, err := ops.New(ops.Deps{Store: st, PasswordFile: o.Config.OpsPasswordFile, SessionKey: d.sessionKey,
		Redis: rdb, HTTPS: o.Config.HTTPS(), RedisConnOpt: d.redisOpt, QueuesWritable: o.Config.OpsQueuesWritable,
		Alerts: openAlerts{st}, Logger: o.Log})
	if err != nil {
		return nil, err
	}
	opsHandler.Register(e)
	apiHandler, err := api.New(api.Deps{Store: st, Documents: d.docs, Redis: rdb, Rematcher: &jobs.Rematcher{Enqueuer: tasks},
		RatePerSecond: o.Config.APIRatePerSecond, Metrics: m, Logger: o.Log})
	if err != nil {
		return nil, err
	}
	apiHandler.Register(e)
	parts := []func(context.Context) error{serveHTTP(o, e, httpListener{name: "public", ln: o.Listener, addr: o.Config.Listen,
		tls: o.Config.TLSCertFile != ""}, opsHandler.Close)}
	if internal := internalListener(o); internal != nil {
		ie := echo.New()
		ie.HideBanner, ie.HidePort = true, true
		h.RegisterInternal(ie)
		parts = append(parts, serveHTTP(o, ie, *internal, func() error { return nil }))
	} else {
		o.Log.Warn("metrics_listen is empty: /metrics and /readyz are not served")
	}
	return parts, nil
}

// newWorkerHTTP serves only /healthz and /metrics on metrics_listen, for a
// worker-only process; nil when metrics_listen is empty.
func newWorkerHTTP(o Options, reg *prometheus.Registry) func(context.Context) error {
	internal := internalListener(o)
	if internal == nil {
		return nil
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET(webhooks.PathHealth, func(c echo.Context) error { return c.String(http.StatusOK, "ok\n") })
	e.GET(webhooks.PathMetrics, echo.WrapHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	return serveHTTP(o, e, *internal, func() error { return nil })
}

// httpListener is where a server listens: ln when set (tests), else addr.
type httpListener struct {
	name string // public or internal, for the log
	ln   net.Listener
	addr string
	tls  bool
}

// internalListener is the listener of /metrics and /readyz; nil when
// metrics_listen is empty and no test listener is given.
func internalListener(o Options) *httpListener {
	if o.MetricsListener == nil && o.Config.MetricsListen == "" {
		return nil
	}
	return &httpListener{name: "internal", ln: o.MetricsListener, addr: o.Config.MetricsListen}
}

// serveHTTP runs an HTTP server on l until ctx ends.
func serveHTTP(o Options, e *echo.Echo, l httpListener, closeFn func() error) func(context.Context) error {
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	return func(ctx context.Context) error {
		ln := l.ln
		if ln == nil {
			var err error
			if ln, err = net.Listen("tcp", l.addr); err != nil {
				return fmt.Errorf("%s listener: %w", l.name, err)
			}
		}
		defer closeFn()
		o.Log.Info("listening", "listener", l.name, "addr", ln.Addr().String(), "public_url", o.Config.PublicURL, "tls", l.tls)
		done := make(chan error, 1)
		go func() {
			if l.tls {
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
