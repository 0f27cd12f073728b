package graph

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/dedesales/exchange-connector/internal/model"
)

// messageFields are the message properties the matcher and the activity need.
var messageFields = []string{
	"id", "internetMessageId", "conversationId", "parentFolderId", "subject", "bodyPreview", "body",
	"from", "sender", "toRecipients", "ccRecipients", "isDraft", "hasAttachments",
	"receivedDateTime", "sentDateTime",
}

// smtpProperties asks for the SMTP addresses Exchange keeps beside an
// X.500 sender: PidTagSenderSmtpAddress and PidTagSentRepresentingSmtpAddress.
const smtpProperties = "singleValueExtendedProperties($filter=id eq 'String 0x5D01' or id eq 'String 0x5D02')"

// preferText asks for the body as plain text (the CRM shows text), on every
// path that reads messages (GET, delta, list). Graph returns HTML unless
// asked, and says which it applied in Preference-Applied (learn.microsoft.
// com/graph/api/message-get). Letting Exchange convert is better than
// converting here: it is the rendering Outlook itself shows, it needs no
// HTML parser or sanitiser in the connector, and unsafe HTML never reaches
// the process.
const preferText = `outlook.body-content-type="text"`

// Message fetches one message with the fields the matcher needs.
func (c *Client) Message(ctx context.Context, mailbox, id string) (*model.Message, error) {
	cfg := &users.ItemMessagesMessageItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemMessagesMessageItemRequestBuilderGetQueryParameters{
			Select: messageFields, Expand: []string{smtpProperties},
		},
		Headers: abs.NewRequestHeaders(),
	}
	cfg.Headers.Add("Prefer", preferText)
	m, err := c.users().ByUserId(mailbox).Messages().ByMessageId(id).Get(ctx, cfg)
	if err != nil {
		return nil, wrap("get message", err)
	}
	msg := toMessage(m)
	return &msg, nil
}

// Attachments lists a message's attachments (metadata only; the bytes are
// read with OpenAttachment).
func (c *Client) Attachments(ctx context.Context, mailbox, messageID string) ([]model.Attachment, error) {
	cfg := &users.ItemMessagesItemAttachmentsRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemMessagesItemAttachmentsRequestBuilderGetQueryParameters{
			Select: []string{"id", "name", "contentType", "size", "isInline", "lastModifiedDateTime"},
		},
	}
	res, err := c.users().ByUserId(mailbox).Messages().ByMessageId(messageID).Attachments().Get(ctx, cfg)
	if err != nil {
		return nil, wrap("list attachments", err)
	}
	var out []model.Attachment
	for _, a := range res.GetValue() {
		att := model.Attachment{
			ID: deref(a.GetId()), Name: deref(a.GetName()), ContentType: deref(a.GetContentType()),
			Size: int64(deref(a.GetSize())), IsInline: deref(a.GetIsInline()), Kind: model.AttachmentFile,
		}
		if t := a.GetLastModifiedDateTime(); t != nil {
			att.LastModified = t.UTC()
		}
		switch v := a.(type) {
		case models.FileAttachmentable:
			att.ContentID = deref(v.GetContentId())
		case models.ItemAttachmentable:
			att.Kind = model.AttachmentItem
		case models.ReferenceAttachmentable:
			att.Kind = model.AttachmentReference
			att.SourceURL = sourceURL(a)
			if att.SourceURL == "" {
				// v1.0 documents no sourceUrl; ask for the whole attachment in
				// case the service sends it anyway.
				full, err := c.users().ByUserId(mailbox).Messages().ByMessageId(messageID).Attachments().ByAttachmentId(att.ID).Get(ctx, nil)
				if err != nil {
					return nil, wrap("get attachment", err)
				}
				att.SourceURL = sourceURL(full)
			}
		}
		out = append(out, att)
	}
	return out, nil
}

// sourceURL is a cloud link's target, when Graph sent one.
func sourceURL(a models.Attachmentable) string {
	if u, ok := a.GetAdditionalData()["sourceUrl"].(*string); ok {
		return deref(u)
	}
	return ""
}

// OpenAttachment streams an attachment's raw bytes from
// /attachments/{id}/$value (the SDK has no builder for it). The caller
// must close the reader; until then the request holds one of the
// mailbox's concurrency slots.
func (c *Client) OpenAttachment(ctx context.Context, mailbox, messageID, attachmentID string) (io.ReadCloser, error) {
	const op = "download attachment"
	u := fmt.Sprintf("%s/users/%s/messages/%s/attachments/%s/$value", c.graphURL,
		url.PathEscape(mailbox), url.PathEscape(messageID), url.PathEscape(attachmentID))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, wrap(op, err)
	}
	resp, err := c.download.Do(req)
	if err != nil {
		return nil, wrap(op, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, responseError(op, resp)
	}
	return resp.Body, nil
}

// toMessage converts the SDK's message into the connector's.
func toMessage(m models.Messageable) model.Message {
	msg := model.Message{
		ID: deref(m.GetId()), InternetMessageID: deref(m.GetInternetMessageId()),
		ConversationID: deref(m.GetConversationId()), ParentFolderID: deref(m.GetParentFolderId()),
		Subject: deref(m.GetSubject()), BodyPreview: deref(m.GetBodyPreview()),
		From: recipient(m.GetFrom()), Sender: recipient(m.GetSender()),
		ToRecipients: recipients(m.GetToRecipients()), CcRecipients: recipients(m.GetCcRecipients()),
		IsDraft: deref(m.GetIsDraft()), HasAttachments: deref(m.GetHasAttachments()),
		ReceivedDateTime: m.GetReceivedDateTime(), SentDateTime: m.GetSentDateTime(),
	}
	if b := m.GetBody(); b != nil {
		msg.Body = &model.ItemBody{Content: deref(b.GetContent())}
		if ct := b.GetContentType(); ct != nil {
			msg.Body.ContentType = ct.String()
		}
	}
	for _, p := range m.GetSingleValueExtendedProperties() {
		msg.SingleValueExtendedProperties = append(msg.SingleValueExtendedProperties,
			model.ExtendedProperty{ID: deref(p.GetId()), Value: deref(p.GetValue())})
	}
	if r, ok := m.GetAdditionalData()["@removed"]; ok && r != nil {
		msg.Removed = &struct {
			Reason string `json:"reason"`
		}{Reason: removedReason(r)}
	}
	return msg
}

func removedReason(v any) string {
	if m, ok := v.(map[string]any); ok {
		if r, ok := m["reason"].(*string); ok {
			return deref(r)
		}
	}
	return "deleted"
}

func recipient(r models.Recipientable) *model.Recipient {
	if r == nil || r.GetEmailAddress() == nil {
		return nil
	}
	e := r.GetEmailAddress()
	return &model.Recipient{EmailAddress: model.EmailAddress{Name: deref(e.GetName()), Address: strings.TrimSpace(deref(e.GetAddress()))}}
}

func recipients(rs []models.Recipientable) []model.Recipient {
	var out []model.Recipient
	for _, r := range rs {
		if p := recipient(r); p != nil {
			out = append(out, *p)
		}
	}
	return out
}
