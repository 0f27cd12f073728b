package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dedesales/exchange-connector/internal/documents"
	"github.com/dedesales/exchange-connector/internal/explain"
	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/store"
)

// readStore is what the read endpoints need of the database.
type readStore interface {
	Feed(ctx context.Context, after store.Cursor, limit int) ([]store.FeedActivity, store.Cursor, error)
	FeedActivityByID(ctx context.Context, id int64) (store.FeedActivity, error)
	CustomerActivities(ctx context.Context, customerID, beforeID int64, limit int) ([]store.FeedActivity, error)
	DocumentByID(ctx context.Context, id int64) (store.Document, error)
	DecisionsFor(ctx context.Context, message string) ([]store.Decision, error)
}

// DocumentReader streams a filed document from the document store
// (documents.Store: a local directory or Nextcloud WebDAV). A missing file
// is documents.ErrNotFound; size is -1 when the store does not know it.
type DocumentReader interface {
	Open(ctx context.Context, path string) (rc io.ReadCloser, size int64, err error)
}

// Paging of the read endpoints (the document's Limit parameter).
const (
	defaultLimit = 100
	maxLimit     = 1000
)

// registerRead adds the read endpoints: the change feed, activities,
// document downloads and decisions. Read and write keys may use them.
func (h *Handler) registerRead(g *echo.Group) {
	g.GET("/activities", h.listActivities)
	g.GET("/activities/:id", h.getActivity)
	g.GET("/customers/:id/activities", h.listCustomerActivities)
	g.GET("/documents/:id/content", h.documentContent)
	g.GET("/decisions", h.listDecisions)
}

// activityJSON is an activity as DESIGN §11 shows it.
type activityJSON struct {
	ID                int64          `json:"id"`
	CustomerID        int64          `json:"customer_id"`
	ContactID         *int64         `json:"contact_id"`
	LeadID            *int64         `json:"lead_id"`
	OpportunityID     *int64         `json:"opportunity_id"`
	Direction         string         `json:"direction"`
	Subject           string         `json:"subject"`
	BodyText          string         `json:"body_text"`
	SentAt            *time.Time     `json:"sent_at"`
	ReceivedAt        *time.Time     `json:"received_at"`
	InternetMessageID *string        `json:"internet_message_id"`
	ConversationID    string         `json:"conversation_id"`
	Rule              string         `json:"rule"`
	Mailboxes         []mailboxJSON  `json:"mailboxes"`
	Documents         []documentJSON `json:"documents"`
	CreatedAt         time.Time      `json:"created_at"`
}

type mailboxJSON struct {
	EmployeeID     int64  `json:"employee_id"`
	GraphMessageID string `json:"graph_message_id"`
}

type documentJSON struct {
	ID     int64  `json:"id"`
	Path   string `json:"path"`
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

func toActivityJSON(a store.FeedActivity) activityJSON {
	out := activityJSON{
		ID: a.ID, CustomerID: a.CustomerID, ContactID: a.ContactID, LeadID: a.LeadID, OpportunityID: a.OpportunityID,
		Direction: a.Direction, Subject: a.Subject, BodyText: a.BodyText, SentAt: a.SentAt, ReceivedAt: a.ReceivedAt,
		InternetMessageID: a.InternetMessageID, ConversationID: a.ConversationID, Rule: a.Rule, CreatedAt: a.CreatedAt.UTC(),
		Mailboxes: make([]mailboxJSON, len(a.Mailboxes)), Documents: make([]documentJSON, len(a.Documents)),
	}
	for i, m := range a.Mailboxes {
		out.Mailboxes[i] = mailboxJSON{EmployeeID: m.EmployeeID, GraphMessageID: m.GraphMessageID}
	}
	for i, d := range a.Documents {
		out.Documents[i] = documentJSON{ID: d.ID, Path: d.Path, Name: d.Name, Size: d.Size, SHA256: d.SHA256}
	}
	return out
}

func toActivitiesJSON(items []store.FeedActivity) []activityJSON {
	out := make([]activityJSON, len(items))
	for i, a := range items {
		out[i] = toActivityJSON(a)
	}
	return out
}

// limitParam reads ?limit= (1..1000, default 100). The request validation
// has already refused other values; this is the second line.
func limitParam(c echo.Context) (int, error) {
	raw := c.QueryParam("limit")
	if raw == "" {
		return defaultLimit, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > maxLimit {
		return 0, problem(http.StatusBadRequest, "the request is not valid",
			FieldError{Field: "limit", Detail: fmt.Sprintf("must be an integer from 1 to %d", maxLimit)})
	}
	return n, nil
}

// idParam reads the path's positive integer id.
func idParam(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, problem(http.StatusBadRequest, "the request is not valid",
			FieldError{Field: "id", Detail: "must be a positive integer"})
	}
	return id, nil
}

// feedPage is the answer of GET /activities.
type feedPage struct {
	Items      []activityJSON `json:"items"`
	NextCursor string         `json:"next_cursor"`
}

// listActivities is the change feed: activities changed after the cursor,
// in commit order. next_cursor is the cursor given when nothing is new.
func (h *Handler) listActivities(c echo.Context) error {
	ctx := c.Request().Context()
	after := c.QueryParam("after")
	cur, err := store.ParseCursor(after)
	if err != nil {
		h.log.InfoContext(ctx, "api: malformed feed cursor", "after", after, "error", err)
		return problem(http.StatusBadRequest, "the request is not valid",
			FieldError{Field: "after", Detail: "not a cursor of this feed: pass the next_cursor of a previous answer, or nothing to start at the beginning"})
	}
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	items, next, err := h.d.Store.Feed(ctx, cur, limit)
	if err != nil {
		return fmt.Errorf("api: feed after %q: %w", after, err)
	}
	nextCursor := after // unchanged when nothing is new: the client's own token
	if next != cur {
		nextCursor = next.String()
	}
	return c.JSON(http.StatusOK, feedPage{Items: toActivitiesJSON(items), NextCursor: nextCursor})
}

func (h *Handler) getActivity(c echo.Context) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	a, err := h.d.Store.FeedActivityByID(c.Request().Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return problem(http.StatusNotFound, fmt.Sprintf("there is no activity %d", id), FieldError{Field: "id", Detail: "no such activity"})
	}
	if err != nil {
		return fmt.Errorf("api: activity %d: %w", id, err)
	}
	return c.JSON(http.StatusOK, toActivityJSON(a))
}

// activityPage is the answer of GET /customers/{id}/activities.
type activityPage struct {
	Items      []activityJSON `json:"items"`
	NextBefore *int64         `json:"next_before"`
}

// listCustomerActivities pages through a customer's activities, newest
// first, by ID (keyset: ?before= the previous page's next_before).
func (h *Handler) listCustomerActivities(c echo.Context) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	var before int64
	if raw := c.QueryParam("before"); raw != "" {
		if before, err = strconv.ParseInt(raw, 10, 64); err != nil || before < 1 {
			return problem(http.StatusBadRequest, "the request is not valid",
				FieldError{Field: "before", Detail: "must be a positive integer: the next_before of the previous page"})
		}
	}
	items, err := h.d.Store.CustomerActivities(c.Request().Context(), id, before, limit)
	if errors.Is(err, store.ErrNotFound) {
		return problem(http.StatusNotFound, fmt.Sprintf("there is no customer %d", id), FieldError{Field: "id", Detail: "no such customer"})
	}
	if err != nil {
		return fmt.Errorf("api: activities of customer %d: %w", id, err)
	}
	page := activityPage{Items: toActivitiesJSON(items)}
	if len(items) == limit {
		last := items[len(items)-1].ID
		page.NextBefore = &last
	}
	return c.JSON(http.StatusOK, page)
}

// documentContent streams a filed document from the document store: it is
// copied as it is read, never held in memory. The ETag is the SHA-256
// recorded when the file was filed.
func (h *Handler) documentContent(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := idParam(c)
	if err != nil {
		return err
	}
	doc, err := h.d.Store.DocumentByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return problem(http.StatusNotFound, fmt.Sprintf("there is no document %d", id), FieldError{Field: "id", Detail: "no such document"})
	}
	if err != nil {
		return fmt.Errorf("api: document %d: %w", id, err)
	}
	if h.d.Documents == nil {
		return problem(http.StatusServiceUnavailable, "the document store is not configured in this web process")
	}
	etag := ""
	if doc.SHA256 != "" {
		etag = `"` + doc.SHA256 + `"`
		if etagMatches(c.Request().Header.Get("If-None-Match"), etag) {
			c.Response().Header().Set("ETag", etag)
			return c.NoContent(http.StatusNotModified)
		}
	}
	rc, size, err := h.d.Documents.Open(ctx, doc.Path)
	if errors.Is(err, documents.ErrNotFound) {
		h.log.WarnContext(ctx, "api: a filed document is missing from the document store",
			"document_id", id, "path", doc.Path, "error", err)
		return problem(http.StatusNotFound, fmt.Sprintf("the file of document %d is missing from the document store", id),
			FieldError{Field: "id", Detail: "the file is missing"})
	}
	if err != nil {
		return fmt.Errorf("api: opening document %d (%s): %w", id, doc.Path, err)
	}
	defer rc.Close()
	hdr := c.Response().Header()
	hdr.Set(echo.HeaderContentType, contentTypeOf(doc.ContentType))
	hdr.Set(echo.HeaderContentDisposition, contentDisposition(doc.Name))
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Cache-Control", "private, no-cache")
	if etag != "" {
		hdr.Set("ETag", etag)
	}
	if size >= 0 {
		hdr.Set(echo.HeaderContentLength, strconv.FormatInt(size, 10))
	}
	c.Response().WriteHeader(http.StatusOK)
	n, err := io.Copy(c.Response(), rc)
	if err != nil || (size >= 0 && n != size) {
		// The status is sent; the client sees a short body. Log why.
		h.log.WarnContext(ctx, "api: document download ended early",
			"document_id", id, "path", doc.Path, "sent", n, "size", size, "error", err)
	}
	return nil
}

// etagMatches reports whether an If-None-Match header names etag (or *).
func etagMatches(header, etag string) bool {
	for part := range strings.SplitSeq(header, ",") {
		part = strings.TrimPrefix(strings.TrimSpace(part), "W/")
		if part == "*" || part == etag {
			return true
		}
	}
	return false
}

// contentTypeOf is the recorded media type when it is a valid one, else
// application/octet-stream.
func contentTypeOf(recorded string) string {
	if recorded == "" {
		return echo.MIMEOctetStream
	}
	mt, params, err := mime.ParseMediaType(recorded)
	if err != nil {
		return echo.MIMEOctetStream
	}
	return mime.FormatMediaType(mt, params)
}

// contentDisposition is "attachment" with the name for old clients in
// ASCII (filename) and exactly in UTF-8 (filename*), as RFC 6266 §4.3
// recommends.
func contentDisposition(name string) string {
	if name == "" {
		return "attachment"
	}
	var ascii strings.Builder
	for _, r := range name {
		switch {
		case r == '"' || r == '\\':
			ascii.WriteByte('_')
		case r >= 0x20 && r < 0x7f:
			ascii.WriteRune(r)
		default:
			ascii.WriteByte('_')
		}
	}
	return `attachment; filename="` + ascii.String() + `"; filename*=UTF-8''` + encodeRFC5987(name)
}

// encodeRFC5987 percent-encodes everything but RFC 5987's attr-char.
func encodeRFC5987(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// decisionJSON is a recorded decision as data, with the sentence for people.
type decisionJSON struct {
	ID                int64     `json:"id"`
	EmployeeID        int64     `json:"employee_id"`
	GraphMessageID    string    `json:"graph_message_id"`
	InternetMessageID string    `json:"internet_message_id"`
	Folder            string    `json:"folder"`
	Subject           string    `json:"subject"`
	Direction         string    `json:"direction"`
	Outcome           string    `json:"outcome"`
	Reason            string    `json:"reason"`
	ReasonText        string    `json:"reason_text"`
	Rule              string    `json:"rule"`
	Candidates        []string  `json:"candidates"`
	MatchedAddress    string    `json:"matched_address"`
	CustomerID        *int64    `json:"customer_id"`
	ContactID         *int64    `json:"contact_id"`
	LeadID            *int64    `json:"lead_id"`
	OpportunityID     *int64    `json:"opportunity_id"`
	ActivityID        *int64    `json:"activity_id"`
	Ambiguous         bool      `json:"ambiguous"`
	Note              string    `json:"note"`
	Explanation       string    `json:"explanation"`
	CreatedAt         time.Time `json:"created_at"`
}

// decisionList is the answer of GET /decisions.
type decisionList struct {
	Items []decisionJSON `json:"items"`
}

// candidatesOf reads the stored candidates (a JSON array of addresses).
func candidatesOf(raw string) []string {
	out := []string{}
	if raw == "" {
		return out
	}
	if err := json.Unmarshal([]byte(raw), &out); err != nil || out == nil {
		return []string{}
	}
	return out
}

// listDecisions is what `connector explain` answers: the decisions about a
// message (by Graph ID or internetMessageId), one per mailbox that saw it.
func (h *Handler) listDecisions(c echo.Context) error {
	msg := c.QueryParam("message")
	if msg == "" {
		return problem(http.StatusBadRequest, "the request is not valid",
			FieldError{Field: "message", Detail: "a Graph message ID or an internetMessageId is required"})
	}
	ds, err := h.d.Store.DecisionsFor(c.Request().Context(), msg)
	if err != nil {
		return fmt.Errorf("api: decisions about %q: %w", msg, err)
	}
	if len(ds) == 0 {
		return problem(http.StatusNotFound,
			"no decision about this message: the connector has not seen it (not in a synced mailbox, or not yet processed)",
			FieldError{Field: "message", Detail: "no decision about this message"})
	}
	out := decisionList{Items: make([]decisionJSON, len(ds))}
	for i, d := range ds {
		out.Items[i] = decisionJSON{
			ID: d.ID, EmployeeID: d.EmployeeID, GraphMessageID: d.GraphMessageID, InternetMessageID: d.InternetMessageID,
			Folder: d.Folder, Subject: d.Subject, Direction: d.Direction, Outcome: d.Outcome, Reason: d.Reason,
			ReasonText: match.ReasonText(d.Reason), Rule: d.Rule, Candidates: candidatesOf(d.Candidates),
			MatchedAddress: d.MatchedAddress, CustomerID: d.CustomerID, ContactID: d.ContactID, LeadID: d.LeadID,
			OpportunityID: d.OpportunityID, ActivityID: d.ActivityID, Ambiguous: d.Ambiguous, Note: d.Note,
			Explanation: explain.Decision(d), CreatedAt: d.CreatedAt.UTC(),
		}
	}
	return c.JSON(http.StatusOK, out)
}
