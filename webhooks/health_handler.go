package webhooks

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
)

// handleHealth serves GET /healthz: the process is alive and serving.
func (h *Handler) handleHealth(c echo.Context) error {
	return c.String(http.StatusOK, "ok\n")
}

// handleReady serves GET /readyz: 200 when every ReadyCheck passes within
// the ready timeout, else 503. The body lists each check as "name: ok" or
// "name: failed"; the errors themselves go to the log only, as they may name
// hosts and users.
func (h *Handler) handleReady(c echo.Context) error {
	code, body := h.readiness(c.Request().Context())
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.String(code, body)
}

// readiness runs every ReadyCheck within the ready timeout.
func (h *Handler) readiness(ctx context.Context) (int, string) {
	ctx, cancel := context.WithTimeout(ctx, h.d.ReadyTimeout)
	defer cancel()
	errs := make([]error, len(h.d.Ready))
	var wg sync.WaitGroup
	for i, r := range h.d.Ready {
		wg.Go(func() { errs[i] = r.Check(ctx) })
	}
	wg.Wait()
	var body strings.Builder
	code := http.StatusOK
	for i, r := range h.d.Ready {
		if errs[i] == nil {
			body.WriteString(r.Name + ": ok\n")
			continue
		}
		code = http.StatusServiceUnavailable
		body.WriteString(r.Name + ": failed\n")
		h.d.Logger.WarnContext(ctx, "webhooks: not ready", slog.String("check", r.Name), slog.Any("error", errs[i]))
	}
	return code, body.String()
}

// handlePublicReady serves GET /readyz on the public listener: the same
// checks, but the body says only "ready" or "not ready", so nothing about
// the dependencies faces the internet.
func (h *Handler) handlePublicReady(c echo.Context) error {
	code, _ := h.readiness(c.Request().Context())
	c.Response().Header().Set("Cache-Control", "no-store")
	if code != http.StatusOK {
		return c.String(code, "not ready\n")
	}
	return c.String(code, "ready\n")
}

// handleMetrics serves GET /metrics from the Gatherer.
func (h *Handler) handleMetrics(c echo.Context) error {
	h.metrics.ServeHTTP(c.Response(), c.Request())
	return nil
}
