// Package api is the CRM integration API of the web role (DESIGN §11):
// master-data writes, the change feed and activity reads under /api/v1/,
// described by one OpenAPI 3.1 document (openapi.yaml) that every request is
// validated against (kin-openapi's openapi3filter) before a handler runs.
//
// The handlers are written by hand: oapi-codegen v2 does not support
// OpenAPI 3.1 (oapi-codegen/oapi-codegen#373), kin-openapi does since
// v0.134 (getkin/kin-openapi#1125). A test keeps the routes registered in
// echo and the document's operations equal.
package api

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/go-redis/redis_rate/v10"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/dedesales/exchange-connector/internal/metrics"
)

//go:embed openapi.yaml
var openapiYAML []byte

// Prefix is where the API is served.
const Prefix = "/api/v1"

// PathOpenAPI serves the document.
const PathOpenAPI = Prefix + "/openapi.yaml"

// Rematcher starts retroactive matching (DESIGN §11) after a write that
// changed master data or settings; it only enqueues work, it never does it
// in the request.
type Rematcher interface {
	RequestRematch(ctx context.Context, cause string) error
}

// Store is what the API needs of the database.
type Store interface {
	keyStore
	writeStore
	readStore
}

// Deps are the API's collaborators.
type Deps struct {
	Store Store
	// Documents serves document downloads; nil answers them with 503.
	Documents DocumentReader
	// Redis holds the per-key rate limits.
	Redis redis.UniversalClient
	// Rematcher is told about master-data changes; nil does nothing.
	Rematcher Rematcher
	// RatePerSecond and Burst limit each key; 0 takes 50 and 100.
	RatePerSecond, Burst int
	// Metrics, when set, observe each request's time by route, method and
	// status (connector_http_request_duration_seconds).
	Metrics *metrics.Metrics
	Logger  *slog.Logger
}

// Handler serves the API.
type Handler struct {
	d       Deps
	log     *slog.Logger
	doc     *openapi3.T
	router  routers.Router
	limiter *redis_rate.Limiter
	now     func() time.Time // the clock of the key cache and last_used_at
	touchState
}

// LoadDocument parses and checks the embedded OpenAPI document.
func LoadDocument() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openapiYAML)
	if err != nil {
		return nil, fmt.Errorf("api: openapi.yaml: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("api: openapi.yaml is not valid: %w", err)
	}
	return doc, nil
}

// New returns the API's handler.
func New(d Deps) (*Handler, error) {
	if d.Store == nil {
		return nil, errors.New("api: a store is required")
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.RatePerSecond <= 0 {
		d.RatePerSecond = 50
	}
	if d.Burst <= 0 {
		d.Burst = 2 * d.RatePerSecond
	}
	doc, err := LoadDocument()
	if err != nil {
		return nil, err
	}
	// Requests are validated by kin-openapi's own validator, which reads
	// 3.1's type arrays: for a 3.1 document openapi3filter compiles a JSON
	// Schema 2020-12 validator per value and request (kin-openapi v0.153),
	// and for schemas with $refs — all our bodies — falls back to its own
	// validator after compiling anyway. Compiling cost a third of a PUT's
	// CPU. The tests validate every response with the 3.1 document as it is.
	runtimeDoc := *doc
	runtimeDoc.OpenAPI = "3.0.3"
	router, err := gorillamux.NewRouter(&runtimeDoc)
	if err != nil {
		return nil, fmt.Errorf("api: routes of openapi.yaml: %w", err)
	}
	h := &Handler{d: d, log: d.Logger, doc: doc, router: router, now: time.Now, touchState: touchState{touched: map[int64]time.Time{}, keys: map[[32]byte]cachedKey{}}}
	if d.Redis != nil {
		h.limiter = redis_rate.NewLimiter(d.Redis)
	}
	return h, nil
}

// Register adds the API's routes to e.
func (h *Handler) Register(e *echo.Echo) {
	e.GET(PathOpenAPI, h.serveDocument)
	g := e.Group(Prefix, h.observe, h.errorMiddleware, h.authenticate, h.limitRate, h.validate)
	h.registerWrite(g)
	h.registerRead(g)
	g.RouteNotFound("/*", func(c echo.Context) error {
		return problem(http.StatusNotFound, "no such endpoint; "+PathOpenAPI+" lists them")
	})
}

// observe records the request's handling time with the status it was
// answered with (the problem written by errorMiddleware included).
func (h *Handler) observe(next echo.HandlerFunc) echo.HandlerFunc {
	if h.d.Metrics == nil {
		return next
	}
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		code := c.Response().Status
		if err != nil {
			code = http.StatusInternalServerError
		}
		h.d.Metrics.HTTPDuration.WithLabelValues(c.Path(), c.Request().Method, strconv.Itoa(code)).
			Observe(time.Since(start).Seconds())
		return err
	}
}

func (h *Handler) serveDocument(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml", openapiYAML)
}
