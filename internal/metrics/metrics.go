// Package metrics holds the connector's Prometheus metrics: one struct with a
// field per metric, registered on a registry the caller owns (never the
// global one), so tests and several instances in one process do not collide.
//
// To add a metric, add a field, build it in New and list it in the
// registration there.
package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Namespace prefixes every metric name.
const Namespace = "connector"

// Label values for Received and Dropped's kind.
const (
	KindNotification = "notification"
	KindLifecycle    = "lifecycle"
)

// Reasons for TasksDropped.
const (
	// ReasonUnknownSubscription: the task names a subscription that is not
	// the mailbox's current one (a forged or stale notification).
	ReasonUnknownSubscription = "unknown_subscription"
)

// Reasons for Dropped.
const (
	ReasonBadClientState  = "bad_client_state"
	ReasonBadResource     = "bad_resource"
	ReasonBadChangeType   = "bad_change_type"
	ReasonBadItem         = "bad_item" // an item that is not a JSON object of the expected shape
	ReasonBadSubscription = "bad_subscription"
	ReasonUnknownEvent    = "unknown_event"
)

// Outcomes of MessagesNotFound.
const (
	NotFoundRetrying    = "retrying"
	NotFoundLeftToDelta = "left_to_delta"
)

// ReasonMovedAway is the Decisions reason of an imported mail found again in
// a folder whose mail is not imported (moved to Deleted Items, Archive…):
// it stays imported and the move goes into its history.
const ReasonMovedAway = "moved_away"

// Reasons for DocumentsGuarded.
const (
	GuardBlockedType = "blocked_type" // filed renamed with documents.BlockedSuffix
	GuardUnsafeLink  = "unsafe_link"  // a cloud link with an unsafe address, not filed
	GuardTooLarge    = "too_large"    // above max_attachment_bytes, not filed
	GuardNoLink      = "no_link"      // a cloud link without an address (Graph v1.0 sends none), not filed
)

// Metrics are the connector's metrics.
type Metrics struct {
	// WebhookValidations counts validation handshakes answered, by route.
	WebhookValidations *prometheus.CounterVec
	// WebhookReceived counts notification items received, by kind.
	WebhookReceived *prometheus.CounterVec
	// WebhookDropped counts items dropped as invalid, by kind and reason.
	WebhookDropped *prometheus.CounterVec
	// TasksEnqueued counts tasks newly enqueued, by task type.
	TasksEnqueued *prometheus.CounterVec
	// TasksDuplicate counts enqueues that found the task already queued
	// (deduplicated redeliveries), by task type.
	TasksDuplicate *prometheus.CounterVec
	// EnqueueErrors counts enqueues that failed (the sender is told to
	// retry), by task type.
	EnqueueErrors *prometheus.CounterVec
	// HTTPDuration observes the handling time of requests, by route, method
	// and status code.
	HTTPDuration *prometheus.HistogramVec

	// TasksProcessed counts tasks handled, by type and outcome (ok, error,
	// throttled).
	TasksProcessed *prometheus.CounterVec
	// TaskDuration observes how long tasks take, by type.
	TaskDuration *prometheus.HistogramVec
	// TasksDropped counts tasks a handler refused to act on, by type and
	// reason.
	TasksDropped *prometheus.CounterVec
	// GraphRequests counts Graph requests, by HTTP status ("error" without one).
	GraphRequests *prometheus.CounterVec
	// Decisions counts matching decisions, by outcome and reason.
	Decisions *prometheus.CounterVec
	// SubscriptionExpiry is the seconds until a mailbox's subscription
	// expires, by the employee ID of the mailbox (never its address: the
	// metrics must not list the mailboxes). Set it with SetSubscriptionExpiry.
	SubscriptionExpiry *prometheus.GaugeVec
	// SubscriptionFailures counts failed creations and renewals of Graph
	// subscriptions, by cause (validation_timeout: the notification URL did
	// not answer Graph's validation within 10 s; access_denied, forbidden,
	// throttled, refused, auth, other).
	SubscriptionFailures *prometheus.CounterVec
	// Mailboxes is the number of mailboxes by state (enabled, disabled,
	// access_denied, not_found, inactive), set by the health check: a
	// not_found or access_denied above 0 is a mailbox not synced.
	Mailboxes *prometheus.GaugeVec
	// SecretDaysLeft is the days until a stored credential (client secret
	// or certificate) expires; the name stays for existing dashboards.
	SecretDaysLeft *prometheus.GaugeVec
	// DocumentsGuarded counts attachments renamed or left out by the filing
	// job for safety or size, by reason (Guard*).
	DocumentsGuarded *prometheus.CounterVec
	// CRMWebhookDeliveries counts webhook delivery attempts to the CRM, by
	// outcome (delivered, failed, refused, given_up, dropped; internal/crmhook).
	CRMWebhookDeliveries *prometheus.CounterVec
	// MessagesNotFound counts notified messages Graph answered 404 for, by
	// outcome (NotFoundRetrying, NotFoundLeftToDelta).
	MessagesNotFound *prometheus.CounterVec
	// NotificationLatency observes the time from a change notification's
	// arrival to the stored decision (and activity) of its message.
	NotificationLatency prometheus.Histogram
}

// New builds the metrics and registers them on reg. It panics if any is
// already registered there, which is a wiring error.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		WebhookValidations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "webhook", Name: "validations_total",
			Help: "Validation handshakes answered, by route.",
		}, []string{"route"}),
		WebhookReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "webhook", Name: "received_total",
			Help: "Notification items received, by kind (notification, lifecycle).",
		}, []string{"kind"}),
		WebhookDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "webhook", Name: "dropped_total",
			Help: "Notification items dropped as invalid, by kind and reason.",
		}, []string{"kind", "reason"}),
		TasksEnqueued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "tasks", Name: "enqueued_total",
			Help: "Tasks enqueued, by type.",
		}, []string{"type"}),
		TasksDuplicate: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "tasks", Name: "duplicate_total",
			Help: "Enqueues of a task already queued (deduplicated), by type.",
		}, []string{"type"}),
		EnqueueErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "tasks", Name: "enqueue_errors_total",
			Help: "Enqueues that failed, by type.",
		}, []string{"type"}),
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "http", Name: "request_duration_seconds",
			Help:    "Time to handle a request, by route, method and status code.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method", "code"}),
	}
	m.TasksProcessed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "tasks", Name: "processed_total",
		Help: "Tasks handled, by type and outcome (ok, error, throttled).",
	}, []string{"type", "outcome"})
	m.TaskDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Subsystem: "tasks", Name: "duration_seconds",
		Help:    "Time to handle a task, by type.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
	}, []string{"type"})
	m.TasksDropped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "tasks", Name: "dropped_total",
		Help: "Tasks refused by their handler, by type and reason (unknown_subscription: forged or stale).",
	}, []string{"type", "reason"})
	reg.MustRegister(m.TasksDropped)
	m.GraphRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "graph", Name: "requests_total",
		Help: "Microsoft Graph requests, by HTTP status (429 is throttling; error: no response).",
	}, []string{"status"})
	m.Decisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "match", Name: "decisions_total",
		Help: "Matching decisions, by outcome and reason.",
	}, []string{"outcome", "reason"})
	m.SubscriptionExpiry = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: Namespace, Subsystem: "subscription", Name: "expiry_seconds",
		Help: "Seconds until a mailbox's Graph subscription expires (negative: expired), by the mailbox's employee ID.",
	}, []string{"employee"})
	m.SubscriptionFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "subscription", Name: "failures_total",
		Help: "Failed creations and renewals of Graph subscriptions, by cause (validation_timeout: the notification URL did not answer Graph's validation within 10 s).",
	}, []string{"reason"})
	m.Mailboxes = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: Namespace, Subsystem: "mailboxes", Name: "by_state",
		Help: "Mailboxes by state (enabled, disabled, access_denied, not_found: Graph does not know the user, inactive), as of the last health check.",
	}, []string{"state"})
	m.SecretDaysLeft = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: Namespace, Subsystem: "credentials", Name: "secret_days_left",
		Help: "Days until a stored credential expires: a client secret (the nearer of the operator's and Graph's date) or a certificate (its NotAfter).",
	}, []string{"credential"})
	m.DocumentsGuarded = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "documents", Name: "guarded_total",
		Help: "Attachments renamed or not filed for safety or size, by reason (blocked_type: filed as ….blocked; unsafe_link: cloud link not filed; too_large: above max_attachment_bytes, not filed).",
	}, []string{"reason"})
	m.CRMWebhookDeliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "crm_webhook", Name: "deliveries_total",
		Help: "Webhook delivery attempts to the CRM, by outcome (delivered, failed, refused, given_up, dropped).",
	}, []string{"outcome"})
	m.MessagesNotFound = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "messages", Name: "not_found_total",
		Help: "Notified messages Graph answered 404 for, by outcome (retrying: tried again later, as a Sent Items copy appears late; left_to_delta: given up after about an hour, a delta sync of the mailbox requested).",
	}, []string{"outcome"})
	m.NotificationLatency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: Namespace, Subsystem: "notification", Name: "to_decision_seconds",
		Help:    "Time from a change notification's arrival to the stored decision (with the activity, if imported) of its message.",
		Buckets: []float64{.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600},
	})
	// Series that alerts and the dashboard rate from zero exist from the
	// start: an increase is only seen from a first sample.
	for _, status := range []string{"200", "429"} {
		m.GraphRequests.WithLabelValues(status)
	}
	for _, kind := range []string{KindNotification, KindLifecycle} {
		m.WebhookReceived.WithLabelValues(kind)
	}
	reg.MustRegister(
		m.NotificationLatency, m.MessagesNotFound,
		m.WebhookValidations, m.WebhookReceived, m.WebhookDropped,
		m.TasksEnqueued, m.TasksDuplicate, m.EnqueueErrors,
		m.HTTPDuration,
		m.TasksProcessed, m.TaskDuration, m.GraphRequests, m.Decisions, m.SubscriptionExpiry, m.SubscriptionFailures, m.SecretDaysLeft,
		m.Mailboxes,
		m.DocumentsGuarded,
		m.CRMWebhookDeliveries,
	)
	return m
}

// SetSubscriptionExpiry records the seconds until the subscription of the
// mailbox of employee employeeID expires.
func (m *Metrics) SetSubscriptionExpiry(employeeID int64, seconds float64) {
	m.SubscriptionExpiry.WithLabelValues(strconv.FormatInt(employeeID, 10)).Set(seconds)
}

// NewRegistry returns a registry with the Go runtime and process collectors,
// ready for New and for serving /metrics.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}
