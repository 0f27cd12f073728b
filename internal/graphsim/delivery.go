package graphsim

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Delivery are the fault knobs that make the simulator deliver change
// notifications the way Graph does, rather than at once and exactly once.
// They are part of Faults (POST /_sim/faults, scenario "faults"); all are
// off by default, so that tests and the demo stay fast. Durations are Graph
// durations ("90s", "4h", "1d"); a span "10s-3m" draws a uniformly random
// duration per notification or message. TimeScale compresses all of them.
//
// What Graph does (Microsoft's documentation, see
// ../shared/reference/graph.md "Errata" and §1.6–1.7):
//   - Latency: message notifications arrive "in under 1 minute on average",
//     at most about 3 minutes (concepts/includes/change-notifications-delivery-latency.md).
//     Each notification is late on its own, so they also arrive out of order.
//   - Duplicates: the same change is often notified twice (docs-contrib
//     issues #7644, #3072, #2155), in separate POSTs.
//   - The Sent Items copy: after sending, the copy "may not succeed
//     immediately", so a notified message can answer 404 for a while.
//   - Retries: "Notifications that fail to deliver are retried at
//     exponential backoff intervals. Missed notifications might take up to
//     4 hours to be resent once your endpoint comes online"; the service
//     "continues to try to deliver the notification for up to 4 hours"
//     (https://learn.microsoft.com/graph/change-notifications-delivery-webhooks,
//     "HTTP codes and retry logic"); after that the notification is gone.
//     The intervals are not published; an older revision says failed calls
//     are retried after 10 minutes, which is the first interval here.
type Delivery struct {
	// TimeScale multiplies every duration of the delivery knobs (latency,
	// duplicate delay, 404 window, retry schedule) to compress time in
	// tests: 0.001 runs Graph's 4-hour retry window in 14.4 s. 0 = 1.
	TimeScale float64 `json:"timeScale,omitempty"`
	// NotifyLatency holds every change notification this long (or a random
	// time in the span, per notification) before it is posted; random
	// latencies reorder notifications as Graph's do. Graph: "20s-3m".
	NotifyLatency string `json:"notifyLatency,omitempty"`
	// DuplicateRate is the probability (0–1) that a change notification is
	// delivered once more, in a POST of its own, DuplicateDelay after the
	// first (on top of its latency).
	DuplicateRate float64 `json:"duplicateRate,omitempty"`
	// DuplicateDelay is the lag of a duplicate (default "0s-30s").
	DuplicateDelay string `json:"duplicateDelay,omitempty"`
	// NotFoundAfterCreated makes a message created through the control API
	// (or a live scenario message) unreadable for this long after its
	// "created" notification was queued: GET, $value, attachments answer
	// 404 ErrorItemNotFound and delta does not return it yet; then it
	// appears as if it had been created at that moment. The wait runs on
	// the simulator's clock, so POST /_sim/clock can end it.
	NotFoundAfterCreated string `json:"notFoundAfterCreated,omitempty"`
	// NotFoundFolders limits NotFoundAfterCreated to messages created in
	// these folders (well-known names, folder IDs or display names; empty =
	// every folder). Graph's case is "sentitems".
	NotFoundFolders []string `json:"notFoundFolders,omitempty"`
	// RetryWindow switches failed notification POSTs from Options.NotifyRetry
	// to Graph's schedule: retries after RetryFirst, doubling, for this long
	// (Graph: "4h"), the last one at the window's end; then the
	// notifications are dropped (counted as failed; with MissedAfterDrop a
	// "missed" lifecycle event follows).
	RetryWindow string `json:"retryWindow,omitempty"`
	// RetryFirst is the first retry interval of RetryWindow (default "10m").
	RetryFirst string `json:"retryFirst,omitempty"`
}

// validate checks the knobs and returns a clear error for the first bad one.
func (d *Delivery) validate() error {
	var errs []error
	if d.TimeScale < 0 {
		errs = append(errs, fmt.Errorf("timeScale %v: must not be negative", d.TimeScale))
	}
	if d.DuplicateRate < 0 || d.DuplicateRate > 1 {
		errs = append(errs, fmt.Errorf("duplicateRate %v: want 0 to 1", d.DuplicateRate))
	}
	for name, v := range map[string]string{"notifyLatency": d.NotifyLatency, "duplicateDelay": d.DuplicateDelay,
		"notFoundAfterCreated": d.NotFoundAfterCreated, "retryWindow": d.RetryWindow, "retryFirst": d.RetryFirst} {
		if _, _, err := parseSpan(v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// parseSpan reads "" (zero), a duration ("90s", "1d") or a span "lo-hi".
func parseSpan(v string) (lo, hi time.Duration, err error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, 0, nil
	}
	a, b, isSpan := strings.Cut(v, "-")
	if !isSpan {
		b = a
	}
	if strings.TrimSpace(a) == "" || strings.TrimSpace(b) == "" {
		return 0, 0, fmt.Errorf("%q: want a duration like 90s or a span like 10s-3m", v)
	}
	if lo, err = parseDuration(a); err == nil {
		hi, err = parseDuration(b)
	}
	switch {
	case err != nil:
		return 0, 0, fmt.Errorf("%q: want a duration like 90s or a span like 10s-3m", v)
	case lo < 0 || hi < lo:
		return 0, 0, fmt.Errorf("%q: want 0 ≤ low ≤ high", v)
	}
	return lo, hi, nil
}

// scale compresses d by TimeScale.
func (d *Delivery) scale(v time.Duration) time.Duration {
	if d.TimeScale <= 0 {
		return v
	}
	return time.Duration(float64(v) * d.TimeScale)
}

// draw picks a scaled duration from a span (zero when unset).
func (d *Delivery) draw(span string) time.Duration {
	lo, hi, err := parseSpan(span)
	if err != nil || hi <= 0 {
		return 0
	}
	v := lo
	if hi > lo {
		v += rand.N(hi - lo + 1)
	}
	return d.scale(v)
}

// latency is the scaled delay of one change notification.
func (d *Delivery) latency() time.Duration { return d.draw(d.NotifyLatency) }

// duplicate reports whether to deliver a notification once more, and after
// how long (scaled, after the first copy's latency).
func (d *Delivery) duplicate() (time.Duration, bool) {
	if d.DuplicateRate <= 0 || rand.Float64() >= d.DuplicateRate {
		return 0, false
	}
	span := d.DuplicateDelay
	if span == "" {
		span = "0s-30s"
	}
	return d.draw(span), true
}

// hideFor is how long a new message in f stays unreadable (scaled; 0 =
// readable at once).
func (d *Delivery) hideFor(u *user, f *folder) time.Duration {
	if d.NotFoundAfterCreated == "" {
		return 0
	}
	if len(d.NotFoundFolders) > 0 {
		match := false
		for _, ref := range d.NotFoundFolders {
			match = match || u.folder(ref) == f || strings.EqualFold(ref, f.DisplayName)
		}
		if !match {
			return 0
		}
	}
	return d.draw(d.NotFoundAfterCreated)
}

// retrySchedule is the waits before each retry of a failed POST: Graph's
// (RetryWindow) when set, else the simulator's RetryPolicy.
func (d *Delivery) retrySchedule(p RetryPolicy) []time.Duration {
	window, _, _ := parseSpan(d.RetryWindow)
	if window <= 0 {
		var out []time.Duration
		b := p.InitialBackoff
		for range p.MaxAttempts - 1 {
			out = append(out, b)
			b = min(2*b, p.MaxBackoff)
		}
		return out
	}
	first, _, _ := parseSpan(d.RetryFirst)
	if first <= 0 {
		first = 10 * time.Minute
	}
	var out []time.Duration
	for at, b := time.Duration(0), first; at < window; b *= 2 {
		wait := min(b, window-at)
		out = append(out, d.scale(wait))
		at += wait
	}
	return out
}

// hidden holds messages that were notified but are not readable yet
// (notFoundAfterCreated), until their time on the simulator's clock.
type hidden struct {
	mu    sync.Mutex
	n     atomic.Int64 // len(items), read without the lock on every request
	items []hiddenMessage
}

type hiddenMessage struct {
	m  *message
	at time.Time
}

// hide takes a just-created message out of the tenant (GET answers 404,
// delta does not see it) until wait has passed on the simulator's clock
// (so that tests may AdvanceClock instead of waiting). Callers hold s.mu.
func (s *Server) hide(m *message, wait time.Duration) {
	delete(m.folder.msgs, m.ID)
	delete(s.tenant.messages, m.ID)
	s.notify.total.hidden.Add(1)
	h := &s.notify.hidden
	h.mu.Lock()
	defer h.mu.Unlock()
	h.items = append(h.items, hiddenMessage{m: m, at: s.now().Add(wait)})
	h.n.Store(int64(len(h.items)))
}

// revealDue puts the hidden messages whose time has come back into their
// folders with a new change sequence, so that a delta round returns them
// from then on as new items. Every Graph request calls it first.
func (s *Server) revealDue() {
	h := &s.notify.hidden
	if h.n.Load() == 0 {
		return
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	kept := h.items[:0]
	for _, it := range h.items {
		switch {
		case it.at.After(now):
			kept = append(kept, it)
		case s.tenant.messages[it.m.ID] == nil && it.m.folder.msgs != nil:
			s.tenant.store(it.m)
		}
	}
	clear(h.items[len(kept):])
	h.items = kept
	h.n.Store(int64(len(kept)))
}
