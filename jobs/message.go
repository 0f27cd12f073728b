package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/grapherr"
	"github.com/dedesales/exchange-connector/internal/queue"
	"github.com/dedesales/exchange-connector/internal/store"
)

// MessageHandler handles TypeProcessMessage: it fetches a notified message,
// matches it and stores the decision and, when it belongs in the CRM, the
// activity.
type MessageHandler struct {
	st            *store.Store
	graph         MessageReader
	mailboxes     *mailboxes
	subscriptions *subscriptionGate
	// touched remembers for touchEvery that a subscription's last
	// notification was recorded.
	touched  *ttlCache[string, bool]
	importer *importer
	// syncs requests a delta sync when a notified message stays not found.
	syncs *subscriber
	log   *slog.Logger
}

// ProcessTask handles one notified message.
func (h *MessageHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var pl queue.ProcessMessagePayload
	if err := json.Unmarshal(t.Payload(), &pl); err != nil {
		return fmt.Errorf("%s: bad payload: %v: %w", queue.TypeProcessMessage, err, asynq.SkipRetry)
	}
	log := h.log.With("task", queue.TypeProcessMessage, "employee_id", pl.EmployeeID, "message_id", pl.MessageID)
	mb, ok, err := h.mailboxes.syncable(ctx, pl.EmployeeID, log)
	if err != nil || !ok {
		return err
	}
	if ok, err := h.subscriptions.check(ctx, queue.TypeProcessMessage, pl.EmployeeID, pl.SubscriptionID, log); err != nil || !ok {
		return err
	}
	if _, done := h.touched.get(pl.SubscriptionID); !done {
		if err := h.st.TouchSubscription(ctx, pl.SubscriptionID, pl.NotifiedAt); err != nil {
			log.Warn("recording the notification time failed", slog.Any("error", err))
		} else {
			h.touched.put(pl.SubscriptionID, true)
		}
	}
	msg, err := h.graph.Message(ctx, mb.GraphRef(), pl.MessageID)
	if errors.Is(err, grapherr.ErrNotFound) {
		return h.notFoundYet(ctx, mb, err, log)
	}
	if err != nil {
		return h.mailboxes.graphFailure(ctx, mb, err, log)
	}
	res, err := h.importer.importMessage(ctx, mb, msg, "notification", pl.NotifiedAt)
	if err != nil {
		return h.mailboxes.graphFailure(ctx, mb, err, log)
	}
	if res.MovedAway {
		log.Info("imported message moved to a folder whose mail is not imported; kept imported, move recorded in its history",
			"outcome", res.Outcome, "activity_id", res.ActivityID, "folder_id", msg.ParentFolderID)
		return nil
	}
	log.Info("message processed", "outcome", res.Outcome, "activity_id", res.ActivityID)
	return nil
}
