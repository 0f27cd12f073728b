package model

import "time"

// EmailAddress is Graph's emailAddress resource.
type EmailAddress struct {
	Name    string `json:"name,omitempty"`
	Address string `json:"address,omitempty"`
}

// Recipient is Graph's recipient resource.
type Recipient struct {
	EmailAddress EmailAddress `json:"emailAddress"`
}

// ExtendedProperty is Graph's singleValueLegacyExtendedProperty.
type ExtendedProperty struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

// ItemBody is Graph's itemBody resource.
type ItemBody struct {
	ContentType string `json:"contentType,omitempty"`
	Content     string `json:"content,omitempty"`
}

// Message is the part of Graph's message resource the connector reads. It
// decodes Graph's JSON as is (field names as Graph sends them).
type Message struct {
	ID                            string             `json:"id"`
	InternetMessageID             string             `json:"internetMessageId,omitempty"`
	ConversationID                string             `json:"conversationId,omitempty"`
	ParentFolderID                string             `json:"parentFolderId,omitempty"`
	Subject                       string             `json:"subject,omitempty"`
	BodyPreview                   string             `json:"bodyPreview,omitempty"`
	Body                          *ItemBody          `json:"body,omitempty"`
	From                          *Recipient         `json:"from,omitempty"`
	Sender                        *Recipient         `json:"sender,omitempty"`
	ToRecipients                  []Recipient        `json:"toRecipients,omitempty"`
	CcRecipients                  []Recipient        `json:"ccRecipients,omitempty"`
	IsDraft                       bool               `json:"isDraft,omitempty"`
	HasAttachments                bool               `json:"hasAttachments,omitempty"`
	ReceivedDateTime              *time.Time         `json:"receivedDateTime,omitempty"`
	SentDateTime                  *time.Time         `json:"sentDateTime,omitempty"`
	SingleValueExtendedProperties []ExtendedProperty `json:"singleValueExtendedProperties,omitempty"`
	// Removed is set by delta queries for deleted items (@removed).
	Removed *struct {
		Reason string `json:"reason"`
	} `json:"@removed,omitempty"`
}

// FolderRef is one step of a message's folder path below msgfolderroot,
// top-level folder first. WellKnownName is empty for user-created folders;
// Hidden marks Outlook's hidden (system) folders, whose mail is never
// imported.
type FolderRef struct {
	ID            string `json:"id,omitempty"`
	WellKnownName string `json:"wellKnownName,omitempty"`
	DisplayName   string `json:"displayName,omitempty"`
	Hidden        bool   `json:"isHidden,omitempty"`
}
