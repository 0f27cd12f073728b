package jobs

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/clientstate"
	"github.com/dedesales/exchange-connector/internal/documents"
	"github.com/dedesales/exchange-connector/internal/grapherr"
	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/metrics"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/store"
)

// Graph is what the jobs ask of Microsoft Graph (internal/graph.Client).
type Graph interface {
	Message(ctx context.Context, mailbox, id string) (*model.Message, error)
	FolderTree(ctx context.Context, mailbox string) ([]model.MailFolder, error)
	Delta(ctx context.Context, mailbox, folderID, link string, since time.Time) (model.DeltaPage, error)
	CreateSubscription(ctx context.Context, s model.Subscription) (model.Subscription, error)
	RenewSubscription(ctx context.Context, id string, expires time.Time) (model.Subscription, error)
	ReauthorizeSubscription(ctx context.Context, id string) error
	DeleteSubscription(ctx context.Context, id string) error
}

// Enqueuer enqueues follow-up tasks (*asynq.Client).
type Enqueuer interface {
	EnqueueContext(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// Deps are what the task handlers need.
type Deps struct {
	Store    *store.Store
	Graph    Graph
	Enqueuer Enqueuer
	// Keys sign the clientState of new subscriptions.
	Keys clientstate.Keys
	// PublicURL is the HTTPS base Graph posts notifications to.
	PublicURL string
	Log       *slog.Logger
	// Now is the clock (tests move it); nil means time.Now.
	Now func() time.Time
	// SubscriptionLifetime (default 6.5 days; Graph allows 7 for mail),
	// RenewBefore (default 24 h) and SweepEvery (default 30 min) tune the
	// subscription and safety-net sync schedule.
	SubscriptionLifetime time.Duration
	RenewBefore          time.Duration
	SweepEvery           time.Duration

	// Documents is where attachments are filed; nil turns filing off.
	Documents documents.Store
	// Files reads attachments from Graph (internal/graph.Client).
	Files Attachments
	// Locks serialises the filing of one customer's thread.
	Locks Locker
	// SpoolDir holds attachments while they stream through (default the
	// system's temporary directory).
	SpoolDir string
	// Location is the time zone of folder names (default Europe/Berlin).
	Location *time.Location

	// Alerts raises and clears alerts; nil turns the health check off.
	Alerts Alerts
	// Secrets reads the secrets' end dates from Graph (optional).
	Secrets SecretDates
	// Dead reports tasks archived after their last retry (optional).
	Dead DeadTasks
	// Metrics, when set, count tasks, decisions and the health gauges.
	Metrics *metrics.Metrics
}

// Processor handles every task type; Register wires it into a mux.
type Processor struct {
	Deps
	rules rulesCache
	// Per-message reads of what rarely changes are cached briefly: the
	// mailbox (a disable takes effect within mailboxTTL), its folder tree
	// (refreshed at once when a message names an unknown folder), and when
	// a subscription's last notification was recorded.
	mailboxes *ttlCache[int64, store.Mailbox]
	folders   *ttlCache[int64, []store.Folder]
	touched   *ttlCache[string, bool]
	// subscriptions confirms that a notification's subscription is the
	// mailbox's current one (subscription_check.go).
	subscriptions *subscriptionGate
}

const (
	mailboxTTL = 10 * time.Second
	foldersTTL = 5 * time.Minute
	touchEvery = time.Minute
)

// NewProcessor fills in defaults.
func NewProcessor(d Deps) *Processor {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.SubscriptionLifetime == 0 {
		d.SubscriptionLifetime = 156 * time.Hour
	}
	if d.RenewBefore == 0 {
		d.RenewBefore = 24 * time.Hour
	}
	if d.SweepEvery == 0 {
		d.SweepEvery = 30 * time.Minute
	}
	if d.Location == nil {
		if loc, err := time.LoadLocation("Europe/Berlin"); err == nil {
			d.Location = loc
		} else {
			d.Location = time.UTC
		}
	}
	return &Processor{Deps: d, mailboxes: newTTLCache[int64, store.Mailbox](mailboxTTL),
		folders: newTTLCache[int64, []store.Folder](foldersTTL), touched: newTTLCache[string, bool](touchEvery),
		subscriptions: newSubscriptionGate(d.Store.SubscriptionOf)}
}

// Register adds every task handler to mux.
func Register(mux *asynq.ServeMux, p *Processor) {
	if p.Metrics != nil {
		mux.Use(p.observe)
	}
	mux.HandleFunc(TypeProcessMessage, p.HandleProcessMessage)
	mux.HandleFunc(TypeLifecycle, p.HandleLifecycle)
	mux.HandleFunc(TypeSyncMailbox, p.HandleSyncMailbox)
	mux.HandleFunc(TypeEnsureSubscriptions, p.HandleEnsureSubscriptions)
	mux.HandleFunc(TypeFileAttachments, p.HandleFileAttachments)
	mux.HandleFunc(TypeHealthCheck, p.HandleHealthCheck)
}

// IsFailure tells asynq which errors count as failures: throttling by Graph
// does not (the task is simply retried after Retry-After).
func IsFailure(err error) bool {
	return !errors.Is(err, grapherr.ErrThrottled)
}

// RetryDelay is asynq's RetryDelayFunc: Graph's Retry-After when throttled,
// a short schedule for messages not found yet, asynq's default otherwise.
func RetryDelay(n int, err error, t *asynq.Task) time.Duration {
	if d, ok := grapherr.RetryAfter(err); ok {
		return max(d, time.Second)
	}
	if errors.Is(err, grapherr.ErrNotFound) {
		return time.Duration(10*(n+1)) * time.Second
	}
	if errors.Is(err, documents.ErrAuth) {
		return 10 * time.Minute // an operator must fix the credentials; no retry storm
	}
	return asynq.DefaultRetryDelayFunc(n, err, t)
}

// rulesCache keeps the compiled matching rules for a short while, so that
// settings are not read for every message.
type rulesCache struct {
	mu    sync.Mutex
	rules *match.Rules
	at    time.Time
}

const rulesTTL = 30 * time.Second

func (p *Processor) matchRules(ctx context.Context) (*match.Rules, error) {
	p.rules.mu.Lock()
	defer p.rules.mu.Unlock()
	if p.rules.rules != nil && time.Since(p.rules.at) < rulesTTL {
		return p.rules.rules, nil
	}
	settings, err := p.Store.Settings(ctx)
	if err != nil {
		return nil, err
	}
	employees, err := p.Store.EmployeeAddresses(ctx)
	if err != nil {
		return nil, err
	}
	p.rules.rules, p.rules.at = match.NewRules(settings, employees), time.Now()
	return p.rules.rules, nil
}

// observe counts every task by type and outcome and times it.
func (p *Processor) observe(next asynq.Handler) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		start := time.Now()
		err := next.ProcessTask(ctx, t)
		outcome := "ok"
		switch {
		case errors.Is(err, grapherr.ErrThrottled):
			outcome = "throttled"
		case err != nil:
			outcome = "error"
		}
		p.Metrics.TasksProcessed.WithLabelValues(t.Type(), outcome).Inc()
		p.Metrics.TaskDuration.WithLabelValues(t.Type()).Observe(time.Since(start).Seconds())
		return err
	})
}
