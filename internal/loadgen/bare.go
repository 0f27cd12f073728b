package loadgen

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/labstack/echo/v4"

	"github.com/dedesales/exchange-connector/webhooks"
)

// FloorQueue is the queue the floor server enqueues into; nothing consumes it.
const FloorQueue = "bench-floor"

// floorPayload is as large as a message task's payload (about 330 bytes).
var floorPayload = []byte(strings.Repeat("x", 330))

// ServeBare serves the baseline of the intake measurement until ctx ends: an
// echo handler on POST /graph/notifications that reads the body and answers
// 202, with the same server settings as the connector's web role and
// nothing else (BenchmarkIntake's "bare").
//
// With a non-nil enq it serves the floor instead: the same, plus one enqueue
// of a task of a message task's size under a fresh ID into FloorQueue before
// answering — what one notification costs at the least when the queue must
// hold it before Graph is answered, without the connector's own work
// (decoding, clientState, task building, metrics).
func ServeBare(ctx context.Context, ln net.Listener, enq webhooks.Enqueuer) error {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.POST(webhooks.PathNotifications, func(c echo.Context) error {
		if _, err := io.Copy(io.Discard, c.Request().Body); err != nil {
			return err
		}
		if enq != nil {
			var id [16]byte
			rand.Read(id[:])
			task := asynq.NewTask("bench:floor", floorPayload, asynq.TaskID(hex.EncodeToString(id[:])), asynq.Queue(FloorQueue))
			if _, err := enq.EnqueueContext(c.Request().Context(), task); err != nil {
				return echo.NewHTTPError(http.StatusServiceUnavailable, "queue unavailable").SetInternal(err)
			}
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
