package graphsim

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// Attachment @odata.type values.
const (
	typeFile      = "#microsoft.graph.fileAttachment"
	typeItem      = "#microsoft.graph.itemAttachment"
	typeReference = "#microsoft.graph.referenceAttachment"
)

// inlineBytesLimit is the size above which Graph leaves out contentBytes.
const inlineBytesLimit = 3 << 20

// attachment is a stored attachment. bytes == nil with Size > 0 means the
// content is synthesised (see SyntheticContent) and never held in memory.
type attachment struct {
	ID, Type, Name, ContentType, ContentID string
	IsInline                               bool
	Size                                   int64
	LastModified                           time.Time
	bytes                                  []byte
	item                                   map[string]any // itemAttachment: the attached message
	extra                                  map[string]any // other fields, passed through (sourceUrl, …)
}

// AttachmentInput is an attachment as the control API and scenarios give
// it. ContentBytes (base64) wins over Size; Size alone synthesises
// deterministic bytes (SyntheticContent(Name, Size)). For itemAttachment,
// Item is the attached message (Graph message JSON) whose MIME $value
// returns, or ContentBytes is that MIME. Extra fields (e.g. sourceUrl of a
// referenceAttachment) are passed through.
type AttachmentInput struct {
	ODataType    string         `json:"@odata.type"`
	Name         string         `json:"name"`
	ContentType  string         `json:"contentType"`
	ContentBytes string         `json:"contentBytes"`
	Size         int64          `json:"size"`
	IsInline     bool           `json:"isInline"`
	ContentID    string         `json:"contentId"`
	Item         map[string]any `json:"item"`
	// SourceURL is a referenceAttachment's target. Graph v1.0 documents no
	// such property (referenceAttachment: contentType, id, isInline,
	// lastModifiedDateTime, name, size; learn.microsoft.com/graph/api/
	// resources/referenceattachment; graph.md Errata), so it is sent only
	// when ExposeSourceURL opts in (a service that sends it anyway).
	SourceURL       string `json:"sourceUrl"`
	ExposeSourceURL bool   `json:"exposeSourceUrl"`
}

// build turns the input into a stored attachment.
func (in AttachmentInput) build() (*attachment, error) {
	a := &attachment{ID: newAttachmentID(), Type: in.ODataType, Name: in.Name, ContentType: in.ContentType,
		ContentID: in.ContentID, IsInline: in.IsInline, Size: in.Size}
	if a.Type == "" {
		a.Type = typeFile
	}
	if in.ContentBytes != "" {
		b, err := base64.StdEncoding.DecodeString(in.ContentBytes)
		if err != nil {
			return nil, fmt.Errorf("attachment %q: contentBytes: %w", in.Name, err)
		}
		a.bytes, a.Size = b, int64(len(b))
	}
	switch a.Type {
	case typeFile:
		if a.ContentType == "" {
			a.ContentType = "application/octet-stream"
		}
	case typeItem:
		a.item = in.Item
		if a.item == nil {
			a.item = map[string]any{"subject": in.Name}
		}
		if a.bytes == nil {
			a.bytes = buildMIME(a.item)
		}
		a.Size = int64(len(a.bytes))
	case typeReference:
		a.extra = map[string]any{}
		if in.SourceURL != "" && in.ExposeSourceURL {
			a.extra["sourceUrl"] = in.SourceURL
		}
		if a.Size == 0 {
			a.Size = 412
		}
	default:
		return nil, fmt.Errorf("attachment %q: unknown @odata.type %q", in.Name, in.ODataType)
	}
	return a, nil
}

// content streams the attachment's raw bytes.
func (a *attachment) content() io.Reader {
	if a.bytes != nil {
		return bytes.NewReader(a.bytes)
	}
	return SyntheticContent(a.Name, a.Size)
}

// SyntheticContent returns the deterministic bytes the simulator serves for
// an attachment given only by name and size.
func SyntheticContent(name string, size int64) io.Reader {
	seed := sha256.Sum256([]byte(name + "\x00" + strconv.FormatInt(size, 10)))
	return io.LimitReader(rand.NewChaCha8(seed), size)
}

// json renders the attachment as Graph does; contentBytes only for file
// attachments up to 3 MB when withBytes.
func (a *attachment) json(withBytes bool) map[string]any {
	out := map[string]any{
		"@odata.type":          a.Type,
		"id":                   a.ID,
		"lastModifiedDateTime": formatTime(a.LastModified),
		"name":                 a.Name,
		"contentType":          nullable(a.ContentType),
		"size":                 a.Size,
		"isInline":             a.IsInline,
	}
	switch a.Type {
	case typeFile:
		out["@odata.mediaContentType"] = a.ContentType
		out["contentId"] = nullable(a.ContentID)
		out["contentLocation"] = nil
		if withBytes && a.Size <= inlineBytesLimit {
			var buf bytes.Buffer
			io.Copy(&buf, a.content())
			out["contentBytes"] = base64.StdEncoding.EncodeToString(buf.Bytes())
		}
	case typeReference:
		for k, v := range a.extra {
			out[k] = v
		}
	}
	return out
}

// selectFields keeps only the $select fields (plus @odata.type and id).
func selectFields(m map[string]any, sel []string) map[string]any {
	if len(sel) == 0 {
		return m
	}
	out := map[string]any{"@odata.type": m["@odata.type"], "id": m["id"]}
	for _, f := range sel {
		for k, v := range m {
			if equalFold(k, f) {
				out[k] = v
			}
		}
	}
	return out
}

func (s *Server) handleListAttachments(w http.ResponseWriter, r *http.Request) {
	m, err := s.findMessage(r)
	if err != nil {
		s.notFound(w, r)
		return
	}
	q := parseQuery(r.URL.Query())
	wantBytes := len(q.sel) == 0 || containsFold(q.sel, "contentBytes")
	list := []any{}
	for _, a := range m.attachments {
		list = append(list, selectFields(a.json(wantBytes), q.sel))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.context": baseURL(r) + "/v1.0/$metadata#users('" + m.user.ID + "')/messages('" + m.ID + "')/attachments",
		"value":          list,
	})
}

// findAttachment resolves {aid} of a request.
func (s *Server) findAttachment(w http.ResponseWriter, r *http.Request) (*message, *attachment, bool) {
	m, err := s.findMessage(r)
	if err == nil {
		for _, a := range m.attachments {
			if a.ID == r.PathValue("aid") {
				return m, a, true
			}
		}
	}
	s.notFound(w, r)
	return nil, nil, false
}

func (s *Server) handleGetAttachment(w http.ResponseWriter, r *http.Request) {
	m, a, ok := s.findAttachment(w, r)
	if !ok {
		return
	}
	q := parseQuery(r.URL.Query())
	out := selectFields(a.json(true), q.sel)
	if a.Type == typeItem && containsFold(splitList(r.URL.Query().Get("$expand")), "microsoft.graph.itemattachment/item") {
		out["item"] = a.item
	}
	out["@odata.context"] = baseURL(r) + "/v1.0/$metadata#users('" + m.user.ID + "')/messages('" + m.ID + "')/attachments/$entity"
	writeJSON(w, http.StatusOK, out)
}

// handleAttachmentValue streams the raw bytes: the file, the attached
// message's MIME, or 405 for reference attachments (as Graph).
func (s *Server) handleAttachmentValue(w http.ResponseWriter, r *http.Request) {
	_, a, ok := s.findAttachment(w, r)
	if !ok {
		return
	}
	switch a.Type {
	case typeReference:
		s.graphError(w, r, http.StatusMethodNotAllowed, "ErrorInvalidRequest", "The OData request is not supported.")
		return
	case typeItem:
		w.Header().Set("Content-Type", "text/plain")
	default:
		w.Header().Set("Content-Type", a.ContentType)
	}
	w.Header().Set("Content-Length", strconv.FormatInt(a.Size, 10))
	io.Copy(w, a.content())
}
