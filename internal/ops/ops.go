// Package ops serves the operators' pages under /ops: a status page (the
// mailboxes with their subscriptions and syncs, the client secret's expiry,
// open alerts, and a search over the matcher's decisions — "why is this mail
// (not) in the CRM?") and asynqmon's queue dashboard under /ops/queues.
//
// Every /ops path except the login form needs a session: a signed,
// HttpOnly, SameSite=Strict cookie issued for the operator password held
// (as a bcrypt hash) in CONNECTOR_OPS_PASSWORD_FILE. Without that file
// /ops answers 503 and explains how to set it; it is never open. Logouts
// are kept in Redis, so they hold in every web process and across restarts.
// Every state-changing request carries a per-session CSRF token, logins are
// rate-limited per client IP (behind trusted proxies: see IPExtractor) and
// the password checks running at once are capped, and the pages send a
// restrictive Content-Security-Policy (and HSTS when served over HTTPS).
package ops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/hibiken/asynq"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/dedesales/exchange-connector/internal/store"
)

// Prefix is the path under which Register mounts everything.
const Prefix = "/ops"

// DefaultSessionTTL is how long a login lasts when Deps.SessionTTL is zero.
const DefaultSessionTTL = 12 * time.Hour

// MinSessionKeyLen is the least number of bytes Deps.SessionKey must have.
const MinSessionKeyLen = 32

// DefaultMaxConcurrentLogins is how many password checks (bcrypt, about a
// quarter of a second of CPU each) may run at once when
// Deps.MaxConcurrentLogins is zero.
const DefaultMaxConcurrentLogins = 2

// Store is what the pages read from the database; *store.Store has it.
type Store interface {
	MailboxPage(ctx context.Context, q store.MailboxPageQuery) ([]store.MailboxPageRow, int, error)
	MailboxSummaries(ctx context.Context) (store.MailboxSummary, error)
	DecisionCountsOf(ctx context.Context, employeeIDs []int64) ([]store.MailboxOutcomeCount, error)
	ActiveCredentials(ctx context.Context) ([]store.Credential, error)
	SearchDecisions(ctx context.Context, q store.DecisionQuery) ([]store.DecisionHit, bool, error)
	DecisionByID(ctx context.Context, id int64) (store.DecisionHit, error)
	DecisionsOfMessage(ctx context.Context, internetMessageID string, limit int) ([]store.DecisionHit, error)
}

// OpenAlert is a condition an alert was sent about and that still holds.
type OpenAlert struct {
	Kind    string    // e.g. secret_expiry, access_denied, subscription_failed
	Subject string    // what it is about, e.g. a mailbox address
	Message string    // what the operator should know or do
	Since   time.Time // when the condition was first seen
}

// AlertSource lists the open alerts for the status page.
type AlertSource interface {
	OpenAlerts(ctx context.Context) ([]OpenAlert, error)
}

// Deps is what the pages need. Store and SessionKey are required once a
// password file is configured.
type Deps struct {
	// Store is the connector's database.
	Store Store
	// PasswordFile is CONNECTOR_OPS_PASSWORD_FILE: a bcrypt hash (see
	// HashPassword) or, discouraged, the password itself. Empty: /ops
	// answers 503 with instructions. It is re-read when it changes, and
	// changing it ends every session.
	PasswordFile string
	// SessionKey signs the session cookies (HMAC-SHA256), at least
	// MinSessionKeyLen bytes; derive it from the master key. Every web
	// process must have the same key.
	SessionKey []byte
	// SessionTTL is how long a login lasts; zero means DefaultSessionTTL.
	SessionTTL time.Duration
	// Redis keeps the logged-out sessions until they expire; required with
	// a password file. When it cannot be reached, sessions are refused.
	Redis redis.UniversalClient
	// HTTPS: the public URL is https://. Every cookie is then Secure and
	// the pages send Strict-Transport-Security, whatever the request says.
	HTTPS bool
	// MaxConcurrentLogins caps the password checks running at once across
	// all clients; more are answered 503 at once. Zero means
	// DefaultMaxConcurrentLogins.
	MaxConcurrentLogins int
	// RedisConnOpt is the queues' Redis for asynqmon. Nil: /ops/queues
	// answers 503.
	RedisConnOpt asynq.RedisConnOpt
	// QueuesWritable lets operators delete, run and archive tasks in
	// asynqmon; by default the dashboard is read-only.
	QueuesWritable bool
	// Alerts lists open alerts; nil shows none.
	Alerts AlertSource
	// Logger receives logins, failures and errors; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Handler serves /ops. Make it with New, mount it with Register, and Close
// it on shutdown.
type Handler struct {
	deps     Deps
	log      *slog.Logger
	now      func() time.Time
	password *passwordSource
	sessions *sessions
	limiter  *loginLimiter
	// loginSlots holds a token per password check running.
	loginSlots chan struct{}
	queues     *queues
}

// New checks deps and builds the handler. A configured password file must
// be readable and not empty, so that a mistake shows at start-up.
func New(deps Deps) (*Handler, error) {
	h := &Handler{deps: deps, log: deps.Logger, now: deps.Now}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.log = h.log.With("component", "ops")
	if h.now == nil {
		h.now = time.Now
	}
	if deps.PasswordFile == "" {
		return h, nil
	}
	if deps.Store == nil {
		return nil, errors.New("ops: Deps.Store is required")
	}
	if len(deps.SessionKey) < MinSessionKeyLen {
		return nil, fmt.Errorf("ops: Deps.SessionKey has %d bytes, want at least %d", len(deps.SessionKey), MinSessionKeyLen)
	}
	if deps.Redis == nil {
		return nil, errors.New("ops: Deps.Redis is required: logouts are kept there")
	}
	pw, err := newPasswordSource(deps.PasswordFile, h.log)
	if err != nil {
		return nil, err
	}
	h.password = pw
	ttl := deps.SessionTTL
	if ttl <= 0 {
		ttl = DefaultSessionTTL
	}
	h.sessions = newSessions(deps.SessionKey, ttl, h.now, deps.Redis)
	h.limiter = newLoginLimiter(h.now)
	slots := deps.MaxConcurrentLogins
	if slots <= 0 {
		slots = DefaultMaxConcurrentLogins
	}
	h.loginSlots = make(chan struct{}, slots)
	if deps.RedisConnOpt != nil {
		if h.queues, err = newQueues(deps.RedisConnOpt, deps.QueuesWritable); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// Register builds the handler and mounts it on e. The asynqmon Redis
// connections it opens live as long as the process; use New, Handler.Register
// and Handler.Close to close them earlier.
func Register(e *echo.Echo, deps Deps) error {
	h, err := New(deps)
	if err != nil {
		return err
	}
	h.Register(e)
	return nil
}

// Register mounts every /ops route on e.
func (h *Handler) Register(e *echo.Echo) {
	g := e.Group(Prefix, h.securityHeaders)
	if h.password == nil {
		h.log.Warn("the /ops pages are off: set CONNECTOR_OPS_PASSWORD_FILE to a file holding a bcrypt hash of the operator password")
		g.Any("", h.unconfigured)
		g.Any("/*", h.unconfigured)
		return
	}
	g.Use(h.authenticate, h.checkCSRF)
	g.GET("", func(c echo.Context) error { return c.Redirect(http.StatusSeeOther, Prefix+"/") })
	g.GET("/login", h.loginForm)
	g.POST("/login", h.login)
	g.POST("/logout", h.logout)
	g.GET("/", h.status)
	g.GET("/mailboxes", h.mailboxes)
	g.GET("/decisions", h.decisions)
	g.GET("/decisions/:id", h.decision)
	q := h.queuesHandler()
	g.Any("/queues", q)
	g.Any("/queues/*", q)
}

// Close releases asynqmon's Redis connections.
func (h *Handler) Close() error {
	if h.queues == nil {
		return nil
	}
	return h.queues.close()
}

// unconfigured answers every /ops request while no password file is set.
func (h *Handler) unconfigured(c echo.Context) error {
	return h.render(c, http.StatusServiceUnavailable, "unconfigured.html", page{Title: "Operator pages are not set up"})
}
