// Package queue is what puts work on the connector's asynq queues: the task
// types, queues, payloads and constructors (asynq's style: a type constant,
// a payload and a constructor per task; the handlers live in package jobs),
// and the pipelining enqueuer of the web role (AutoPipeline).
//
// It is a leaf: it imports neither the store nor the Graph SDK, so that the
// webhook intake, which enqueues, stays free of both.
package queue

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
)

// Task types.
const (
	// TypeProcessMessage fetches one message, matches it and stores the activity.
	TypeProcessMessage = "message:process"
	// TypeLifecycle handles a Graph lifecycle event of a subscription.
	TypeLifecycle = "subscription:lifecycle"
	// TypeSyncMailbox runs the delta rounds of a mailbox's folders.
	TypeSyncMailbox = "mailbox:sync"
	// TypeEnsureSubscriptions creates, renews and recreates subscriptions.
	TypeEnsureSubscriptions = "subscriptions:ensure"
	// TypeFileAttachments files a message's attachments into the document store.
	TypeFileAttachments = "attachments:file"
	// TypeHealthCheck raises and clears alerts (secret expiry, mailboxes,
	// subscriptions, dead tasks).
	TypeHealthCheck = "ops:health"
)

// Queues, most urgent first; the server weighs them 6:3:1.
const (
	QueueCritical = "critical" // notifications: the user is waiting
	QueueDefault  = "default"  // syncs, attachments
	QueueLow      = "low"      // housekeeping
)

// ProcessMessagePayload names a message from a change notification.
type ProcessMessagePayload struct {
	EmployeeID     int64     `json:"employee_id"`
	UserID         string    `json:"user_id"` // the Graph user ID from the notification's resource
	MessageID      string    `json:"message_id"`
	SubscriptionID string    `json:"subscription_id"`
	ChangeType     string    `json:"change_type"`
	ETag           string    `json:"etag,omitempty"`
	NotifiedAt     time.Time `json:"notified_at"`
}

// NewProcessMessageTask builds the task for a notified message. Its task ID
// makes a redelivered notification (same message, same etag) a no-op while
// the first is queued, whereas a later change of the same message (a draft
// that was sent, a move, which change the etag) is processed again.
func NewProcessMessageTask(p ProcessMessagePayload) (*asynq.Task, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("queue: %s payload: %w", TypeProcessMessage, err)
	}
	return asynq.NewTask(TypeProcessMessage, b, asynq.TaskID(p.taskID()), asynq.Queue(QueueCritical), asynq.MaxRetry(12)), nil
}

// taskID is the same for a redelivery and differs for a change of the message.
func (p ProcessMessagePayload) taskID() string {
	return TaskID("msg", fmt.Sprint(p.EmployeeID), p.MessageID, p.ETag)
}

// LifecyclePayload is a lifecycle event of a subscription; Event is one of
// model's Event* names, as model.ParseLifecycleEvent returns them.
type LifecyclePayload struct {
	EmployeeID     int64     `json:"employee_id"`
	SubscriptionID string    `json:"subscription_id"`
	Event          string    `json:"event"`
	NotifiedAt     time.Time `json:"notified_at"`
}

// NewLifecycleTask builds the task for a lifecycle event; repeats of the same
// event within a minute collapse into one.
func NewLifecycleTask(p LifecyclePayload) (*asynq.Task, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("queue: %s payload: %w", TypeLifecycle, err)
	}
	id := TaskID("life", fmt.Sprint(p.EmployeeID), p.SubscriptionID, p.Event, p.NotifiedAt.UTC().Truncate(time.Minute).Format(time.RFC3339))
	return asynq.NewTask(TypeLifecycle, b, asynq.TaskID(id), asynq.Queue(QueueCritical), asynq.MaxRetry(20)), nil
}

// TaskID joins its parts into a task ID, hashed so that any Graph ID fits.
func TaskID(kind string, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return kind + ":" + hex.EncodeToString(h.Sum(nil)[:16])
}

// SyncMailboxPayload asks for the delta rounds of a mailbox.
type SyncMailboxPayload struct {
	EmployeeID int64  `json:"employee_id"`
	Reason     string `json:"reason"` // backfill, missed, recreated, sweep, operator
}

// NewSyncMailboxTask builds a sync task. Requests for the same mailbox
// within one minute collapse into one.
func NewSyncMailboxTask(p SyncMailboxPayload, now time.Time) (*asynq.Task, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("queue: %s payload: %w", TypeSyncMailbox, err)
	}
	id := TaskID("sync", fmt.Sprint(p.EmployeeID), now.UTC().Truncate(time.Minute).Format(time.RFC3339))
	return asynq.NewTask(TypeSyncMailbox, b, asynq.TaskID(id), asynq.Queue(QueueDefault), asynq.MaxRetry(10), asynq.Timeout(30*time.Minute)), nil
}

// NewEnsureSubscriptionsTask builds the periodic subscription check. Its
// task ID is per time slot, so that several schedulers (one per process)
// enqueue it once per slot.
func NewEnsureSubscriptionsTask(slot string) *asynq.Task {
	id := "ensure:" + slot
	return asynq.NewTask(TypeEnsureSubscriptions, nil, asynq.TaskID(id), asynq.Queue(QueueLow), asynq.MaxRetry(3), asynq.Timeout(10*time.Minute))
}

// FileAttachmentsPayload names an imported message whose attachments are to
// be filed. It carries what the layout needs about the mail, so that no
// second GET of the message is needed.
type FileAttachmentsPayload struct {
	EmployeeID    int64     `json:"employee_id"`
	MessageID     string    `json:"message_id"`
	ActivityID    int64     `json:"activity_id"`
	CustomerID    int64     `json:"customer_id"`
	Subject       string    `json:"subject"`
	SenderName    string    `json:"sender_name"`
	SenderAddress string    `json:"sender_address"`
	Date          time.Time `json:"date"`
}

// NewFileAttachmentsTask builds the filing task of an activity; one per activity.
func NewFileAttachmentsTask(p FileAttachmentsPayload) (*asynq.Task, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("queue: %s payload: %w", TypeFileAttachments, err)
	}
	id := TaskID("files", fmt.Sprint(p.ActivityID))
	// Many retries: a full document store (quota) must not lose anything.
	return asynq.NewTask(TypeFileAttachments, b, asynq.TaskID(id), asynq.Queue(QueueDefault), asynq.MaxRetry(25), asynq.Timeout(time.Hour)), nil
}

// NewHealthCheckTask builds the periodic health check (alerts), one per time slot.
func NewHealthCheckTask(slot string) *asynq.Task {
	id := "health:" + slot
	return asynq.NewTask(TypeHealthCheck, nil, asynq.TaskID(id), asynq.Queue(QueueLow), asynq.MaxRetry(2), asynq.Timeout(5*time.Minute))
}
