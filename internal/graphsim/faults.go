package graphsim

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Faults are the failures the simulator injects on demand. POST /_sim/faults
// merges the posted JSON fields into the current settings ("reset": true
// starts from zero first); GET /_sim/faults shows them.
type Faults struct {
	// LatencyMS delays every Graph request (not Entra, not the control API)
	// by this many milliseconds, while it holds its mailbox's concurrency slot.
	LatencyMS int `json:"latencyMs"`
	// ConcurrencyLimit is the number of concurrent Graph requests allowed per
	// mailbox before 429 MailboxConcurrency (0 = Graph's 4; negative = off).
	ConcurrencyLimit int `json:"concurrencyLimit"`
	// ThrottleEveryN answers every Nth Graph request with 429 (a "429 storm";
	// 0 = off).
	ThrottleEveryN int `json:"throttleEveryN"`
	// RetryAfterSeconds is the Retry-After sent with 429 (0 = 1 s).
	RetryAfterSeconds int `json:"retryAfterSeconds"`
	// RetryAfter, when set, is the Retry-After header of 429s verbatim and
	// wins over RetryAfterSeconds: Graph sends fractional seconds, e.g.
	// "2.128" (concepts/throttling.md, see testdata/graph-real/SOURCES.md).
	RetryAfter string `json:"retryAfter"`
	// AllowedMailboxes is the application access policy: Graph requests for
	// any other mailbox (by ID, mail or UPN) get 403 ErrorAccessDenied.
	// Empty = every mailbox is allowed.
	AllowedMailboxes []string `json:"allowedMailboxes"`
	// DeltaTokenTTLSeconds expires delta state on the simulator's clock:
	// a nextLink or deltaLink older than this answers 410 SyncStateNotFound,
	// as Graph's do (stale nextLinks too; graph.md Errata). 0 = never.
	DeltaTokenTTLSeconds int `json:"deltaTokenTtlSeconds"`
	// DuplicateNotifications sends every notification POST this many times
	// (0 or 1 = once).
	DuplicateNotifications int `json:"duplicateNotifications"`
	// ReorderNotifications holds notifications for ReorderWindowMS and then
	// delivers them one POST each, newest first.
	ReorderNotifications bool `json:"reorderNotifications"`
	// ReorderWindowMS is the collection window for reordering (0 = 200 ms).
	ReorderWindowMS int `json:"reorderWindowMs"`
	// DropNotifications drops the next N change notifications (-1 = all
	// until changed). Dropped ones are counted, never delivered.
	DropNotifications int `json:"dropNotifications"`
	// MissedAfterDrop sends a "missed" lifecycle event to the subscription's
	// lifecycleNotificationUrl for every batch with dropped notifications.
	MissedAfterDrop bool `json:"missedAfterDrop"`
	// Delivery holds the knobs of Graph's delivery behaviour (latency,
	// duplicates, 404 after created, the 4-hour retry schedule); see
	// delivery.go. Its fields appear at the top level of the JSON.
	Delivery
}

func (f *Faults) concurrencyLimit() int {
	if f.ConcurrencyLimit == 0 {
		return 4
	}
	return f.ConcurrencyLimit
}

func (f *Faults) retryAfter() string {
	if f.RetryAfter != "" {
		return f.RetryAfter
	}
	if f.RetryAfterSeconds <= 0 {
		return "1"
	}
	return strconv.Itoa(f.RetryAfterSeconds)
}

// allowed applies the access policy to u.
func (f *Faults) allowed(u *user) bool {
	if len(f.AllowedMailboxes) == 0 {
		return true
	}
	for _, a := range f.AllowedMailboxes {
		if strings.EqualFold(a, u.ID) || strings.EqualFold(a, u.Mail) || strings.EqualFold(a, u.UPN) {
			return true
		}
	}
	return false
}

// SetFaults replaces the fault settings.
func (s *Server) SetFaults(f Faults) {
	s.faults.Store(&f)
}

// CurrentFaults returns a copy of the fault settings.
func (s *Server) CurrentFaults() Faults { return *s.faults.Load() }

// takeDrop consumes one drop from the budget and reports whether the
// notification is to be dropped.
func (s *Server) takeDrop() bool {
	for {
		cur := s.faults.Load()
		if cur.DropNotifications == 0 {
			return false
		}
		if cur.DropNotifications < 0 {
			return true
		}
		next := *cur
		next.DropNotifications--
		if s.faults.CompareAndSwap(cur, &next) {
			return true
		}
	}
}

// limiter counts in-flight Graph requests per mailbox.
type limiter struct {
	mu     sync.Mutex
	active map[string]int
	total  int64 // Graph requests seen, for ThrottleEveryN
}

func (l *limiter) acquire(mailbox string, limit int, everyN int) (ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total++
	if everyN > 0 && l.total%int64(everyN) == 0 {
		return false
	}
	if limit > 0 && mailbox != "" && l.active[mailbox] >= limit {
		return false
	}
	if mailbox != "" {
		l.active[mailbox]++
	}
	return true
}

func (l *limiter) release(mailbox string) {
	if mailbox == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.active[mailbox]--; l.active[mailbox] <= 0 {
		delete(l.active, mailbox)
	}
}

// graph wraps a Graph handler: bearer token, Prefer echo, mailbox
// resolution (by ID or UPN; 404 for unknown users, see users.go) and access policy, throttling, latency.
func (s *Server) graph(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.stats.graphRequests.Add(1)
		if reason := s.checkBearer(r); reason != "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`)
			s.graphError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", reason)
			return
		}
		applyPrefer(w, r)
		s.revealDue()
		f := s.faults.Load()
		mailbox := ""
		if ref := r.PathValue("uid"); ref != "" {
			u := s.knownUser(ref)
			if u == nil {
				s.userNotFound(w, r, ref)
				return
			}
			if !f.allowed(u) {
				s.graphError(w, r, http.StatusForbidden, "ErrorAccessDenied", "Access to OData is disabled.")
				return
			}
			mailbox = u.ID
		}
		if !s.limiter.acquire(mailbox, f.concurrencyLimit(), f.ThrottleEveryN) {
			w.Header().Set("Retry-After", f.retryAfter())
			s.graphError(w, r, http.StatusTooManyRequests, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.")
			return
		}
		defer s.limiter.release(mailbox)
		if hook := s.graphHook.Load(); hook != nil {
			(*hook)(r)
		}
		if f.LatencyMS > 0 {
			t := time.NewTimer(time.Duration(f.LatencyMS) * time.Millisecond)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		h(w, r)
	})
}

// applyPrefer echoes the Prefer preferences the simulator honours.
func applyPrefer(w http.ResponseWriter, r *http.Request) {
	var applied []string
	for _, p := range preferValues(r) {
		switch {
		case strings.HasPrefix(strings.ToLower(p), "idtype="):
			applied = append(applied, p)
		case strings.HasPrefix(strings.ToLower(p), "odata.maxpagesize="):
			applied = append(applied, p)
		}
	}
	if bp := bodyPreference(r); bp != "" {
		applied = append(applied, bp) // as message-get.md shows it (mime.go)
	}
	if len(applied) > 0 {
		w.Header().Set("Preference-Applied", strings.Join(applied, ", "))
	}
}

// preferValues splits all Prefer headers into their preferences.
func preferValues(r *http.Request) []string {
	var out []string
	for _, h := range r.Header.Values("Prefer") {
		for _, p := range strings.Split(h, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// maxPageSize reads Prefer: odata.maxpagesize (0 when absent).
func maxPageSize(r *http.Request) int {
	for _, p := range preferValues(r) {
		if v, ok := strings.CutPrefix(strings.ToLower(p), "odata.maxpagesize="); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err == nil && n > 0 {
				return n
			}
		}
	}
	return 0
}
