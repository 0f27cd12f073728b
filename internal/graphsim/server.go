package graphsim

import (
	"compress/gzip"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a simulator. Zero values get the documented defaults.
type Options struct {
	// TenantID, ClientID and ClientSecret describe the one app registration
	// the simulated Entra ID knows. ClientSecret becomes its first password
	// credential (valid from a year ago for two years) unless empty.
	TenantID     string
	ClientID     string
	ClientSecret string
	// Now is the base clock (default time.Now). POST /_sim/clock adds an
	// offset on top of it.
	Now func() time.Time
	// AllowHTTPNotify also accepts http:// notification URLs on 127.0.0.1,
	// ::1 and localhost (real Graph accepts only https).
	AllowHTTPNotify bool
	// ValidationTimeout bounds each subscription validation request
	// (default 10 s, as Graph).
	ValidationTimeout time.Duration
	// NotifyTimeout bounds each notification POST (default 3 s, as Graph).
	NotifyTimeout time.Duration
	// NotifyRetry is the retry policy for failed notification POSTs.
	NotifyRetry RetryPolicy
	// NotifyClient sends validation requests, notifications and lifecycle
	// events (default: a client trusting the system roots).
	NotifyClient *http.Client
	// Logger receives the simulator's logs (default slog.Default()).
	Logger *slog.Logger
}

// RetryPolicy bounds the redelivery of failed notifications. Graph retries
// for up to 4 hours; the simulator retries MaxAttempts times in total, with
// a backoff starting at InitialBackoff and doubling up to MaxBackoff.
type RetryPolicy struct {
	MaxAttempts    int           // default 6 (the first try and 5 retries)
	InitialBackoff time.Duration // default 2 s
	MaxBackoff     time.Duration // default 30 s (2+4+8+16+30 s ≈ 1 min)
}

func (o *Options) setDefaults() {
	if o.TenantID == "" {
		o.TenantID = "84bd8158-6d4d-4958-8b9f-9d6445542f95"
	}
	if o.ClientID == "" {
		o.ClientID = "2a7c1f4e-0d3b-4c5a-9e8f-1a2b3c4d5e6f"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ValidationTimeout <= 0 {
		o.ValidationTimeout = 10 * time.Second
	}
	if o.NotifyTimeout <= 0 {
		o.NotifyTimeout = 3 * time.Second
	}
	if o.NotifyRetry.MaxAttempts <= 0 {
		o.NotifyRetry.MaxAttempts = 6
	}
	if o.NotifyRetry.InitialBackoff <= 0 {
		o.NotifyRetry.InitialBackoff = 2 * time.Second
	}
	if o.NotifyRetry.MaxBackoff <= 0 {
		o.NotifyRetry.MaxBackoff = 30 * time.Second
	}
	if o.NotifyClient == nil {
		o.NotifyClient = &http.Client{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Server is the simulated Microsoft Graph + Entra ID. It is an
// http.Handler; serve it over TLS (see Start, or httptest.NewTLSServer).
type Server struct {
	opts Options
	log  *slog.Logger
	mux  *http.ServeMux

	clockOffset atomic.Int64 // nanoseconds added to opts.Now

	mu      sync.RWMutex // guards everything in tenant
	tenant  tenant
	faults  atomic.Pointer[Faults]
	limiter limiter
	stats   stats
	notify  *notifier

	tokenKey []byte
	// graphHook, when set (tests), runs inside every Graph request after the
	// throttling slot was taken.
	graphHook atomic.Pointer[func(*http.Request)]
}

// New builds a simulator with an empty tenant.
func New(opts Options) *Server {
	opts.setDefaults()
	s := &Server{opts: opts, log: opts.Logger, mux: http.NewServeMux()}
	s.tokenKey = make([]byte, 32)
	rand.Read(s.tokenKey)
	s.tenant.init()
	s.faults.Store(&Faults{})
	s.limiter.active = map[string]int{}
	s.stats.byStatus = map[int]int64{}
	if opts.ClientSecret != "" {
		now := s.now()
		s.tenant.addSecret(&secret{
			KeyID: newGUID(), DisplayName: "graphsim", Text: opts.ClientSecret,
			Start: now.AddDate(-1, 0, 0), End: now.AddDate(1, 0, 0),
		})
	}
	s.notify = newNotifier(s)
	s.routes()
	return s
}

// Close stops background delivery. Pending retries are abandoned.
func (s *Server) Close() { s.notify.close() }

// now is the simulated time.
func (s *Server) now() time.Time {
	return s.opts.Now().Add(time.Duration(s.clockOffset.Load())).UTC()
}

// Now reports the simulated time (the base clock plus any advance).
func (s *Server) Now() time.Time { return s.now() }

// AdvanceClock moves the simulated clock forward by d and removes the
// subscriptions that lapsed.
func (s *Server) AdvanceClock(d time.Duration) time.Time {
	s.clockOffset.Add(int64(d))
	s.sweepSubscriptions()
	return s.now()
}

// TenantID is the simulated tenant's ID.
func (s *Server) TenantID() string { return s.opts.TenantID }

// ClientID is the simulated app registration's client ID.
func (s *Server) ClientID() string { return s.opts.ClientID }

func (s *Server) routes() {
	m := s.mux
	// Entra ID.
	m.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", s.handleOIDC)
	m.HandleFunc("GET /{tenant}/.well-known/openid-configuration", s.handleOIDC)
	m.HandleFunc("GET /common/discovery/instance", s.handleInstanceDiscovery)
	m.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.handleToken)
	m.HandleFunc("GET /{tenant}/discovery/v2.0/keys", s.handleKeys)

	// Graph.
	g := func(pattern string, h http.HandlerFunc) { m.Handle(pattern, s.graph(h)) }
	g("GET /v1.0/users", s.handleListUsers)
	g("GET /v1.0/users/{uid}", s.handleGetUser)
	g("GET /v1.0/users/{uid}/mailFolders", s.handleListTopFolders)
	g("GET /v1.0/users/{uid}/mailFolders/{fid}", s.handleGetFolder)
	g("GET /v1.0/users/{uid}/mailFolders/{fid}/childFolders", s.handleChildFolders)
	g("GET /v1.0/users/{uid}/messages", s.handleListMessages)
	g("GET /v1.0/users/{uid}/mailFolders/{fid}/messages", s.handleListMessages)
	g("GET /v1.0/users/{uid}/messages/{mid}", s.handleGetMessage)
	g("GET /v1.0/users/{uid}/mailFolders/{fid}/messages/{mid}", s.handleGetMessage)
	g("GET /v1.0/users/{uid}/mailFolders/{fid}/messages/delta", s.handleDelta)
	g("GET /v1.0/users/{uid}/mailFolders/{fid}/messages/delta()", s.handleDelta)
	for _, p := range []string{"/v1.0/users/{uid}/messages/{mid}", "/v1.0/users/{uid}/mailFolders/{fid}/messages/{mid}"} {
		g("GET "+p+"/attachments", s.handleListAttachments)
		g("GET "+p+"/attachments/{aid}", s.handleGetAttachment)
		g("GET "+p+"/attachments/{aid}/$value", s.handleAttachmentValue)
		g("GET "+p+"/$value", s.handleMessageValue)
	}
	g("POST /v1.0/subscriptions", s.handleCreateSubscription)
	g("GET /v1.0/subscriptions", s.handleListSubscriptions)
	g("GET /v1.0/subscriptions/{sid}", s.handleGetSubscription)
	g("PATCH /v1.0/subscriptions/{sid}", s.handlePatchSubscription)
	g("DELETE /v1.0/subscriptions/{sid}", s.handleDeleteSubscription)
	g("POST /v1.0/subscriptions/{sid}/reauthorize", s.handleReauthorize)
	g("GET /v1.0/applications", s.handleApplications)
	g("GET /v1.0/{appref}", s.handleApplicationByAppID) // applications(appId='…')
	s.controlRoutes()
}

// ServeHTTP implements http.Handler: it stamps request IDs, counts
// responses by status, accepts gzip request bodies (msgraph-sdk-go
// compresses them) and routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := newGUID()
	clientID := r.Header.Get("client-request-id")
	if clientID == "" {
		clientID = reqID
	}
	h := w.Header()
	h.Set("request-id", reqID)
	h.Set("client-request-id", clientID)
	h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") && r.Body != nil {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, "bad gzip body", http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(zr)
		r.Header.Del("Content-Encoding")
	}
	r.URL.Path = canonicalPath(r.URL.Path)
	r.URL.RawPath = ""
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	if _, pattern := s.mux.Handler(r); pattern == "" && strings.HasPrefix(r.URL.Path, "/v1.0/") {
		s.graphError(sw, r, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+lastSegment(r.URL.Path)+"'.")
	} else {
		s.mux.ServeHTTP(sw, r)
	}
	s.stats.countStatus(sw.status)
}

// canonicalPath fixes the case of the Graph path keywords (Graph's URLs are
// case-insensitive; IDs are not and are left alone).
func canonicalPath(p string) string {
	if !strings.HasPrefix(p, "/v1.0/") {
		return p
	}
	segs := strings.Split(p, "/")
	for i, sg := range segs {
		if c, ok := keywords[strings.ToLower(sg)]; ok {
			segs[i] = c
		}
	}
	return strings.Join(segs, "/")
}

var keywords = map[string]string{
	"users": "users", "mailfolders": "mailFolders", "childfolders": "childFolders",
	"messages": "messages", "attachments": "attachments", "delta": "delta", "delta()": "delta()",
	"subscriptions": "subscriptions", "reauthorize": "reauthorize", "applications": "applications",
	"$value": "$value",
}

func itoa(n int) string { return strconv.Itoa(n) }

func lastSegment(p string) string {
	if i := strings.LastIndex(p, "/"); i >= 0 {
		return p[i+1:]
	}
	return p
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

const odataJSON = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", odataJSON)
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// graphError answers in Graph's error shape.
func (s *Server) graphError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	h := w.Header()
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"code": code, "message": msg,
		"innerError": map[string]any{
			"date":              s.now().Format("2006-01-02T15:04:05"),
			"request-id":        h.Get("request-id"),
			"client-request-id": h.Get("client-request-id"),
		},
	}})
}

// decodeJSON reads a JSON request body (capped at 64 MB) into v.
func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<20))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode request body: %w", err)
	}
	return nil
}

// newGUID returns a random RFC 4122 version 4 UUID.
func newGUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// baseURL is the scheme and host the client used to reach this server.
func baseURL(r *http.Request) string {
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
	}
	return scheme + "://" + r.Host
}

// formatTime renders t as Graph does (UTC, seconds, Z).
func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// formatSubTime renders a subscription time with Graph's 7 fractional digits.
func formatSubTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000Z") }
