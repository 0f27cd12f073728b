package model

import "time"

// MailFolder is a folder of a mailbox as the connector keeps it.
type MailFolder struct {
	ID            string `json:"id"`
	ParentID      string `json:"parentFolderId"`
	DisplayName   string `json:"displayName"`
	WellKnownName string `json:"wellKnownName,omitempty"` // resolved by the client; empty for user folders
	Hidden        bool   `json:"isHidden,omitempty"`
	// ItemCount is Graph's totalItemCount: every item in the folder, of
	// any age (not only the backfill window); the base of a first sync's
	// estimate of what is left.
	ItemCount int64 `json:"totalItemCount,omitempty"`
}

// Attachment kinds (Graph's @odata.type without the namespace).
const (
	AttachmentFile      = "fileAttachment"
	AttachmentItem      = "itemAttachment"
	AttachmentReference = "referenceAttachment"
)

// Attachment is an attachment's metadata; its bytes are read with the
// client's streaming reader, never held whole.
type Attachment struct {
	ID           string    `json:"id"`
	Kind         string    `json:"kind"`
	Name         string    `json:"name"`
	ContentType  string    `json:"contentType"`
	Size         int64     `json:"size"`
	IsInline     bool      `json:"isInline"`
	ContentID    string    `json:"contentId,omitempty"`
	LastModified time.Time `json:"lastModifiedDateTime"`
	SourceURL    string    `json:"sourceUrl,omitempty"` // reference attachments (cloud links)
}

// Subscription is a Graph change-notification subscription.
type Subscription struct {
	ID                       string    `json:"id"`
	Resource                 string    `json:"resource"`
	ChangeType               string    `json:"changeType"`
	NotificationURL          string    `json:"notificationUrl"`
	LifecycleNotificationURL string    `json:"lifecycleNotificationUrl"`
	ClientState              string    `json:"clientState,omitempty"`
	ExpiresAt                time.Time `json:"expirationDateTime"`
}

// PasswordCredential is a client secret of the app registration as Graph
// reports it (never the secret itself).
type PasswordCredential struct {
	KeyID       string    `json:"keyId"`
	DisplayName string    `json:"displayName"`
	Hint        string    `json:"hint"`
	StartsAt    time.Time `json:"startDateTime"`
	EndsAt      time.Time `json:"endDateTime"`
}

// DeltaPage is one page of a message delta round: changed messages, IDs of
// removed ones, and either the next page's link or, on the last page, the
// delta link for the next round.
type DeltaPage struct {
	Messages  []Message
	Removed   []string
	NextLink  string
	DeltaLink string
}
