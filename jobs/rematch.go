package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/grapherr"
	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/queue"
	"github.com/dedesales/exchange-connector/internal/store"
)

// Retroactive matching (DESIGN §11): when master data or settings change,
// the ignored decisions of the last backfill_days whose reason the change
// can affect are decided again from what they stored, without asking Graph;
// the ones that now match are fetched and imported like new mail.
const (
	// TypeRematch decides the affected ignored decisions again and queues a
	// TypeRematchMessage task for each that now matches.
	TypeRematch = "crm:rematch"
	// TypeRematchMessage fetches one message that now matches and imports it
	// through the same path as a notified message.
	TypeRematchMessage = "crm:rematch-message"
)

// DefaultRematchWindow is how long rematch requests collapse into one task.
const DefaultRematchWindow = 15 * time.Second

// rematchPage is how many decisions are decided again per round of look-ups.
const rematchPage = 1000

// RematchPayload asks for retroactive matching.
type RematchPayload struct {
	// Cause names the change ("contact 42 saved via the API", "import crm.json").
	Cause string `json:"cause"`
	// Since bounds the decisions by when they were made; zero means
	// backfill_days before the task runs.
	Since time.Time `json:"since,omitzero"`
	// RequestedAt is when the first request of the window came.
	RequestedAt time.Time `json:"requested_at"`
}

// NewRematchTask builds the rematch task of a request made at now. Requests
// within one window share a task ID, so that a burst of changes (a bulk
// import, many API writes) is one rematch that runs when the window ends and
// sees all of them; its cause is the first request's.
func NewRematchTask(p RematchPayload, now time.Time, window time.Duration) (*asynq.Task, error) {
	if window <= 0 {
		window = DefaultRematchWindow
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("jobs: %s payload: %w", TypeRematch, err)
	}
	slot := now.UTC().Truncate(window)
	id := queue.TaskID("rematch", slot.Format(time.RFC3339Nano), p.Since.UTC().Format(time.RFC3339))
	return asynq.NewTask(TypeRematch, b, asynq.TaskID(id), asynq.Queue(queue.QueueDefault), asynq.ProcessAt(slot.Add(window)),
		asynq.MaxRetry(5), asynq.Timeout(30*time.Minute)), nil
}

// Rematcher requests retroactive matching by queueing a TypeRematch task;
// the API, `connector import` and `connector settings set` call it after a
// change. It never does the work in the caller's request.
type Rematcher struct {
	Enqueuer Enqueuer
	// Window collapses requests (default DefaultRematchWindow).
	Window time.Duration
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// RequestRematch queues a rematch for a change; a request that falls into
// the window of a queued one is part of it.
func (r *Rematcher) RequestRematch(ctx context.Context, cause string) error {
	now := time.Now()
	if r.Now != nil {
		now = r.Now()
	}
	t, err := NewRematchTask(RematchPayload{Cause: cause, RequestedAt: now.UTC()}, now, r.Window)
	if err != nil {
		return err
	}
	if _, err := r.Enqueuer.EnqueueContext(ctx, t); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("jobs: requesting a rematch: %w", err)
	}
	return nil
}

// RematchMessagePayload names a message that now matches.
type RematchMessagePayload struct {
	EmployeeID int64     `json:"employee_id"`
	MessageID  string    `json:"message_id"`
	Cause      string    `json:"cause"`
	Requested  time.Time `json:"requested_at"`
}

// NewRematchMessageTask builds the import task of a message that now
// matches. Rematches of one request share its task ID, so a message is
// queued once however often the decisions are scanned while it waits.
func NewRematchMessageTask(p RematchMessagePayload) (*asynq.Task, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("jobs: %s payload: %w", TypeRematchMessage, err)
	}
	id := queue.TaskID("rematch-msg", fmt.Sprint(p.EmployeeID), p.MessageID)
	return asynq.NewTask(TypeRematchMessage, b, asynq.TaskID(id), asynq.Queue(queue.QueueDefault), asynq.MaxRetry(12)), nil
}

// RematchHit is a stored ignored decision that now matches.
type RematchHit struct {
	Stored store.StoredDecision
	Now    match.Decision
}

// RematchStats counts what a rematch saw.
type RematchStats struct {
	// Scanned decisions, of which Matched now match; Unknown are internal
	// decisions made before raw candidates were recorded, which cannot be
	// decided again from what they stored.
	Scanned, Matched, Unknown int
}

// PlanRematch decides every affected ignored decision made since since
// again, from what it stored and the current master data and settings, and
// calls hit for each that now matches. It reads the decisions page by page
// in keyset order and looks up each page's addresses and domains together;
// it makes no Graph request and writes nothing.
func PlanRematch(ctx context.Context, st *store.Store, since time.Time, hit func(RematchHit) error) (RematchStats, error) {
	var stats RematchStats
	rules, err := compileRules(ctx, st)
	if err != nil {
		return stats, err
	}
	var cursor store.RematchCursor
	prepared := make([]match.Prepared, 0, rematchPage)
	for {
		page, next, err := st.RematchPage(ctx, since, cursor, rematchPage)
		if err != nil {
			return stats, err
		}
		if len(page) == 0 {
			return stats, nil
		}
		if !after(next, cursor) {
			return stats, fmt.Errorf("jobs: rematch: the decisions' order did not advance at %+v", cursor)
		}
		cursor = next
		stats.Scanned += len(page)
		prepared = prepared[:0]
		var addresses, domains []string
		for _, d := range page {
			if d.Reason == match.ReasonInternal && d.Raw == nil {
				stats.Unknown++
			}
			p := match.PrepareStored(rules, d.Stored())
			prepared = append(prepared, p)
			if !p.Done {
				addresses = append(addresses, p.Addresses...)
				domains = append(domains, p.Domains...)
			}
		}
		if len(addresses) == 0 && len(domains) == 0 {
			continue
		}
		l, err := st.LookupMany(ctx, addresses, domains)
		if err != nil {
			return stats, err
		}
		for i, p := range prepared {
			if p.Done {
				continue
			}
			if d := match.Decide(&match.Input{Rules: rules}, p, l); d.Imported() {
				stats.Matched++
				if err := hit(RematchHit{Stored: page[i], Now: d}); err != nil {
					return stats, err
				}
			}
		}
	}
}

// after reports whether cursor a lies after b in the keyset order.
func after(a, b store.RematchCursor) bool {
	return a.CreatedAt.After(b.CreatedAt) || a.CreatedAt.Equal(b.CreatedAt) && a.ID > b.ID
}

// RematchHandler handles TypeRematch: it decides the affected ignored
// decisions again and queues the import of each that now matches.
type RematchHandler struct {
	st       *store.Store
	enqueuer Enqueuer
	now      func() time.Time
	log      *slog.Logger
}

// ProcessTask runs one rematch.
func (h *RematchHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var pl RematchPayload
	if err := json.Unmarshal(t.Payload(), &pl); err != nil {
		return fmt.Errorf("%s: bad payload: %v: %w", TypeRematch, err, asynq.SkipRetry)
	}
	log := h.log.With("task", TypeRematch, "cause", pl.Cause)
	since := pl.Since
	if since.IsZero() {
		settings, err := h.st.Settings(ctx)
		if err != nil {
			return err
		}
		since = h.now().AddDate(0, 0, -settings.BackfillDays)
	}
	start := time.Now()
	stats, err := PlanRematch(ctx, h.st, since, func(hit RematchHit) error {
		return EnqueueRematchMessage(ctx, h.enqueuer, hit, pl.Cause, pl.RequestedAt)
	})
	if err != nil {
		return err
	}
	log.Info("rematch done", "since", since, "scanned", stats.Scanned, "matched", stats.Matched,
		"undecidable_internal", stats.Unknown, "duration", time.Since(start))
	return nil
}

// EnqueueRematchMessage queues the import of a message that now matches.
func EnqueueRematchMessage(ctx context.Context, q Enqueuer, h RematchHit, cause string, requested time.Time) error {
	t, err := NewRematchMessageTask(RematchMessagePayload{EmployeeID: h.Stored.EmployeeID, MessageID: h.Stored.GraphMessageID,
		Cause: cause, Requested: requested})
	if err != nil {
		return err
	}
	if _, err := q.EnqueueContext(ctx, t); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("queueing the import of %s: %w", h.Stored.GraphMessageID, err)
	}
	return nil
}

// RematchMessageHandler handles TypeRematchMessage.
type RematchMessageHandler struct {
	st        *store.Store
	graph     MessageReader
	mailboxes *mailboxes
	importer  *importer
	log       *slog.Logger
}

// ProcessTask fetches a message that now matches and imports it
// like a notified message (activity, lead and opportunity, attachments),
// deciding it once more with the current rules: the message may have been
// moved or the master data changed again since the scan. The history
// records the retroactive decision and its cause.
func (h *RematchMessageHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var pl RematchMessagePayload
	if err := json.Unmarshal(t.Payload(), &pl); err != nil {
		return fmt.Errorf("%s: bad payload: %v: %w", TypeRematchMessage, err, asynq.SkipRetry)
	}
	log := h.log.With("task", TypeRematchMessage, "employee_id", pl.EmployeeID, "message_id", pl.MessageID, "cause", pl.Cause)
	mb, ok, err := h.mailboxes.syncable(ctx, pl.EmployeeID, log)
	if err != nil || !ok {
		return err
	}
	msg, err := h.graph.Message(ctx, mb.GraphRef(), pl.MessageID)
	if errors.Is(err, grapherr.ErrNotFound) {
		if n, _ := asynq.GetRetryCount(ctx); n >= notFoundRetries {
			log.Warn("a message that now matches is gone from the mailbox", slog.Any("error", err))
			return h.st.AddDecisionNote(ctx, pl.EmployeeID, pl.MessageID,
				fmt.Sprintf("retroactive import after a change (%s) failed: the message is no longer in the mailbox", pl.Cause))
		}
	}
	if err != nil {
		return h.mailboxes.graphFailure(ctx, mb, err, log)
	}
	// The rules fresh from the database: the cached ones may predate the change.
	rules, err := h.importer.rules.fresh(ctx)
	if err != nil {
		return err
	}
	cause := pl.Cause
	if !pl.Requested.IsZero() {
		cause += " at " + pl.Requested.UTC().Format(time.RFC3339)
	}
	res, err := h.importer.importWithRules(ctx, mb, msg, rules, "rematch", cause, time.Time{})
	if err != nil {
		return h.mailboxes.graphFailure(ctx, mb, err, log)
	}
	log.Info("message decided again", "outcome", res.Outcome, "activity_id", res.ActivityID)
	return nil
}
