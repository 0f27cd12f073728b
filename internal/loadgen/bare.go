package loadgen

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dedesales/exchange-connector/webhooks"
)

// ServeBare serves the baseline of the intake measurement until ctx ends: an
// echo handler on POST /graph/notifications that reads the body and answers
// 202, with the same server settings as the connector's web role and
// nothing else (BenchmarkIntake's "bare").
func ServeBare(ctx context.Context, ln net.Listener) error {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.POST(webhooks.PathNotifications, func(c echo.Context) error {
		if _, err := io.Copy(io.Discard, c.Request().Body); err != nil {
			return err
		}
		return c.NoContent(http.StatusAccepted)
	})
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
