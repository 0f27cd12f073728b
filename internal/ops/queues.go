package ops

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"

	"github.com/hibiken/asynq"
	"github.com/hibiken/asynqmon"
	"github.com/labstack/echo/v4"
)

// queues is asynqmon mounted at /ops/queues.
type queues struct {
	mon *asynqmon.HTTPHandler
	// csp allows asynqmon's two inline scripts by hash (its index page sets
	// window.FLAG_* and inlines webpack's runtime) and inline styles (its
	// Material-UI components inject <style> elements at run time). Google
	// Fonts, which its index page links, stay blocked: operators' browsers
	// do not call Google (GDPR), and the UI falls back to system fonts.
	csp string
}

// inlineScript finds <script> elements without a src attribute.
var inlineScript = regexp.MustCompile(`(?s)<script>(.*?)</script>`)

func newQueues(opt asynq.RedisConnOpt, writable bool) (*queues, error) {
	mon := asynqmon.New(asynqmon.Options{RootPath: Prefix + "/queues", RedisConnOpt: opt, ReadOnly: !writable})
	// The index page depends only on the options, so its inline scripts can
	// be hashed once.
	rec := httptest.NewRecorder()
	mon.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, Prefix+"/queues/", nil))
	if rec.Code != http.StatusOK {
		mon.Close()
		return nil, fmt.Errorf("ops: asynqmon's index page: status %d", rec.Code)
	}
	scripts := inlineScript.FindAllStringSubmatch(rec.Body.String(), -1)
	if len(scripts) == 0 {
		mon.Close()
		return nil, fmt.Errorf("ops: asynqmon's index page has no inline script to allow; has its build changed?")
	}
	hashes := make([]string, len(scripts))
	for i, m := range scripts {
		hashes[i] = "'" + cspHash(m[1]) + "'"
	}
	csp := "default-src 'self'; script-src 'self' " + strings.Join(hashes, " ") + "; style-src 'self' 'unsafe-inline'; " +
		"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; manifest-src 'self'; object-src 'none'; " +
		"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
	return &queues{mon: mon, csp: csp}, nil
}

func (q *queues) close() error {
	if err := q.mon.Close(); err != nil {
		return fmt.Errorf("ops: closing asynqmon: %w", err)
	}
	return nil
}

// queuesHandler serves asynqmon, or explains that Redis is not configured.
func (h *Handler) queuesHandler() echo.HandlerFunc {
	if h.queues == nil {
		return func(c echo.Context) error {
			return h.render(c, http.StatusServiceUnavailable, "message.html",
				page{Title: "Queue dashboard unavailable", Message: "This web process has no Redis connection for the queue dashboard."})
		}
	}
	return echo.WrapHandler(h.queues.mon)
}
