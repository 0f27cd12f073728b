package webhooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/hibiken/asynq"
	"github.com/labstack/echo/v4"

	"github.com/dedesales/exchange-connector/internal/metrics"
)

// maxLoggedDrops bounds the log lines for dropped items per request, so a
// hostile 1 MiB body of junk items cannot flood the log; the rest are
// summarised in one line (and all are counted).
const maxLoggedDrops = 5

// changeNotification is one item of a Graph notification POST: a change
// notification or a lifecycle event. Keys match without regard to case
// (case:ignore), which also covers the older Outlook REST shape
// ("ChangeType": "Missed").
//
// Bodies are decoded with encoding/json/v2 (the go-json-experiment/json
// mirror until go.mod names Go 1.27, where it becomes the standard library's):
// about four times faster than encoding/json on a notification, the largest
// CPU cost of the intake after the system calls (docs/PERFORMANCE.md). It is
// also stricter: invalid UTF-8 and duplicate keys make a body malformed.
type changeNotification struct {
	SubscriptionID string        `json:"subscriptionId,case:ignore"`
	ClientState    string        `json:"clientState,case:ignore"`
	ChangeType     string        `json:"changeType,case:ignore"`
	Resource       string        `json:"resource,case:ignore"`
	ResourceData   *resourceData `json:"resourceData,case:ignore"`
	LifecycleEvent string        `json:"lifecycleEvent,case:ignore"`
	TenantID       string        `json:"tenantId,case:ignore"`
}

// resourceData is the part of a basic notification's resourceData we use.
type resourceData struct {
	ID   string `json:"id,case:ignore"`
	ETag string `json:"@odata.etag,case:ignore"`
}

// drop is why an item was not enqueued.
type drop struct {
	kind, reason string
	event        string // the unknown lifecycle event's name (ReasonUnknownEvent)
}

// bufPool recycles request body buffers.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// intake serves a POST from Graph on either notification route: the
// validation handshake, or a batch of items enqueued one task each. Items are
// classified by their content, not by the route, so one URL may serve as both
// notificationUrl and lifecycleNotificationUrl.
func (h *Handler) intake(c echo.Context, route string) error {
	if c.Request().URL.RawQuery != "" { // parsed only for the rare handshake
		if tokens, ok := c.QueryParams()["validationToken"]; ok {
			return h.handshake(c, route, tokens)
		}
	}
	buf := bufPool.Get().(*bytes.Buffer)
	defer func() { buf.Reset(); bufPool.Put(buf) }()
	if err := h.readBody(c, buf); err != nil {
		return err
	}
	items, err := decodeBatch(buf.Bytes())
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	tasks := h.tasksFor(c.Request().Context(), route, items)
	if err := h.enqueueAll(c.Request().Context(), tasks); err != nil {
		h.d.Logger.ErrorContext(c.Request().Context(), "webhooks: enqueue failed, asking Graph to retry",
			slog.String("route", route), slog.Int("items", items.len()), slog.Any("error", err))
		return echo.NewHTTPError(http.StatusServiceUnavailable, "queue unavailable")
	}
	return c.NoContent(http.StatusAccepted)
}

// handshake answers Graph's validation request: the decoded token, as plain
// text that no browser will sniff into HTML.
func (h *Handler) handshake(c echo.Context, route string, tokens []string) error {
	if len(tokens) != 1 {
		return echo.NewHTTPError(http.StatusBadRequest, "one validationToken expected")
	}
	token := tokens[0]
	if err := checkToken(token, h.d.MaxTokenBytes); err != nil {
		h.d.Logger.WarnContext(c.Request().Context(), "webhooks: validation token refused",
			slog.String("route", route), slog.Int("token_bytes", len(token)), slog.Any("error", err))
		return echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	h.d.Metrics.WebhookValidations.WithLabelValues(route).Inc()
	hdr := c.Response().Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "text/plain; charset=utf-8", []byte(token))
}

// checkToken accepts a non-empty UTF-8 token of at most max bytes without
// control characters.
func checkToken(token string, max int) error {
	switch {
	case token == "":
		return errors.New("empty validationToken")
	case len(token) > max:
		return fmt.Errorf("validationToken longer than %d bytes", max)
	case !utf8.ValidString(token):
		return errors.New("validationToken is not UTF-8")
	}
	for _, r := range token {
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == '\u2028' || r == '\u2029' {
			return errors.New("control character in validationToken")
		}
	}
	return nil
}

// readBody reads the request body into buf, refusing bodies over the cap
// with 413.
func (h *Handler) readBody(c echo.Context, buf *bytes.Buffer) error {
	req := c.Request()
	tooLarge := func() error {
		return echo.NewHTTPError(http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", h.d.MaxBodyBytes))
	}
	if req.ContentLength > h.d.MaxBodyBytes {
		return tooLarge()
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(c.Response(), req.Body, h.d.MaxBodyBytes))
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return tooLarge()
	}
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "reading body").SetInternal(err)
	}
	return nil
}

// batch is a decoded notification POST: its items, or, when some item is
// not of the expected shape, the raw items to be decoded one by one.
type batch struct {
	items []changeNotification
	raw   []jsontext.Value
}

// len is the number of items in the batch.
func (b *batch) len() int {
	if b.raw != nil {
		return len(b.raw)
	}
	return len(b.items)
}

// decodeBatch decodes {"value":[…]} in one pass. If an item has an
// unexpected shape (a number for resource, say), it decodes the items raw
// instead, so that one odd item cannot fail the batch.
func decodeBatch(body []byte) (batch, error) {
	var env struct {
		Value *[]changeNotification `json:"value,case:ignore"`
	}
	err := json.Unmarshal(body, &env)
	if _, ok := errors.AsType[*json.SemanticError](err); ok {
		var raw struct {
			Value *[]jsontext.Value `json:"value,case:ignore"`
		}
		if err := json.Unmarshal(body, &raw); err != nil {
			return batch{}, fmt.Errorf("malformed notification body: %w", err)
		}
		if raw.Value != nil {
			return batch{raw: *raw.Value}, nil
		}
	}
	if err != nil {
		return batch{}, fmt.Errorf("malformed notification body: %w", err)
	}
	if env.Value == nil {
		return batch{}, errors.New(`malformed notification body: no "value" array`)
	}
	return batch{items: *env.Value}, nil
}

// tasksFor turns the items into tasks, dropping (logging, counting) the
// invalid ones.
func (h *Handler) tasksFor(ctx context.Context, route string, b batch) []*asynq.Task {
	now := h.d.Now().UTC()
	tasks := make([]*asynq.Task, 0, b.len())
	dropped := 0
	for i := range b.len() {
		var n *changeNotification
		if b.raw == nil {
			n = &b.items[i]
		} else if err := json.Unmarshal(b.raw[i], &n); err != nil || n == nil {
			n = nil
		}
		task, d := h.taskFor(n, route, now)
		if d == nil {
			tasks = append(tasks, task)
			continue
		}
		if dropped++; dropped <= maxLoggedDrops {
			var sub, tenant string
			if n != nil {
				sub, tenant = n.SubscriptionID, n.TenantID
			}
			attrs := []any{slog.String("route", route), slog.Int("item", i), slog.String("kind", d.kind),
				slog.String("reason", d.reason), slog.String("subscription_id", clip(sub)),
				slog.String("tenant_id", clip(tenant))}
			if d.event != "" {
				attrs = append(attrs, slog.String("event", clip(d.event)))
			}
			h.d.Logger.WarnContext(ctx, "webhooks: item dropped", attrs...)
		}
	}
	if dropped > maxLoggedDrops {
		h.d.Logger.WarnContext(ctx, "webhooks: more items dropped",
			slog.String("route", route), slog.Int("not_logged", dropped-maxLoggedDrops), slog.Int("items", b.len()))
	}
	return tasks
}

// taskFor classifies one item (nil: unreadable), counts it, and returns its
// task or why it is dropped.
func (h *Handler) taskFor(n *changeNotification, route string, now time.Time) (*asynq.Task, *drop) {
	var task *asynq.Task
	var d *drop
	kind := metrics.KindNotification
	switch {
	case n == nil:
		kind = kindOfRoute(route)
		d = &drop{kind: kind, reason: metrics.ReasonBadItem}
	case isLifecycle(n):
		kind = metrics.KindLifecycle
		task, d = h.lifecycleTask(n, now)
	default:
		task, d = h.notificationTask(n, now)
	}
	h.d.Metrics.WebhookReceived.WithLabelValues(kind).Inc()
	if d != nil {
		h.d.Metrics.WebhookDropped.WithLabelValues(d.kind, d.reason).Inc()
	}
	return task, d
}

// kindOfRoute is the kind assumed for an item that cannot be read.
func kindOfRoute(route string) string {
	if route == PathLifecycle {
		return metrics.KindLifecycle
	}
	return metrics.KindNotification
}

// enqueueAll enqueues the tasks one after the other within the enqueue
// timeout. A task already queued under its ID is a redelivery and counts as
// success; any other error stops the batch, which Graph then redelivers
// whole (the tasks already enqueued dedupe on their IDs).
func (h *Handler) enqueueAll(ctx context.Context, tasks []*asynq.Task) error {
	if len(tasks) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, h.d.EnqueueTimeout)
	defer cancel()
	for _, t := range tasks {
		_, err := h.d.Enqueuer.EnqueueContext(ctx, t)
		switch {
		case err == nil:
			h.d.Metrics.TasksEnqueued.WithLabelValues(t.Type()).Inc()
		case errors.Is(err, asynq.ErrTaskIDConflict), errors.Is(err, asynq.ErrDuplicateTask):
			h.d.Metrics.TasksDuplicate.WithLabelValues(t.Type()).Inc()
		default:
			h.d.Metrics.EnqueueErrors.WithLabelValues(t.Type()).Inc()
			return fmt.Errorf("webhooks: enqueue %s: %w", t.Type(), err)
		}
	}
	return nil
}

// clip shortens an untrusted value for a log line.
func clip(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
