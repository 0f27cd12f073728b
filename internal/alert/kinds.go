package alert

import (
	"fmt"
	"math"
	"time"
)

// Kinds of alert. Each has its own data type (the Data of an Alert) and a
// template per language for the alert and for the recovery mail.
const (
	// KindSecretExpiring: the client secret expires soon or has expired.
	// Key: the credential (e.g. "tenant/client"); Level from
	// SecretExpiryLevels; Data: SecretExpiring.
	KindSecretExpiring = "secret_expiring"
	// KindAuthFailed: Entra ID refuses the app's credentials. Key: the
	// credential; Data: AuthFailed.
	KindAuthFailed = "auth_failed"
	// KindMailboxAccessDenied: Graph denies access to a mailbox. Key: the
	// mailbox address; Data: MailboxAccessDenied.
	KindMailboxAccessDenied = "mailbox_access_denied"
	// KindMailboxNotFound: Graph does not know the mailbox's user (404
	// ErrorInvalidUser). Key: the mailbox address; Data: MailboxNotFound.
	KindMailboxNotFound = "mailbox_not_found"
	// KindSubscriptionFailed: a mailbox's subscription cannot be created or
	// renewed. Key: the mailbox address; Data: SubscriptionFailed.
	KindSubscriptionFailed = "subscription_failed"
	// KindTasksDead: tasks were archived after their last retry. Key: the
	// task type; Data: TasksDead.
	KindTasksDead = "tasks_dead"
	// KindMailboxSilent: a mailbox has had no mail for far longer than its
	// usual rhythm (see SilentMailbox). Key: the mailbox address; Data:
	// MailboxSilent.
	KindMailboxSilent = "mailbox_silent"
	// KindWebhookFailing: deliveries of webhooks to a CRM endpoint have
	// failed for a while (internal/crmhook). Key: the endpoint's ID; Data:
	// WebhookFailing.
	KindWebhookFailing = "webhook_failing"
)

// Kinds lists every kind, in the order the status page shows them.
var Kinds = []string{KindSecretExpiring, KindAuthFailed, KindMailboxAccessDenied, KindMailboxNotFound,
	KindSubscriptionFailed, KindTasksDead, KindMailboxSilent, KindWebhookFailing}

// SecretExpiring is the Data of KindSecretExpiring.
type SecretExpiring struct {
	TenantID   string
	ClientID   string
	SecretHint string    // the first characters of the secret, as Entra shows them
	ExpiresAt  time.Time // the nearer of the operator's date and Graph's end date
	CheckedAt  time.Time // when the check ran ("now")
}

// DaysLeft is the number of days until expiry, rounded up (as in
// SecretExpiryLevels); 0 or less once expired.
func (d SecretExpiring) DaysLeft() int {
	return int(math.Ceil(d.ExpiresAt.Sub(d.CheckedAt).Hours() / 24))
}

// Expired reports whether the secret has expired.
func (d SecretExpiring) Expired() bool { return !d.CheckedAt.Before(d.ExpiresAt) }

// DaysExpired is the number of whole days since expiry (0 on its day).
func (d SecretExpiring) DaysExpired() int { return int(d.CheckedAt.Sub(d.ExpiresAt).Hours() / 24) }

// AuthFailed is the Data of KindAuthFailed.
type AuthFailed struct {
	TenantID    string
	ClientID    string
	Code        string // the AADSTS code, e.g. "AADSTS7000222"
	Description string // Entra's error description, as received
}

// MailboxAccessDenied is the Data of KindMailboxAccessDenied.
type MailboxAccessDenied struct {
	Mailbox  string
	Employee string // the employee's name in the CRM
	ClientID string // the app's client ID, for the admin's test commands
	Error    string // Graph's error code and message
}

// MailboxNotFound is the Data of KindMailboxNotFound.
type MailboxNotFound struct {
	Mailbox  string // the employee's exchange_mailbox
	Employee string // the employee's name in the CRM
	Error    string // Graph's error code and message
}

// Subscription operations of SubscriptionFailed.
const (
	OpCreate = "create"
	OpRenew  = "renew"
)

// SubscriptionFailed is the Data of KindSubscriptionFailed.
type SubscriptionFailed struct {
	Mailbox   string
	Employee  string
	Operation string // OpCreate or OpRenew
	Error     string // Graph's error code and message
}

// TasksDead is the Data of KindTasksDead.
type TasksDead struct {
	TaskType  string
	Queue     string
	Count     int    // tasks of this type in the archive
	LastError string // the last one's error
}

// MailboxSilent is the Data of KindMailboxSilent.
type MailboxSilent struct {
	Mailbox   string
	Employee  string
	LastMail  time.Time
	UsualGap  time.Duration // the median gap between recent mails
	CheckedAt time.Time
}

// SilentFor is how long the mailbox has been silent.
func (d MailboxSilent) SilentFor() time.Duration { return d.CheckedAt.Sub(d.LastMail) }

// WebhookFailing is the Data of KindWebhookFailing.
type WebhookFailing struct {
	EndpointID   int64
	URL          string
	FailingSince time.Time
	LastError    string
	CheckedAt    time.Time
}

// FailingFor is how long the deliveries have been failing.
func (d WebhookFailing) FailingFor() time.Duration { return d.CheckedAt.Sub(d.FailingSince) }

// Recovery is what a recovery template receives.
type Recovery struct {
	Kind       string
	Key        string
	Level      string    // the last level that was mailed
	Subject    string    // the subject of the last alert mail
	OpenedAt   time.Time // when the condition was first mailed
	ResolvedAt time.Time
}

// checkData reports whether data has the type kind expects.
func checkData(kind string, data any) error {
	var ok bool
	switch kind {
	case KindSecretExpiring:
		_, ok = data.(SecretExpiring)
	case KindAuthFailed:
		_, ok = data.(AuthFailed)
	case KindMailboxAccessDenied:
		_, ok = data.(MailboxAccessDenied)
	case KindMailboxNotFound:
		_, ok = data.(MailboxNotFound)
	case KindSubscriptionFailed:
		_, ok = data.(SubscriptionFailed)
	case KindTasksDead:
		_, ok = data.(TasksDead)
	case KindMailboxSilent:
		_, ok = data.(MailboxSilent)
	case KindWebhookFailing:
		_, ok = data.(WebhookFailing)
	default:
		return fmt.Errorf("alert: unknown kind %q", kind)
	}
	if !ok {
		return fmt.Errorf("alert: kind %s: data of type %T does not fit", kind, data)
	}
	return nil
}
