// Package jobs holds the handlers of the connector's asynq tasks, in asynq's
// own style, all registered in one place (Register). The tasks themselves
// (types, queues, payloads, constructors) are defined in internal/queue, a
// leaf package, so that the webhook intake can enqueue them without
// importing the store; the names below refer to them for the handlers and
// their callers.
package jobs

import "github.com/dedesales/exchange-connector/internal/queue"

// Task types, queues, payloads and constructors: see internal/queue.
const (
	TypeProcessMessage      = queue.TypeProcessMessage
	TypeLifecycle           = queue.TypeLifecycle
	TypeSyncMailbox         = queue.TypeSyncMailbox
	TypeEnsureSubscriptions = queue.TypeEnsureSubscriptions
	TypeFileAttachments     = queue.TypeFileAttachments
	TypeHealthCheck         = queue.TypeHealthCheck

	QueueCritical = queue.QueueCritical
	QueueDefault  = queue.QueueDefault
	QueueLow      = queue.QueueLow
)

type (
	ProcessMessagePayload  = queue.ProcessMessagePayload
	LifecyclePayload       = queue.LifecyclePayload
	SyncMailboxPayload     = queue.SyncMailboxPayload
	FileAttachmentsPayload = queue.FileAttachmentsPayload
)

var (
	NewProcessMessageTask      = queue.NewProcessMessageTask
	NewLifecycleTask           = queue.NewLifecycleTask
	NewSyncMailboxTask         = queue.NewSyncMailboxTask
	NewEnsureSubscriptionsTask = queue.NewEnsureSubscriptionsTask
	NewFileAttachmentsTask     = queue.NewFileAttachmentsTask
	NewHealthCheckTask         = queue.NewHealthCheckTask
)
