package graphsim

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// message is one stored message. data is the Graph JSON of the message and
// is never mutated once stored (changes replace the map), so it may be
// rendered outside the lock.
//
// A message has two IDs, as in Exchange: ID is its immutable ID, restID its
// regular ("REST") ID, which encodes the folder and so changes when the
// message moves. "By default, this value changes when the item is moved from
// one container (such as a folder or calendar) to another. To change this
// behavior, use the Prefer: IdType="ImmutableId" header"; "This header only
// applies to the request it is included with"; "immutable ID will NOT change
// if the item is moved to a different folder in the mailbox"
// (learn.microsoft.com/graph/outlook-immutable-id, includes/outlook-immutable-
// id.md; graph.md Errata). Which one a response carries follows the request's
// Prefer header (a notification: the subscription's creation request); a
// request may name the message by either, but a regular ID given out before a
// move answers 404 ErrorItemNotFound afterwards (msgraph-sdk-java#1171,
// microsoft-graph-docs#6256).
type message struct {
	ID          string // immutable: kept across moves
	restID      string // regular: new on every move
	user        *user
	folder      *folder
	data        map[string]any
	ext         []any // singleValueExtendedProperties
	attachments []*attachment
	received    time.Time
	seq         uint64
}

var errNotFound = errors.New("not found")

// user resolves (and, on first use, creates) a mailbox.
func (s *Server) user(ref string) *user {
	s.mu.RLock()
	u := s.tenant.lookupUser(ref)
	s.mu.RUnlock()
	if u != nil {
		return u
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tenant.ensureUser(ref)
}

// addMessage stores a new message in f, filling the fields Exchange sets.
// Callers hold s.mu.
func (t *tenant) addMessage(u *user, f *folder, data map[string]any, atts []*attachment, now time.Time) (*message, error) {
	d := make(map[string]any, len(data)+16)
	for k, v := range data {
		d[k] = v
	}
	m := &message{user: u, folder: f, attachments: atts}
	if id, ok := d["id"].(string); ok && id != "" {
		if t.messages[id] != nil {
			return nil, fmt.Errorf("message ID %q already exists", id)
		}
		m.ID = id
	} else {
		m.ID = newMessageID()
	}
	m.restID = newRestID()
	if ext, ok := d["singleValueExtendedProperties"].([]any); ok {
		m.ext = ext
	}
	delete(d, "singleValueExtendedProperties")
	delete(d, "@odata.etag")
	delete(d, "@odata.context")
	d["id"] = m.ID
	d["parentFolderId"] = f.ID
	setDefault(d, "receivedDateTime", formatTime(now))
	received, err := time.Parse(time.RFC3339, fmt.Sprint(d["receivedDateTime"]))
	if err != nil {
		return nil, fmt.Errorf("receivedDateTime: %w", err)
	}
	m.received = received.UTC()
	d["receivedDateTime"] = formatTime(m.received)
	setDefault(d, "sentDateTime", d["receivedDateTime"])
	setDefault(d, "createdDateTime", d["receivedDateTime"])
	setDefault(d, "lastModifiedDateTime", d["receivedDateTime"])
	setDefault(d, "internetMessageId", "<"+randB64(12)+"@graphsim.invalid>")
	setDefault(d, "conversationId", "AAQkAGI2"+randB64(18)+"=")
	setDefault(d, "subject", "")
	setDefault(d, "isDraft", f.WellKnown == "drafts")
	setDefault(d, "isRead", false)
	setDefault(d, "importance", "normal")
	if _, ok := d["bodyPreview"]; !ok {
		d["bodyPreview"] = preview(d["body"])
	}
	if len(atts) > 0 || d["hasAttachments"] == nil {
		has := false
		for _, a := range atts {
			has = has || !a.IsInline
		}
		d["hasAttachments"] = has
	}
	for _, a := range atts {
		if a.LastModified.IsZero() {
			a.LastModified = m.received
		}
	}
	setDefault(d, "webLink", "https://outlook.office365.com/owa/?ItemID="+m.ID+"&exvsurl=1&viewmodel=ReadMessageItem")
	m.data = d
	t.store(m)
	return m, nil
}

// store puts m (new, or a copy after a move) into its folder.
func (t *tenant) store(m *message) {
	m.seq = t.nextSeq()
	d := make(map[string]any, len(m.data))
	for k, v := range m.data {
		d[k] = v
	}
	ck := changeKey(m.seq)
	d["changeKey"] = ck
	d["@odata.etag"] = `W/"` + ck + `"`
	m.data = d
	m.folder.msgs[m.ID] = m
	t.messages[m.ID] = m
	if t.restIDs == nil {
		t.restIDs = map[string]string{}
	}
	t.restIDs[m.restID] = m.ID
}

// message finds a current message by its immutable or its regular ID.
// Callers hold s.mu.
func (t *tenant) message(id string) *message {
	if m := t.messages[id]; m != nil {
		return m
	}
	return t.messages[t.restIDs[id]]
}

// remove takes m out of its folder, leaving a tombstone for delta.
func (t *tenant) remove(m *message) {
	delete(m.folder.msgs, m.ID)
	delete(t.messages, m.ID)
	delete(t.restIDs, m.restID)
	m.folder.tombstones = append(m.folder.tombstones, tombstone{id: m.ID, restID: m.restID, seq: t.nextSeq()})
}

// move puts m into dst and returns the moved message: the same immutable ID,
// a new regular ID (the old one answers 404 from now on). The source folder
// keeps a tombstone, so its delta reports the message @removed; the
// destination's delta reports it as new.
func (t *tenant) move(m *message, dst *folder) *message {
	t.remove(m)
	n := &message{ID: m.ID, restID: newRestID(), user: m.user, folder: dst, ext: m.ext, attachments: m.attachments, received: m.received}
	n.data = make(map[string]any, len(m.data))
	for k, v := range m.data {
		n.data[k] = v
	}
	n.data["parentFolderId"] = dst.ID
	t.store(n)
	return n
}

// idFor returns the ID a response carries: the immutable one when the
// request (or the subscription's creation) asked for it.
func (m *message) idFor(immutable bool) string {
	if immutable {
		return m.ID
	}
	return m.restID
}

// wantsImmutable reports whether a request carries Prefer:
// IdType="ImmutableId" (quotes optional, case-insensitive).
func wantsImmutable(r *http.Request) bool {
	for _, p := range preferValues(r) {
		if v, ok := cutPrefixFold(p, "idtype="); ok && strings.EqualFold(strings.Trim(strings.TrimSpace(v), `"`), "ImmutableId") {
			return true
		}
	}
	return false
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return "", false
}

// newRestID returns an ID shaped like a regular Exchange item ID ("AAMk…");
// immutable ones (newMessageID) start "AAkAL…".
func newRestID() string { return "AAMkAGI2THVSAAA" + randB64(30) + "BGAAA=" }

func changeKey(seq uint64) string {
	return "CQAAABYAAACpXEfd8n5iSqxXwOX1qpFy" + base64.StdEncoding.EncodeToString([]byte(strconv.FormatUint(seq, 36)))
}

func setDefault(d map[string]any, k string, v any) {
	if cur, ok := d[k]; !ok || cur == nil {
		d[k] = v
	}
}

var tagRE = regexp.MustCompile(`<[^>]*>`)

// preview derives bodyPreview (first 255 characters of the text) from body.
func preview(body any) string {
	b, _ := body.(map[string]any)
	text, _ := b["content"].(string)
	if strings.EqualFold(fmt.Sprint(b["contentType"]), "html") {
		text = tagRE.ReplaceAllString(text, " ")
	}
	text = strings.Join(strings.Fields(text), " ")
	if r := []rune(text); len(r) > 255 {
		text = string(r[:255])
	}
	return text
}

// query holds the OData options the simulator honours for messages.
type query struct {
	sel    []string // $select (empty = all)
	extIDs []string // $expand of singleValueExtendedProperties: the ids asked for
	expand bool     // singleValueExtendedProperties expanded
	// Per request, from its Prefer header (not kept in delta tokens).
	immutable bool // IdType="ImmutableId": the immutable ID, else the regular one
	text      bool // outlook.body-content-type="text": body as plain text
}

// withPrefer sets what the request's Prefer header asks of rendering.
func (q query) withPrefer(r *http.Request) query {
	q.immutable = wantsImmutable(r)
	q.text = wantsText(r)
	return q
}

var extIDRE = regexp.MustCompile(`(?i)id\s+eq\s+'([^']*)'`)

func parseQuery(v map[string][]string) query {
	var q query
	if sel := first(v, "$select"); sel != "" {
		for _, f := range strings.Split(sel, ",") {
			if f = strings.TrimSpace(f); f != "" {
				q.sel = append(q.sel, f)
			}
		}
	}
	if exp := first(v, "$expand"); strings.Contains(strings.ToLower(exp), "singlevalueextendedproperties") {
		q.expand = true
		for _, m := range extIDRE.FindAllStringSubmatch(exp, -1) {
			q.extIDs = append(q.extIDs, m[1])
		}
	}
	return q
}

func first(v map[string][]string, k string) string {
	if vs := v[k]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// render returns the message JSON as Graph would answer it for q.
func (m *message) render(q query) map[string]any {
	var out map[string]any
	if len(q.sel) == 0 {
		out = make(map[string]any, len(m.data)+1)
		for k, v := range m.data {
			out[k] = v
		}
	} else {
		out = map[string]any{"@odata.etag": m.data["@odata.etag"]}
		for _, f := range q.sel {
			for k, v := range m.data {
				if strings.EqualFold(k, f) {
					out[k] = v
				}
			}
		}
	}
	out["id"] = m.idFor(q.immutable)
	if b, ok := out["body"]; ok {
		out["body"] = renderBody(b, q.text)
	}
	if q.expand {
		var props []any
		for _, p := range m.ext {
			pm, _ := p.(map[string]any)
			id, _ := pm["id"].(string)
			if len(q.extIDs) == 0 || containsFold(q.extIDs, id) {
				props = append(props, p)
			}
		}
		if len(props) > 0 {
			out["singleValueExtendedProperties"] = props
		}
	}
	return out
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// findMessage resolves {uid}, optional {fid} and {mid} of a request.
func (s *Server) findMessage(r *http.Request) (*message, error) {
	u := s.user(r.PathValue("uid"))
	s.mu.RLock()
	defer s.mu.RUnlock()
	m := s.tenant.message(r.PathValue("mid"))
	if m == nil || m.user != u {
		return nil, errNotFound
	}
	if fid := r.PathValue("fid"); fid != "" && u.folder(fid) != m.folder {
		return nil, errNotFound
	}
	return m, nil
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.graphError(w, r, http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
}

func (s *Server) handleGetMessage(w http.ResponseWriter, r *http.Request) {
	m, err := s.findMessage(r)
	if err != nil {
		s.notFound(w, r)
		return
	}
	out := m.render(parseQuery(r.URL.Query()).withPrefer(r))
	out["@odata.context"] = baseURL(r) + "/v1.0/$metadata#users('" + m.user.ID + "')/messages/$entity"
	writeJSON(w, http.StatusOK, out)
}

// handleListMessages lists a folder's (or the mailbox's) messages, newest
// first, honouring $top (default 10, max 1000), $skip, $select, $expand,
// $filter=receivedDateTime ge|gt … and $orderby=receivedDateTime [asc|desc].
// Unlike a filtered delta, a filtered list has no 5,000 cap.
func (s *Server) handleListMessages(w http.ResponseWriter, r *http.Request) {
	u := s.user(r.PathValue("uid"))
	v := r.URL.Query()
	q := parseQuery(v).withPrefer(r)
	top, _ := strconv.Atoi(first(v, "$top"))
	if top <= 0 {
		top = 10
	}
	if p := maxPageSize(r); p > 0 && first(v, "$top") == "" {
		top = p
	}
	top = min(top, 1000)
	skip, _ := strconv.Atoi(first(v, "$skip"))
	p, ok := parseListFilter(first(v, "$filter"))
	if !ok {
		s.graphError(w, r, http.StatusBadRequest, "ErrorInvalidUrlQueryFilter", "The query filter contains one or more invalid nodes.")
		return
	}
	asc := false
	switch ob := strings.ToLower(strings.Join(strings.Fields(first(v, "$orderby")), " ")); ob {
	case "", "receiveddatetime desc":
	case "receiveddatetime", "receiveddatetime asc":
		asc = true
	default:
		s.graphError(w, r, http.StatusBadRequest, "ErrorInvalidProperty", "The $orderby expression is not supported by the simulator.")
		return
	}
	s.mu.RLock()
	var msgs []*message
	if fid := r.PathValue("fid"); fid != "" {
		f := u.folder(fid)
		if f == nil {
			s.mu.RUnlock()
			s.notFound(w, r)
			return
		}
		for _, m := range f.msgs {
			if p.matches(m) {
				msgs = append(msgs, m)
			}
		}
	} else {
		for _, f := range u.folders {
			for _, m := range f.msgs {
				if p.matches(m) {
					msgs = append(msgs, m)
				}
			}
		}
	}
	s.mu.RUnlock()
	sort.Slice(msgs, func(i, j int) bool {
		if !msgs[i].received.Equal(msgs[j].received) {
			return msgs[i].received.After(msgs[j].received) != asc
		}
		return (msgs[i].seq > msgs[j].seq) != asc
	})
	out := map[string]any{"@odata.context": baseURL(r) + "/v1.0/$metadata#users('" + u.ID + "')/messages"}
	var page []any
	for i := skip; i < len(msgs) && i < skip+top; i++ {
		page = append(page, msgs[i].render(q))
	}
	if page == nil {
		page = []any{}
	}
	out["value"] = page
	if skip+top < len(msgs) {
		nv := r.URL.Query()
		nv.Set("$skip", strconv.Itoa(skip+top))
		nv.Set("$top", strconv.Itoa(top))
		out["@odata.nextLink"] = baseURL(r) + r.URL.Path + "?" + nv.Encode()
	}
	writeJSON(w, http.StatusOK, out)
}

// handleMessageValue streams the message's MIME.
func (s *Server) handleMessageValue(w http.ResponseWriter, r *http.Request) {
	m, err := s.findMessage(r)
	if err != nil {
		s.notFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Write(buildMIME(m.data))
}

func (s *Server) handleGetUser(w http.ResponseWriter, r *http.Request) {
	body := userJSON(s.user(r.PathValue("uid")))
	body["@odata.context"] = baseURL(r) + "/v1.0/$metadata#users/$entity"
	writeJSON(w, http.StatusOK, body)
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

var listFilterRE = regexp.MustCompile(`(?i)^\s*receivedDateTime\s+(ge|gt|le|lt)\s+(\S+)\s*$`)

// parseListFilter parses the $filter of a message list the simulator
// understands: receivedDateTime compared with ge, gt, le or lt, clauses
// joined by "and".
func parseListFilter(flt string) (deltaParams, bool) {
	var p deltaParams
	if strings.TrimSpace(flt) == "" {
		return p, true
	}
	for _, c := range regexp.MustCompile(`(?i)\s+and\s+`).Split(flt, -1) {
		m := listFilterRE.FindStringSubmatch(c)
		if m == nil {
			return p, false
		}
		t, err := time.Parse(time.RFC3339, m[2])
		if err != nil {
			return p, false
		}
		switch strings.ToLower(m[1]) {
		case "ge", "gt":
			p.since, p.strict = t, strings.EqualFold(m[1], "gt")
		default:
			p.until, p.untilStrict = t, strings.EqualFold(m[1], "lt")
		}
	}
	return p, true
}
