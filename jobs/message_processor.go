package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/grapherr"
	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/store"
)

// notFoundRetries is how often a notified message that Graph cannot find
// (a draft already sent, a message moved on) is tried again before the
// next delta round is left to pick it up.
const notFoundRetries = 3

// HandleProcessMessage fetches a notified message, matches it and stores
// the decision and, when it belongs in the CRM, the activity.
func (p *Processor) HandleProcessMessage(ctx context.Context, t *asynq.Task) error {
	var pl ProcessMessagePayload
	if err := json.Unmarshal(t.Payload(), &pl); err != nil {
		return fmt.Errorf("%s: bad payload: %v: %w", TypeProcessMessage, err, asynq.SkipRetry)
	}
	log := p.Log.With("task", TypeProcessMessage, "employee_id", pl.EmployeeID, "message_id", pl.MessageID)
	mb, ok, err := p.syncableMailbox(ctx, pl.EmployeeID, log)
	if err != nil || !ok {
		return err
	}
	if ok, err := p.fromCurrentSubscription(ctx, TypeProcessMessage, pl.EmployeeID, pl.SubscriptionID, log); err != nil || !ok {
		return err
	}
	if _, done := p.touched.get(pl.SubscriptionID); !done {
		if err := p.Store.TouchSubscription(ctx, pl.SubscriptionID, pl.NotifiedAt); err != nil {
			log.Warn("recording the notification time failed", slog.Any("error", err))
		} else {
			p.touched.put(pl.SubscriptionID, true)
		}
	}
	msg, err := p.Graph.Message(ctx, mb.Address, pl.MessageID)
	if err != nil {
		return p.graphFailure(ctx, mb, err, log)
	}
	res, err := p.importMessage(ctx, mb, msg, "notification")
	if err != nil {
		return p.graphFailure(ctx, mb, err, log)
	}
	log.Info("message processed", "outcome", res.Outcome, "activity_id", res.ActivityID)
	return nil
}

// graphFailure decides what a failed Graph call means for the task.
func (p *Processor) graphFailure(ctx context.Context, mb store.Mailbox, err error, log *slog.Logger) error {
	switch {
	case errors.Is(err, grapherr.ErrAccessDenied):
		// Outside the app's scope: retrying cannot help until an operator acts.
		log.Error("mailbox access denied; marking it and stopping", slog.Any("error", err))
		p.mailboxes.forget(mb.EmployeeID)
		if merr := p.Store.MarkMailboxAccessDenied(ctx, mb.EmployeeID, err.Error()); merr != nil {
			return merr
		}
		return nil
	case errors.Is(err, grapherr.ErrNotFound):
		n, _ := asynq.GetRetryCount(ctx)
		if n < notFoundRetries {
			log.Info("message not found yet; retrying", "retry", n)
			return err
		}
		log.Warn("message not found after retries; the next delta round will pick it up if it exists", slog.Any("error", err))
		return nil
	case errors.Is(err, grapherr.ErrInvalid):
		// Graph refused the request itself (a 4xx other than 401, 403, 404,
		// 410 and 429): the same request fails the same way again, so it is
		// recorded where operators look and the task is not retried.
		log.Error("Graph refused the request; not retrying", slog.Any("error", err))
		if merr := p.Store.SetMailboxError(ctx, mb.EmployeeID, err.Error()); merr != nil {
			log.Warn("recording the error on the mailbox failed", slog.Any("error", merr))
		}
		return permanent(err)
	default:
		return err // throttled (not a failure), transient, auth: retried with backoff
	}
}

// permanent marks err as not worth retrying: asynq archives the task at
// once (the health check then reports it as a dead task).
func permanent(err error) error {
	return fmt.Errorf("%w (%w)", err, asynq.SkipRetry)
}

// syncableMailbox loads the mailbox of a task; ok is false (and the task is
// done) when it is not to be synced any more.
func (p *Processor) syncableMailbox(ctx context.Context, employeeID int64, log *slog.Logger) (store.Mailbox, bool, error) {
	if mb, ok := p.mailboxes.get(employeeID); ok && mb.Syncable() {
		return mb, true, nil
	}
	mb, err := p.Store.MailboxByEmployee(ctx, employeeID)
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
	p.mailboxes.put(employeeID, mb)
	return mb, true, nil
}

// importMessage matches a message of a mailbox and records the result;
// the same path for notifications and delta rounds.
func (p *Processor) importMessage(ctx context.Context, mb store.Mailbox, msg *model.Message, note string) (store.RecordResult, error) {
	rules, err := p.matchRules(ctx)
	if err != nil {
		return store.RecordResult{}, err
	}
	return p.importWithRules(ctx, mb, msg, rules, note, "")
}

// importWithRules is importMessage with the given rules; cause, when set,
// names the change that made this a retroactive decision (rematch).
func (p *Processor) importWithRules(ctx context.Context, mb store.Mailbox, msg *model.Message, rules *match.Rules, note, cause string) (store.RecordResult, error) {
	folder, err := p.folderPath(ctx, mb, msg.ParentFolderID)
	if err != nil {
		return store.RecordResult{}, err
	}
	in := &match.Input{Message: *msg, Mailbox: mb.Address, OwnerAddresses: []string{mb.Email}, Folder: folder, Rules: rules}
	prep := match.Prepare(in)
	d := prep.Decision
	if !prep.Done {
		l, err := p.Store.Lookup(ctx, prep)
		if err != nil {
			return store.RecordResult{}, err
		}
		d = match.Decide(in, prep, l)
	}
	res, err := p.Store.RecordMessage(ctx, store.MessageRecord{EmployeeID: mb.EmployeeID, Message: *msg, Folder: folder, Decision: d, Note: note, Cause: cause})
	if err != nil {
		return res, err
	}
	if p.Metrics != nil {
		p.Metrics.Decisions.WithLabelValues(res.Outcome, d.Reason).Inc()
	}
	return res, p.enqueueFiling(ctx, mb, msg, res, d.CustomerID)
}

// folderPath resolves a message's folder from the stored tree, refreshing
// the tree from Graph when the folder is new.
func (p *Processor) folderPath(ctx context.Context, mb store.Mailbox, folderID string) ([]model.FolderRef, error) {
	var err error
	tree, cached := p.folders.get(mb.EmployeeID)
	if !cached {
		if tree, err = p.Store.Folders(ctx, mb.EmployeeID); err != nil {
			return nil, err
		}
		p.folders.put(mb.EmployeeID, tree)
	}
	if path, ok := folderTree(tree).Path(folderID); ok {
		return path, nil
	}
	if tree, err = p.refreshFolders(ctx, mb); err != nil {
		return nil, err
	}
	if path, ok := folderTree(tree).Path(folderID); ok {
		return path, nil
	}
	// Not below msgfolderroot (e.g. a search folder): treat as a user folder.
	return nil, nil
}

func (p *Processor) refreshFolders(ctx context.Context, mb store.Mailbox) ([]store.Folder, error) {
	tree, err := p.Graph.FolderTree(ctx, mb.Address)
	if err != nil {
		return nil, err
	}
	if err := p.Store.ReplaceFolders(ctx, mb.EmployeeID, tree); err != nil {
		return nil, err
	}
	stored, err := p.Store.Folders(ctx, mb.EmployeeID)
	if err != nil {
		return nil, err
	}
	p.folders.put(mb.EmployeeID, stored)
	return stored, nil
}
