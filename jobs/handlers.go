// Package jobs holds the handlers of the connector's asynq tasks, one type
// per task with only the dependencies it uses, all built by NewHandlers and
// registered in one place (Register). The tasks themselves (types, queues,
// payloads, constructors) are defined in internal/queue, a leaf package, so
// that the webhook intake can enqueue them without importing the store; the
// tasks of retroactive matching, which only jobs enqueue, are defined here
// (rematch.go).
package jobs

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/clientstate"
	"github.com/dedesales/exchange-connector/internal/documents"
	"github.com/dedesales/exchange-connector/internal/grapherr"
	"github.com/dedesales/exchange-connector/internal/metrics"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/queue"
	"github.com/dedesales/exchange-connector/internal/store"
)

// What the handlers ask of Microsoft Graph (internal/graph.Client), split
// by what each handler uses.
type (
	// MessageReader reads one message (process-message, rematch-message).
	MessageReader interface {
		Message(ctx context.Context, mailbox, id string) (*model.Message, error)
	}
	// FolderReader reads a mailbox's folder tree (the folder cache).
	FolderReader interface {
		FolderTree(ctx context.Context, mailbox string) ([]model.MailFolder, error)
	}
	// DeltaReader runs delta rounds on a folder (sync-mailbox).
	DeltaReader interface {
		Delta(ctx context.Context, mailbox, folderID, link string, since time.Time) (model.DeltaPage, error)
		// ListReceived lists a folder's messages received in [since,
		// until] newest first (until zero: no bound), or follows link.
		ListReceived(ctx context.Context, mailbox, folderID, link string, since, until time.Time) (model.DeltaPage, error)
	}
	// SubscriptionManager manages change-notification subscriptions
	// (ensure-subscriptions, lifecycle).
	SubscriptionManager interface {
		CreateSubscription(ctx context.Context, s model.Subscription) (model.Subscription, error)
		RenewSubscription(ctx context.Context, id string, expires time.Time) (model.Subscription, error)
		ReauthorizeSubscription(ctx context.Context, id string) error
		DeleteSubscription(ctx context.Context, id string) error
	}
	// UserResolver finds the ID of the user with a mail address (primary
	// or alias) that Graph paths do not take, "" when there is none. Deps.Graph
	// provides it optionally (internal/graph does).
	UserResolver interface {
		ResolveUser(ctx context.Context, address string) (string, error)
	}
	// Graph is all of the above: what Deps.Graph must provide.
	Graph interface {
		MessageReader
		FolderReader
		DeltaReader
		SubscriptionManager
	}
)

// Enqueuer enqueues follow-up tasks (*asynq.Client).
type Enqueuer interface {
	EnqueueContext(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// Deps are everything the handlers need together; NewHandlers gives each
// handler only its part.
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
	// SubscriptionLifetime (default 6.5 days; at most MaxSubscriptionLifetime,
	// as Graph refuses more than 10,070 minutes for mail),
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
	// UpkeepLock makes the subscription upkeep run one round at a time
	// across all worker processes (each enqueues a round at its start);
	// nil: no lock (one process).
	UpkeepLock Locker
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

// Handlers are the handlers of the connector's tasks, one type per task
// type, each holding only what it uses. What several of them share (the
// mailbox and folder-tree caches, the matching rules, the subscription
// gate, the import path) is a small component built once by NewHandlers
// and given to those that need it.
type Handlers struct {
	Message             *MessageHandler             // TypeProcessMessage
	Lifecycle           *LifecycleHandler           // TypeLifecycle
	Sync                *SyncHandler                // TypeSyncMailbox
	EnsureSubscriptions *EnsureSubscriptionsHandler // TypeEnsureSubscriptions
	FileAttachments     *FileAttachmentsHandler     // TypeFileAttachments
	Health              *HealthHandler              // TypeHealthCheck
	Rematch             *RematchHandler             // TypeRematch
	RematchMessage      *RematchMessageHandler      // TypeRematchMessage

	// metrics, when set, counts and times every task (Register).
	metrics *metrics.Metrics
}

// Per-message reads of what rarely changes are cached briefly: the mailbox
// (a disable takes effect within mailboxTTL), its folder tree (refreshed at
// once when a message names an unknown folder), and when a subscription's
// last notification was recorded.
const (
	mailboxTTL = 10 * time.Second
	foldersTTL = 5 * time.Minute
	touchEvery = time.Minute
)

// withDefaults fills in the defaults of Deps.
func withDefaults(d Deps) Deps {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.SubscriptionLifetime == 0 {
		d.SubscriptionLifetime = 156 * time.Hour
	}
	if d.SubscriptionLifetime > MaxSubscriptionLifetime {
		d.SubscriptionLifetime = MaxSubscriptionLifetime // Graph refuses longer ones
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
	return d
}

// NewHandlers fills in defaults and builds every handler with its part of d
// and the shared components.
func NewHandlers(d Deps) *Handlers {
	d = withDefaults(d)
	mbs := newMailboxes(d.Store)
	gate := newSubscriptionGate(d.Store.SubscriptionOf, d.Metrics)
	rules := newRulesCache(d.Store)
	var filing *filingQueue
	if d.Documents != nil {
		filing = &filingQueue{enqueuer: d.Enqueuer, now: d.Now}
	}
	fs := newFolders(d.Store, d.Graph)
	imp := &importer{st: d.Store, folders: fs, rules: rules, filing: filing, metrics: d.Metrics}
	subs := &subscriber{st: d.Store, graph: d.Graph, enqueuer: d.Enqueuer, keys: d.Keys, publicURL: d.PublicURL,
		now: d.Now, lifetime: d.SubscriptionLifetime, metrics: d.Metrics}
	if r, ok := d.Graph.(UserResolver); ok {
		subs.users = r
	}
	return &Handlers{
		Message: &MessageHandler{st: d.Store, graph: d.Graph, mailboxes: mbs, subscriptions: gate,
			touched: newTTLCache[string, bool](touchEvery), importer: imp, syncs: subs, log: d.Log},
		Lifecycle: &LifecycleHandler{graph: d.Graph, mailboxes: mbs, subscriptions: gate, subscriber: subs,
			metrics: d.Metrics, log: d.Log},
		Sync: &SyncHandler{st: d.Store, graph: d.Graph, mailboxes: mbs, folders: fs, importer: imp, now: d.Now, log: d.Log},
		EnsureSubscriptions: &EnsureSubscriptionsHandler{st: d.Store, graph: d.Graph, subscriber: subs, now: d.Now,
			renewBefore: d.RenewBefore, sweepEvery: d.SweepEvery, lock: d.UpkeepLock, log: d.Log},
		FileAttachments: &FileAttachmentsHandler{st: d.Store, files: d.Files, documents: d.Documents, locks: d.Locks,
			spoolDir: d.SpoolDir, location: d.Location, mailboxes: mbs, metrics: d.Metrics, log: d.Log},
		Health: &HealthHandler{st: d.Store, alerts: d.Alerts, secrets: d.Secrets, dead: d.Dead, metrics: d.Metrics,
			now: d.Now, log: d.Log},
		Rematch:        &RematchHandler{st: d.Store, enqueuer: d.Enqueuer, now: d.Now, log: d.Log},
		RematchMessage: &RematchMessageHandler{st: d.Store, graph: d.Graph, mailboxes: mbs, importer: imp, log: d.Log},
		metrics:        d.Metrics,
	}
}

// Register adds every task handler to mux.
func Register(mux *asynq.ServeMux, h *Handlers) {
	if h.metrics != nil {
		mux.Use(observe(h.metrics))
	}
	mux.Handle(queue.TypeProcessMessage, h.Message)
	mux.Handle(queue.TypeLifecycle, h.Lifecycle)
	mux.Handle(queue.TypeSyncMailbox, h.Sync)
	mux.Handle(queue.TypeEnsureSubscriptions, h.EnsureSubscriptions)
	mux.Handle(queue.TypeFileAttachments, h.FileAttachments)
	mux.Handle(queue.TypeHealthCheck, h.Health)
	mux.Handle(TypeRematch, h.Rematch)
	mux.Handle(TypeRematchMessage, h.RematchMessage)
}

// observe counts every task by type and outcome and times it.
func observe(m *metrics.Metrics) asynq.MiddlewareFunc {
	return func(next asynq.Handler) asynq.Handler {
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
			m.TasksProcessed.WithLabelValues(t.Type(), outcome).Inc()
			m.TaskDuration.WithLabelValues(t.Type()).Observe(time.Since(start).Seconds())
			return err
		})
	}
}
