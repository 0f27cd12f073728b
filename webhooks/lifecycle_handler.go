package webhooks

import (
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/labstack/echo/v4"

	"github.com/dedesales/exchange-connector/internal/metrics"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/queue"
)

// handleLifecycle serves POST /graph/lifecycle (lifecycle events and their
// validation handshake).
func (h *Handler) handleLifecycle(c echo.Context) error {
	return h.intake(c, PathLifecycle)
}

// isLifecycle reports whether an item is a lifecycle event: it names one in
// lifecycleEvent, or it is the older Outlook REST "missed" shape
// (changeType "Missed" and no lifecycleEvent).
func isLifecycle(n *changeNotification) bool {
	return n.LifecycleEvent != "" || strings.EqualFold(n.ChangeType, model.EventMissed)
}

// lifecycleTask turns a lifecycle event into a lifecycle task for the
// employee its clientState names, or says why it is dropped.
func (h *Handler) lifecycleTask(n *changeNotification, now time.Time) (*asynq.Task, *drop) {
	bad := func(reason string) (*asynq.Task, *drop) {
		return nil, &drop{kind: metrics.KindLifecycle, reason: reason}
	}
	employeeID, ok := h.d.Keys.Verify(n.ClientState)
	if !ok {
		return bad(metrics.ReasonBadClientState)
	}
	name := n.LifecycleEvent
	if name == "" {
		name = n.ChangeType
	}
	event, ok := model.ParseLifecycleEvent(name)
	if !ok {
		return nil, &drop{kind: metrics.KindLifecycle, reason: metrics.ReasonUnknownEvent, event: name}
	}
	// The job acts on the subscription (reauthorize, recreate), so it must be named.
	if !validID(n.SubscriptionID, false) {
		return bad(metrics.ReasonBadSubscription)
	}
	task, err := queue.NewLifecycleTask(queue.LifecyclePayload{
		EmployeeID:     employeeID,
		SubscriptionID: n.SubscriptionID,
		Event:          event,
		NotifiedAt:     now,
	})
	if err != nil { // cannot happen: the payload is plain strings
		return bad(metrics.ReasonBadItem)
	}
	return task, nil
}
