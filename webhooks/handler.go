// Package webhooks serves the HTTP endpoints Microsoft Graph calls (change
// and lifecycle notifications, with their validation handshake) and the
// health, readiness and metrics endpoints.
//
// The notification path only authenticates and enqueues: it checks each
// item's clientState (internal/clientstate, no database), turns the item into
// an asynq task with a deduplicating task ID and answers 202. It never calls
// SQL or Graph; the jobs do. If the queue cannot take the work it answers 503,
// so that Graph retries.
package webhooks

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dedesales/exchange-connector/internal/clientstate"
	"github.com/dedesales/exchange-connector/internal/metrics"
)

// Routes served by the Handler.
const (
	PathNotifications = "/graph/notifications"
	PathLifecycle     = "/graph/lifecycle"
	PathHealth        = "/healthz"
	PathReady         = "/readyz"
	PathMetrics       = "/metrics"
)

// Defaults of the Deps limits.
const (
	DefaultMaxBodyBytes   = 1 << 20
	DefaultMaxTokenBytes  = 1024
	DefaultEnqueueTimeout = 2 * time.Second // well under Graph's 2.9 s "slow" mark
	DefaultReadyTimeout   = 2 * time.Second
)

// Enqueuer takes tasks into the queue; *asynq.Client satisfies it.
type Enqueuer interface {
	EnqueueContext(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// ReadyCheck is one dependency /readyz checks, e.g. "redis" with a PING or
// "database" with a ping of the SQL pool.
type ReadyCheck = metrics.ReadyCheck

// Deps are what the Handler needs.
type Deps struct {
	Enqueuer Enqueuer            // required
	Keys     clientstate.Keys    // required: verifies clientState
	Metrics  *metrics.Metrics    // required
	Gatherer prometheus.Gatherer // served on /metrics; required
	Ready    []ReadyCheck        // checked by /readyz, in this order
	Logger   *slog.Logger        // default slog.Default()
	Now      func() time.Time    // default time.Now

	MaxBodyBytes   int64         // default DefaultMaxBodyBytes
	MaxTokenBytes  int           // default DefaultMaxTokenBytes
	EnqueueTimeout time.Duration // bounds all enqueues of one request; default DefaultEnqueueTimeout
	ReadyTimeout   time.Duration // bounds the readiness checks; default DefaultReadyTimeout
}

// Handler serves the routes listed in Register.
type Handler struct {
	d       Deps
	metrics http.Handler // promhttp on d.Gatherer
}

// New returns a Handler, filling in the defaults of d.
func New(d Deps) (*Handler, error) {
	switch {
	case d.Enqueuer == nil:
		return nil, errors.New("webhooks: no Enqueuer")
	case d.Metrics == nil:
		return nil, errors.New("webhooks: no Metrics")
	case d.Gatherer == nil:
		return nil, errors.New("webhooks: no Gatherer")
	}
	for _, r := range d.Ready {
		if r.Name == "" || r.Check == nil {
			return nil, errors.New("webhooks: ReadyCheck without name or function")
		}
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.MaxBodyBytes <= 0 {
		d.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if d.MaxTokenBytes <= 0 {
		d.MaxTokenBytes = DefaultMaxTokenBytes
	}
	if d.EnqueueTimeout <= 0 {
		d.EnqueueTimeout = DefaultEnqueueTimeout
	}
	if d.ReadyTimeout <= 0 {
		d.ReadyTimeout = DefaultReadyTimeout
	}
	return &Handler{d: d, metrics: promhttp.HandlerFor(d.Gatherer, promhttp.HandlerOpts{})}, nil
}

// Register adds the public routes to e: Graph's notification and lifecycle
// endpoints and /healthz.
func (h *Handler) Register(e *echo.Echo) {
	e.POST(PathNotifications, h.handleNotifications, h.observe)
	e.POST(PathLifecycle, h.handleLifecycle, h.observe)
	e.GET(PathHealth, h.handleHealth)
	e.GET(PathReady, h.handlePublicReady, h.observe)
}

// RegisterInternal adds the routes that must not face the internet to e,
// the server on metrics_listen: /metrics (it describes every mailbox),
// /readyz with each dependency's state, and /healthz. The public listener
// keeps a terse /readyz (DESIGN §7: load balancers and probes ask it there)
// that says only ready or not.
func (h *Handler) RegisterInternal(e *echo.Echo) {
	e.GET(PathHealth, h.handleHealth)
	e.GET(PathReady, h.handleReady, h.observe)
	e.GET(PathMetrics, h.handleMetrics)
}

// observe records the handling time of a request in the HTTPDuration
// histogram.
func (h *Handler) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		h.d.Metrics.HTTPDuration.
			WithLabelValues(c.Path(), c.Request().Method, statusText(c, err)).
			Observe(time.Since(start).Seconds())
		return err
	}
}

// statusText is the status code the request is answered with, as a label.
func statusText(c echo.Context, err error) string {
	code := c.Response().Status
	if err != nil {
		code = http.StatusInternalServerError
		if he, ok := errors.AsType[*echo.HTTPError](err); ok {
			code = he.Code
		}
	}
	return codeLabel(code)
}

// codeLabel formats the status codes this package answers without
// allocating.
func codeLabel(code int) string {
	switch code {
	case http.StatusOK:
		return "200"
	case http.StatusAccepted:
		return "202"
	case http.StatusBadRequest:
		return "400"
	case http.StatusRequestEntityTooLarge:
		return "413"
	case http.StatusServiceUnavailable:
		return "503"
	}
	return strconv.Itoa(code)
}
