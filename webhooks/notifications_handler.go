package webhooks

import (
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/labstack/echo/v4"

	"github.com/dedesales/exchange-connector/internal/metrics"
	"github.com/dedesales/exchange-connector/internal/queue"
)

// maxIDLen bounds a Graph user, message or subscription ID (message IDs are
// about 150 characters).
const maxIDLen = 512

// handleNotifications serves POST /graph/notifications (change notifications
// and their validation handshake).
func (h *Handler) handleNotifications(c echo.Context) error {
	return h.intake(c, PathNotifications)
}

// notificationTask turns a change notification into a message task for the
// employee its clientState names, or says why it is dropped.
func (h *Handler) notificationTask(n *changeNotification, now time.Time) (*asynq.Task, *drop) {
	bad := func(reason string) (*asynq.Task, *drop) {
		return nil, &drop{kind: metrics.KindNotification, reason: reason}
	}
	employeeID, ok := h.d.Keys.Verify(n.ClientState)
	if !ok {
		return bad(metrics.ReasonBadClientState)
	}
	changeType, ok := messageChangeType(n.ChangeType)
	if !ok {
		return bad(metrics.ReasonBadChangeType)
	}
	userID, messageID, ok := parseResource(n.Resource)
	if !ok {
		return bad(metrics.ReasonBadResource)
	}
	var etag string
	if rd := n.ResourceData; rd != nil {
		if rd.ID != "" && rd.ID != messageID {
			return bad(metrics.ReasonBadResource)
		}
		etag = rd.ETag
	}
	if len(etag) > maxIDLen || !validID(n.SubscriptionID, true) {
		return bad(metrics.ReasonBadSubscription)
	}
	task, err := queue.NewProcessMessageTask(queue.ProcessMessagePayload{
		EmployeeID:     employeeID,
		UserID:         userID,
		MessageID:      messageID,
		SubscriptionID: n.SubscriptionID,
		ChangeType:     changeType,
		ETag:           etag,
		NotifiedAt:     now,
	})
	if err != nil { // cannot happen: the payload is plain strings
		return bad(metrics.ReasonBadItem)
	}
	return task, nil
}

// messageChangeType returns the canonical change type of a message
// notification the connector acts on: created (new mail, moves, sent
// drafts) or updated. A deletion leaves the stored activity as it is.
func messageChangeType(s string) (string, bool) {
	switch {
	case strings.EqualFold(s, "created"):
		return "created", true
	case strings.EqualFold(s, "updated"):
		return "updated", true
	}
	return "", false
}

// parseResource extracts the user and message IDs from a notification's
// resource, in either form Graph uses: Users/{user}/Messages/{message} or
// Users('{user}')/Messages('{message}'), segment names in any case, with or
// without a leading slash.
func parseResource(resource string) (userID, messageID string, ok bool) {
	rest := strings.TrimPrefix(resource, "/")
	userID, rest, ok = segment(rest, "users")
	if !ok || !strings.HasPrefix(rest, "/") {
		return "", "", false
	}
	messageID, rest, ok = segment(rest[1:], "messages")
	if !ok || rest != "" || !validID(userID, false) || !validID(messageID, false) {
		return "", "", false
	}
	return userID, messageID, true
}

// segment reads "name/{id}" or "name('{id}')" from the start of s, the name
// matched without regard to case, and returns the ID and what follows.
func segment(s, name string) (id, rest string, ok bool) {
	if len(s) <= len(name) || !strings.EqualFold(s[:len(name)], name) {
		return "", "", false
	}
	s = s[len(name):]
	switch {
	case s[0] == '/':
		s = s[1:]
		if i := strings.IndexByte(s, '/'); i >= 0 {
			return s[:i], s[i:], true
		}
		return s, "", true
	case strings.HasPrefix(s, "('"):
		id, rest, ok = strings.Cut(s[2:], "')")
		return id, rest, ok
	}
	return "", "", false
}

// validID accepts a non-empty Graph ID (object ID, user@tenant, base64url
// message ID) of at most maxIDLen characters drawn from a set that is safe
// to put into a URL path; empty is accepted only if optional.
func validID(s string, optional bool) bool {
	if s == "" {
		return optional
	}
	if len(s) > maxIDLen || strings.Trim(s, ".") == "" { // "." and ".." would walk a URL path
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '_', c == '=', c == '.', c == '@', c == '+':
		default:
			return false
		}
	}
	return true
}
