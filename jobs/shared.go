package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/grapherr"
	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/metrics"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/queue"
	"github.com/dedesales/exchange-connector/internal/store"
)

// The components below are shared by several handlers; NewHandlers builds
// each once, so that its cache is one for all of them.

// mailboxes loads the mailbox of a task, cached for mailboxTTL, and records
// on it what a failed Graph call means (graphFailure).
type mailboxes struct {
	st    *store.Store
	cache *ttlCache[int64, store.Mailbox]
}

func newMailboxes(st *store.Store) *mailboxes {
	return &mailboxes{st: st, cache: newTTLCache[int64, store.Mailbox](mailboxTTL)}
}

// syncable loads the mailbox of a task; ok is false (and the task is done)
// when it is not to be synced any more.
func (m *mailboxes) syncable(ctx context.Context, employeeID int64, log *slog.Logger) (store.Mailbox, bool, error) {
	if mb, ok := m.cache.get(employeeID); ok && mb.Syncable() {
		return mb, true, nil
	}
	mb, err := m.st.MailboxByEmployee(ctx, employeeID)
	if errors.Is(err, store.ErrNotFound) {
		log.Warn("no mailbox for this employee any more; dropping the task")
		return mb, false, nil
	}
	if err != nil {
		return mb, false, err
	}
	if !mb.Syncable() {
		log.Info("mailbox not synced; dropping the task", "state", mb.State())
		return mb, false, nil
	}
	m.cache.put(employeeID, mb)
	return mb, true, nil
}

// graphFailure decides what a failed Graph call means for the task.
func (m *mailboxes) graphFailure(ctx context.Context, mb store.Mailbox, err error, log *slog.Logger) error {
	switch {
	case errors.Is(err, grapherr.ErrAccessDenied):
		// Outside the app's scope: retrying the task cannot help; the
		// subscription upkeep re-checks the mailbox with back-off.
		log.Error("mailbox access denied; marking it and stopping", slog.Any("error", err))
		m.cache.forget(mb.EmployeeID)
		return m.st.MarkMailboxAccessDenied(ctx, mb.EmployeeID, err.Error())
	case errors.Is(err, grapherr.ErrUserNotFound):
		// Graph does not know the user (deleted, renamed): retrying cannot
		// help; the subscription upkeep looks the address up again and
		// re-checks with back-off.
		log.Error("mailbox not found at Graph; marking it and stopping", slog.Any("error", err))
		m.cache.forget(mb.EmployeeID)
		return m.st.MarkMailboxNotFound(ctx, mb.EmployeeID, err.Error())
	case errors.Is(err, grapherr.ErrNotFound):
		n, _ := asynq.GetRetryCount(ctx)
		if n < notFoundRetries {
			log.Info("message not found yet; retrying", "retry", n)
			return err
		}
		log.Warn("message not found after retries; the next delta round will pick it up if it exists", slog.Any("error", err))
		return nil
	case errors.Is(err, grapherr.ErrInvalid), errors.Is(err, grapherr.ErrForbidden):
		// Graph refused the request itself (a 4xx other than 401, 404, 410
		// and 429, or a 403 that is no access policy, such as a quota):
		// the same request fails the same way again, so it is
		// recorded where operators look and the task is not retried.
		log.Error("Graph refused the request; not retrying", slog.Any("error", err))
		if merr := m.st.SetMailboxError(ctx, mb.EmployeeID, err.Error()); merr != nil {
			log.Warn("recording the error on the mailbox failed", slog.Any("error", merr))
		}
		return permanent(err)
	default:
		return err // throttled (not a failure), transient, auth: retried with backoff
	}
}

// folders resolves a message's folder from the stored tree, cached for
// foldersTTL and refreshed from Graph when a folder is new.
type folders struct {
	st    *store.Store
	graph FolderReader
	cache *ttlCache[int64, []store.Folder]
}

func newFolders(st *store.Store, g FolderReader) *folders {
	return &folders{st: st, graph: g, cache: newTTLCache[int64, []store.Folder](foldersTTL)}
}

// path resolves a message's folder from the stored tree, refreshing the
// tree from Graph when the folder is new.
func (f *folders) path(ctx context.Context, mb store.Mailbox, folderID string) ([]model.FolderRef, error) {
	var err error
	tree, cached := f.cache.get(mb.EmployeeID)
	if !cached {
		if tree, err = f.st.Folders(ctx, mb.EmployeeID); err != nil {
			return nil, err
		}
		f.cache.put(mb.EmployeeID, tree)
	}
	if path, ok := folderTree(tree).Path(folderID); ok {
		return path, nil
	}
	if tree, err = f.refresh(ctx, mb); err != nil {
		return nil, err
	}
	if path, ok := folderTree(tree).Path(folderID); ok {
		return path, nil
	}
	// Not below msgfolderroot (e.g. a search folder): treat as a user folder.
	return nil, nil
}

// refresh reads the folder tree from Graph and stores it.
func (f *folders) refresh(ctx context.Context, mb store.Mailbox) ([]store.Folder, error) {
	tree, err := f.graph.FolderTree(ctx, mb.GraphRef())
	if err != nil {
		return nil, err
	}
	if err := f.st.ReplaceFolders(ctx, mb.EmployeeID, tree); err != nil {
		return nil, err
	}
	stored, err := f.st.Folders(ctx, mb.EmployeeID)
	if err != nil {
		return nil, err
	}
	f.cache.put(mb.EmployeeID, stored)
	return stored, nil
}

// rulesCache keeps the compiled matching rules for a short while, so that
// settings are not read for every message.
type rulesCache struct {
	st    *store.Store
	mu    sync.Mutex
	rules *match.Rules
	at    time.Time
}

const rulesTTL = 30 * time.Second

func newRulesCache(st *store.Store) *rulesCache { return &rulesCache{st: st} }

// get returns the rules, compiled at most rulesTTL ago.
func (c *rulesCache) get(ctx context.Context) (*match.Rules, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rules != nil && time.Since(c.at) < rulesTTL {
		return c.rules, nil
	}
	r, err := compileRules(ctx, c.st)
	if err != nil {
		return nil, err
	}
	c.rules, c.at = r, time.Now()
	return r, nil
}

// fresh compiles the matching rules from the database, bypassing (and
// refreshing) the cache.
func (c *rulesCache) fresh(ctx context.Context) (*match.Rules, error) {
	r, err := compileRules(ctx, c.st)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.rules, c.at = r, time.Now()
	c.mu.Unlock()
	return r, nil
}

// compileRules builds the matching rules from the stored settings and
// employees.
func compileRules(ctx context.Context, st *store.Store) (*match.Rules, error) {
	settings, err := st.Settings(ctx)
	if err != nil {
		return nil, err
	}
	employees, err := st.EmployeeAddresses(ctx)
	if err != nil {
		return nil, err
	}
	return match.NewRules(settings, employees), nil
}

// importer matches a message of a mailbox and records the result; the one
// path of notified messages, delta rounds and retroactive imports.
type importer struct {
	st      *store.Store
	folders *folders
	rules   *rulesCache
	// filing queues the filing of attachments; nil when filing is off.
	filing  *filingQueue
	metrics *metrics.Metrics
}

// importMessage matches a message with the cached rules and records it.
// notifiedAt is when its change notification came (zero: it came otherwise).
func (im *importer) importMessage(ctx context.Context, mb store.Mailbox, msg *model.Message, note string, notifiedAt time.Time) (store.RecordResult, error) {
	rules, err := im.rules.get(ctx)
	if err != nil {
		return store.RecordResult{}, err
	}
	return im.importWithRules(ctx, mb, msg, rules, note, "", notifiedAt)
}

// importWithRules is importMessage with the given rules; cause, when set,
// names the change that made this a retroactive decision (rematch).
func (im *importer) importWithRules(ctx context.Context, mb store.Mailbox, msg *model.Message, rules *match.Rules, note, cause string, notifiedAt time.Time) (store.RecordResult, error) {
	folder, err := im.folders.path(ctx, mb, msg.ParentFolderID)
	if err != nil {
		return store.RecordResult{}, err
	}
	in := &match.Input{Message: *msg, Mailbox: mb.Address, OwnerAddresses: []string{mb.Email}, Folder: folder, Rules: rules}
	prep := match.Prepare(in)
	d := prep.Decision
	if !prep.Done {
		l, err := im.st.Lookup(ctx, prep)
		if err != nil {
			return store.RecordResult{}, err
		}
		d = match.Decide(in, prep, l)
	}
	res, err := im.st.RecordMessage(ctx, store.MessageRecord{EmployeeID: mb.EmployeeID, Message: *msg, Folder: folder, Decision: d, Note: note, Cause: cause,
		NotifiedAt: notifiedAt})
	if err != nil {
		return res, err
	}
	if im.metrics != nil {
		reason := d.Reason
		if res.MovedAway {
			reason = metrics.ReasonMovedAway // kept imported, not excluded_folder
		}
		im.metrics.Decisions.WithLabelValues(res.Outcome, reason).Inc()
		if !notifiedAt.IsZero() {
			im.metrics.NotificationLatency.Observe(max(time.Since(notifiedAt).Seconds(), 0))
		}
	}
	return res, im.filing.enqueue(ctx, mb, msg, res, d.CustomerID)
}

// filingQueue queues the filing of an imported message's attachments.
type filingQueue struct {
	enqueuer Enqueuer
	now      func() time.Time
}

// enqueue queues the filing of a message's attachments. Only the mailbox
// that created the activity files them; a nil queue (filing off) queues
// nothing.
func (q *filingQueue) enqueue(ctx context.Context, mb store.Mailbox, msg *model.Message, res store.RecordResult, customerID *int64) error {
	if q == nil || !res.NewActivity || !msg.HasAttachments || customerID == nil {
		return nil
	}
	pl := queue.FileAttachmentsPayload{EmployeeID: mb.EmployeeID, MessageID: msg.ID, ActivityID: res.ActivityID,
		CustomerID: *customerID, Subject: msg.Subject}
	if r := msg.From; r != nil {
		pl.SenderName, pl.SenderAddress = r.EmailAddress.Name, r.EmailAddress.Address
	}
	switch {
	case msg.SentDateTime != nil:
		pl.Date = *msg.SentDateTime
	case msg.ReceivedDateTime != nil:
		pl.Date = *msg.ReceivedDateTime
	default:
		pl.Date = q.now()
	}
	t, err := queue.NewFileAttachmentsTask(pl)
	if err != nil {
		return err
	}
	if _, err := q.enqueuer.EnqueueContext(ctx, t); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("queueing the attachments: %w", err)
	}
	return nil
}
