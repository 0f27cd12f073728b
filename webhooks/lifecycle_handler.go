package webhooks

import (
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/labstack/echo/v4"

	"github.com/dedesales/exchange-connector/internal/metrics"
	"github.com/dedesales/exchange-connector/jobs"
)

// Lifecycle events of Outlook message subscriptions.
const (
	EventSubscriptionRemoved     = "subscriptionRemoved"
	EventReauthorizationRequired = "reauthorizationRequired"
	EventMissed                  = "missed"
)

// lifecycleEvents maps the lower-cased event names to their canonical form.
var lifecycleEvents = map[string]string{
	"subscriptionremoved":     EventSubscriptionRemoved,
	"reauthorizationrequired": EventReauthorizationRequired,
	"missed":                  EventMissed,
}

// handleLifecycle serves POST /graph/lifecycle (lifecycle events and their
// validation handshake).
func (h *Handler) handleLifecycle(c echo.Context) error {
	return h.intake(c, PathLifecycle)
}

// isLifecycle reports whether an item is a lifecycle event: it names one in
// lifecycleEvent, or it is the older Outlook REST "missed" shape
// (changeType "Missed" and no lifecycleEvent).
func isLifecycle(n *changeNotification) bool {
	return n.LifecycleEvent != "" || strings.EqualFold(n.ChangeType, EventMissed)
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
	event, ok := lifecycleEvents[strings.ToLower(name)]
	if !ok {
		return bad(metrics.ReasonUnknownEvent)
	}
	// The job acts on the subscription (reauthorize, recreate), so it must be named.
	if !validID(n.SubscriptionID, false) {
		return bad(metrics.ReasonBadSubscription)
	}
	task, err := jobs.NewLifecycleTask(jobs.LifecyclePayload{
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
