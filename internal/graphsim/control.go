package graphsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dedesales/exchange-connector/internal/model"
)

// The control API (no auth) drives the simulator; see doc.go for formats.
func (s *Server) controlRoutes() {
	m := s.mux
	m.HandleFunc("POST /_sim/messages", s.ctlCreateMessage)
	m.HandleFunc("POST /_sim/messages/{id}/move", s.ctlMoveMessage)
	m.HandleFunc("PATCH /_sim/messages/{id}", s.ctlUpdateMessage)
	m.HandleFunc("DELETE /_sim/messages/{id}", s.ctlDeleteMessage)
	m.HandleFunc("POST /_sim/folders", s.ctlCreateFolder)
	m.HandleFunc("POST /_sim/users", s.ctlCreateUser)
	m.HandleFunc("POST /_sim/lifecycle", s.ctlLifecycle)
	m.HandleFunc("GET /_sim/faults", s.ctlGetFaults)
	m.HandleFunc("POST /_sim/faults", s.ctlSetFaults)
	m.HandleFunc("POST /_sim/secrets", s.ctlSecrets)
	m.HandleFunc("POST /_sim/certificates", s.ctlCertificates)
	m.HandleFunc("POST /_sim/clock", s.ctlClock)
	m.HandleFunc("POST /_sim/delta/expire", s.ctlExpireDelta)
	m.HandleFunc("GET /_sim/state", s.ctlState)
	m.HandleFunc("GET /_sim/stats", s.ctlStats)
}

// ctlError answers a control-API error as {"error": "…"}.
func ctlError(w http.ResponseWriter, status int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}

func ctlJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// MessageInput is the body of POST /_sim/messages.
type MessageInput struct {
	Mailbox     string            `json:"mailbox"`
	Folder      string            `json:"folder"` // default "inbox"
	Message     map[string]any    `json:"message"`
	Attachments []AttachmentInput `json:"attachments"`
	// Notify: false stores the message without change notifications
	// (seeding); default true.
	Notify *bool `json:"notify"`
}

// CreatedMessage is the answer of POST /_sim/messages. ID is the immutable
// ID (what a client sending Prefer: IdType="ImmutableId" sees), RestID the
// regular one (what it sees without).
type CreatedMessage struct {
	ID                string `json:"id"`
	RestID            string `json:"restId"`
	Mailbox           string `json:"mailbox"`
	ParentFolderID    string `json:"parentFolderId"`
	InternetMessageID string `json:"internetMessageId"`
}

// CreateMessage stores a message (creating the mailbox and missing folders)
// and notifies the subscribers.
func (s *Server) CreateMessage(in MessageInput) (CreatedMessage, error) {
	if in.Mailbox == "" {
		return CreatedMessage{}, errors.New("mailbox is required")
	}
	atts := make([]*attachment, 0, len(in.Attachments))
	for _, ai := range in.Attachments {
		a, err := ai.build()
		if err != nil {
			return CreatedMessage{}, err
		}
		atts = append(atts, a)
	}
	u := s.user(in.Mailbox)
	s.mu.Lock()
	f, err := s.tenant.ensureFolderPath(u, in.Folder)
	var m *message
	if err == nil {
		m, err = s.tenant.addMessage(u, f, normalizeJSON(in.Message), atts, s.now())
	}
	var notes []note
	if err == nil && (in.Notify == nil || *in.Notify) {
		notes = s.changeNotes(m, "created")
		// Graph's Sent Items copy: notified, but not readable for a while.
		if wait := s.faults.Load().hideFor(u, f); wait > 0 {
			s.hide(m, wait)
		}
	}
	s.mu.Unlock()
	if err != nil {
		return CreatedMessage{}, fmt.Errorf("create message: %w", err)
	}
	s.notify.enqueue(notes...)
	return CreatedMessage{ID: m.ID, RestID: m.restID, Mailbox: u.ID, ParentFolderID: f.ID, InternetMessageID: str(m.data["internetMessageId"])}, nil
}

// normalizeJSON round-trips v through JSON so numbers and maps have the
// shapes encoding/json gives (scenario YAML and json.Number inputs).
func normalizeJSON(v map[string]any) map[string]any {
	if v == nil {
		return map[string]any{}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out map[string]any
	if json.Unmarshal(b, &out) != nil {
		return v
	}
	return out
}

// MoveMessage moves a message (by its immutable or regular ID) to folder (a
// reference as in CreateMessage) and returns its immutable ID, which the
// move keeps; the message gets a new regular ID (MovedMessage), and the old
// regular ID answers 404. The source folder's subscribers get "deleted" and
// the destination's "created": "Moving an email between two folders
// triggers "created" event for mailbox subscriptions" (microsoft-graph-docs
// #11710, docs-contrib #686; graph.md §9 item 2); the source folder's delta
// reports it @removed, the destination's as new.
func (s *Server) MoveMessage(id, folderRef string) (string, error) {
	mv, err := s.Move(id, folderRef)
	return mv.ID, err
}

// MovedMessage is the answer of POST /_sim/messages/{id}/move.
type MovedMessage struct {
	ID             string `json:"id"`             // immutable, unchanged
	PreviousID     string `json:"previousId"`     // the ID the move was asked for
	RestID         string `json:"restId"`         // the new regular ID
	PreviousRestID string `json:"previousRestId"` // the regular ID before (404 now)
}

// Move is MoveMessage with both IDs of the moved message.
func (s *Server) Move(id, folderRef string) (MovedMessage, error) {
	s.mu.Lock()
	m := s.tenant.message(id)
	if m == nil {
		s.mu.Unlock()
		return MovedMessage{}, fmt.Errorf("move message %q: %w", id, errNotFound)
	}
	dst, err := s.tenant.ensureFolderPath(m.user, folderRef)
	if err != nil {
		s.mu.Unlock()
		return MovedMessage{}, fmt.Errorf("move message %q: %w", id, err)
	}
	notes := s.changeNotes(m, "deleted")
	n := s.tenant.move(m, dst)
	notes = append(notes, s.changeNotes(n, "created")...)
	s.mu.Unlock()
	s.notify.enqueue(notes...)
	return MovedMessage{ID: n.ID, PreviousID: id, RestID: n.restID, PreviousRestID: m.restID}, nil
}

// DeleteMessage removes a message for good.
func (s *Server) DeleteMessage(id string) error {
	s.mu.Lock()
	m := s.tenant.message(id)
	if m == nil {
		s.mu.Unlock()
		return fmt.Errorf("delete message %q: %w", id, errNotFound)
	}
	notes := s.changeNotes(m, "deleted")
	s.tenant.remove(m)
	s.mu.Unlock()
	s.notify.enqueue(notes...)
	return nil
}

// UpdateMessage merges fields into a message (e.g. isRead) and notifies
// "updated".
func (s *Server) UpdateMessage(id string, fields map[string]any) error {
	fields = normalizeJSON(fields)
	s.mu.Lock()
	m := s.tenant.message(id)
	if m == nil {
		s.mu.Unlock()
		return fmt.Errorf("update message %q: %w", id, errNotFound)
	}
	for _, k := range []string{"id", "parentFolderId", "@odata.etag", "changeKey"} {
		delete(fields, k)
	}
	// Readers render messages outside the lock: replace, never mutate.
	n := *m
	n.data = make(map[string]any, len(m.data)+len(fields))
	for k, v := range m.data {
		n.data[k] = v
	}
	for k, v := range fields {
		if k == "singleValueExtendedProperties" {
			n.ext, _ = v.([]any)
			continue
		}
		n.data[k] = v
	}
	n.data["lastModifiedDateTime"] = formatTime(s.now())
	s.tenant.store(&n)
	notes := s.changeNotes(&n, "updated")
	s.mu.Unlock()
	s.notify.enqueue(notes...)
	return nil
}

func (s *Server) ctlCreateMessage(w http.ResponseWriter, r *http.Request) {
	var in MessageInput
	if err := decodeJSON(r, &in); err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	out, err := s.CreateMessage(in)
	if err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	ctlJSON(w, http.StatusCreated, out)
}

func (s *Server) ctlMoveMessage(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Mailbox string `json:"mailbox"`
		Folder  string `json:"folder"`
	}
	if err := decodeJSON(r, &in); err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	mv, err := s.Move(r.PathValue("id"), in.Folder)
	if err != nil {
		ctlError(w, statusOf(err), err)
		return
	}
	ctlJSON(w, http.StatusOK, mv)
}

func (s *Server) ctlUpdateMessage(w http.ResponseWriter, r *http.Request) {
	var fields map[string]any
	if err := decodeJSON(r, &fields); err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	if err := s.UpdateMessage(r.PathValue("id"), fields); err != nil {
		ctlError(w, statusOf(err), err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) ctlDeleteMessage(w http.ResponseWriter, r *http.Request) {
	if err := s.DeleteMessage(r.PathValue("id")); err != nil {
		ctlError(w, statusOf(err), err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func statusOf(err error) int {
	if errors.Is(err, errNotFound) {
		return http.StatusNotFound
	}
	return http.StatusBadRequest
}

// FolderInput is the body of POST /_sim/folders: either Folder (a path as
// in MessageInput.Folder) or Parent (a folder reference, default
// msgfolderroot) + DisplayName.
type FolderInput struct {
	Mailbox     string `json:"mailbox"`
	Folder      string `json:"folder"`
	Parent      string `json:"parent"`
	DisplayName string `json:"displayName"`
	IsHidden    bool   `json:"isHidden"`
}

// CreateFolder creates (or finds) a folder and returns its ID.
func (s *Server) CreateFolder(in FolderInput) (string, error) {
	if in.Mailbox == "" {
		return "", errors.New("create folder: mailbox is required")
	}
	u := s.user(in.Mailbox)
	s.mu.Lock()
	defer s.mu.Unlock()
	path := in.Folder
	if path == "" {
		if in.DisplayName == "" {
			return "", errors.New("create folder: folder or displayName is required")
		}
		parent := in.Parent
		if parent == "" {
			parent = "msgfolderroot"
		}
		p := u.folder(parent)
		if p == nil {
			var err error
			if p, err = s.tenant.ensureFolderPath(u, parent); err != nil {
				return "", fmt.Errorf("create folder: %w", err)
			}
		}
		for _, id := range p.children {
			if strings.EqualFold(u.folders[id].DisplayName, in.DisplayName) {
				return id, nil
			}
		}
		return s.tenant.newFolder(u, p.ID, in.DisplayName, in.IsHidden).ID, nil
	}
	f, err := s.tenant.ensureFolderPath(u, path)
	if err != nil {
		return "", fmt.Errorf("create folder: %w", err)
	}
	if in.IsHidden {
		f.Hidden = true
	}
	return f.ID, nil
}

func (s *Server) ctlCreateFolder(w http.ResponseWriter, r *http.Request) {
	var in FolderInput
	if err := decodeJSON(r, &in); err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	id, err := s.CreateFolder(in)
	if err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	s.mu.RLock()
	u := s.tenant.lookupUser(in.Mailbox)
	out := u.folderJSON(u.folders[id])
	s.mu.RUnlock()
	ctlJSON(w, http.StatusCreated, out)
}

// UserInput describes a user (POST /_sim/users, scenario users).
type UserInput struct {
	ID                string `json:"id" yaml:"id"`
	DisplayName       string `json:"displayName" yaml:"displayName"`
	Mail              string `json:"mail" yaml:"mail"`
	UserPrincipalName string `json:"userPrincipalName" yaml:"userPrincipalName"`
	// ProxyAddresses are further SMTP addresses of the user ("smtp:" prefix
	// optional). Graph paths accept only the ID and the UPN; mail and
	// aliases are found with GET /users?$filter=….
	ProxyAddresses []string `json:"proxyAddresses" yaml:"proxyAddresses"`
}

// AddUser creates a user with the well-known folders (or returns the
// existing one with that ID, mail or UPN) and returns its ID.
func (s *Server) AddUser(in UserInput) (string, error) {
	if in.Mail == "" && in.UserPrincipalName == "" && in.ID == "" {
		return "", errors.New("add user: id, mail or userPrincipalName is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ref := range []string{in.ID, in.Mail, in.UserPrincipalName} {
		if ref != "" {
			if u := s.tenant.lookupUser(ref); u != nil {
				return u.ID, nil
			}
		}
	}
	if in.UserPrincipalName == "" {
		in.UserPrincipalName = in.Mail
	}
	if in.Mail == "" {
		in.Mail = in.UserPrincipalName
	}
	if in.ID == "" {
		in.ID = nameGUID(in.UserPrincipalName)
	}
	if in.DisplayName == "" {
		in.DisplayName, _, _ = strings.Cut(in.UserPrincipalName, "@")
	}
	var aliases []string
	for _, a := range in.ProxyAddresses {
		if strings.HasPrefix(strings.ToLower(a), "smtp:") {
			a = a[len("smtp:"):]
		}
		if a != "" {
			aliases = append(aliases, a)
		}
	}
	s.tenant.addUser(&user{ID: strings.ToLower(in.ID), DisplayName: in.DisplayName, Mail: in.Mail, UPN: in.UserPrincipalName, Aliases: aliases})
	return strings.ToLower(in.ID), nil
}

func (s *Server) ctlCreateUser(w http.ResponseWriter, r *http.Request) {
	var in UserInput
	if err := decodeJSON(r, &in); err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	id, err := s.AddUser(in)
	if err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	ctlJSON(w, http.StatusCreated, map[string]string{"id": id})
}

// SendLifecycle sends event to the lifecycleNotificationUrl of the
// subscriptions of mailbox (or only subscriptionID when given).
// subscriptionRemoved also removes them. It returns how many were sent.
func (s *Server) SendLifecycle(mailbox, subscriptionID, event string) (int, error) {
	canon, ok := model.ParseLifecycleEvent(event)
	if !ok {
		return 0, fmt.Errorf("lifecycle: unknown event %q", event)
	}
	event = canon
	s.sweepSubscriptions()
	s.mu.Lock()
	var uid string
	if mailbox != "" {
		u := s.tenant.lookupUser(mailbox)
		if u == nil {
			s.mu.Unlock()
			return 0, fmt.Errorf("lifecycle: mailbox %q: %w", mailbox, errNotFound)
		}
		uid = u.ID
	}
	var notes []note
	for id, sub := range s.tenant.subs {
		if (uid != "" && sub.userID != uid) || (subscriptionID != "" && id != subscriptionID) {
			continue
		}
		if sub.LifecycleURL != "" {
			notes = append(notes, note{subID: id, url: sub.LifecycleURL, lifecycle: true, item: s.lifecycleItem(sub, event)})
		}
		if event == model.EventSubscriptionRemoved {
			delete(s.tenant.subs, id)
		}
	}
	s.mu.Unlock()
	s.notify.enqueue(notes...)
	return len(notes), nil
}

func (s *Server) ctlLifecycle(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Mailbox        string `json:"mailbox"`
		SubscriptionID string `json:"subscriptionId"`
		Event          string `json:"event"`
	}
	if err := decodeJSON(r, &in); err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	n, err := s.SendLifecycle(in.Mailbox, in.SubscriptionID, in.Event)
	if err != nil {
		ctlError(w, statusOf(err), err)
		return
	}
	ctlJSON(w, http.StatusOK, map[string]int{"sent": n})
}

func (s *Server) ctlGetFaults(w http.ResponseWriter, r *http.Request) {
	ctlJSON(w, http.StatusOK, s.CurrentFaults())
}

// ctlSetFaults merges the posted fields into the faults ("reset": true
// starts from none).
func (s *Server) ctlSetFaults(w http.ResponseWriter, r *http.Request) {
	var raw map[string]json.RawMessage
	if err := decodeJSON(r, &raw); err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	f := s.CurrentFaults()
	if reset, ok := raw["reset"]; ok {
		if string(reset) == "true" {
			f = Faults{}
		}
		delete(raw, "reset")
	}
	b, _ := json.Marshal(raw)
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		ctlError(w, http.StatusBadRequest, fmt.Errorf("faults: %w", err))
		return
	}
	if err := f.Delivery.validate(); err != nil {
		ctlError(w, http.StatusBadRequest, fmt.Errorf("faults: %w", err))
		return
	}
	if f.RetryAfter != "" {
		if v, err := strconv.ParseFloat(f.RetryAfter, 64); err != nil || v < 0 {
			if _, derr := http.ParseTime(f.RetryAfter); derr != nil {
				ctlError(w, http.StatusBadRequest, fmt.Errorf("faults: retryAfter %q is neither seconds nor an HTTP date", f.RetryAfter))
				return
			}
		}
	}
	s.SetFaults(f)
	ctlJSON(w, http.StatusOK, f)
}

// SecretInput adds a client secret (POST /_sim/secrets "add", scenario).
// Times are RFC 3339 or relative ("-3d", "+90d", "12h").
type SecretInput struct {
	SecretText    string `json:"secretText" yaml:"secretText"`
	DisplayName   string `json:"displayName" yaml:"displayName"`
	StartDateTime string `json:"startDateTime" yaml:"startDateTime"`
	EndDateTime   string `json:"endDateTime" yaml:"endDateTime"`
	// Current: the entry describes the --client-secret (Options.ClientSecret)
	// and sets its dates/name instead of adding a secret (scenario only).
	Current bool `json:"current" yaml:"current"`
}

// SecretInfo is a password credential as the state shows it.
type SecretInfo struct {
	KeyID         string    `json:"keyId"`
	DisplayName   string    `json:"displayName"`
	Hint          string    `json:"hint"`
	StartDateTime time.Time `json:"startDateTime"`
	EndDateTime   time.Time `json:"endDateTime"`
	Expired       bool      `json:"expired"`
}

// AddSecret adds a client secret (or, with Current, updates the dates of
// Options.ClientSecret) and returns its key ID.
func (s *Server) AddSecret(in SecretInput) (string, error) {
	now := s.now()
	start, end := now.AddDate(0, 0, -1), now.AddDate(1, 0, 0)
	var err error
	if in.StartDateTime != "" {
		if start, err = parseTime(in.StartDateTime, now); err != nil {
			return "", fmt.Errorf("secret startDateTime: %w", err)
		}
	}
	if in.EndDateTime != "" {
		if end, err = parseTime(in.EndDateTime, now); err != nil {
			return "", fmt.Errorf("secret endDateTime: %w", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if in.Current || (in.SecretText != "" && in.SecretText == s.opts.ClientSecret) {
		for _, sec := range s.tenant.secrets {
			if sec.Text == s.opts.ClientSecret {
				sec.Start, sec.End = start, end
				if in.DisplayName != "" {
					sec.DisplayName = in.DisplayName
				}
				return sec.KeyID, nil
			}
		}
		in.SecretText = s.opts.ClientSecret
	}
	if in.SecretText == "" {
		in.SecretText = randB64(30)
	}
	sec := &secret{KeyID: newGUID(), DisplayName: in.DisplayName, Text: in.SecretText, Start: start, End: end}
	s.tenant.addSecret(sec)
	return sec.KeyID, nil
}

// ExpireSecret ends a secret now; ref is its key ID, text or display name.
func (s *Server) ExpireSecret(ref string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sec := range s.tenant.secrets {
		if sec.KeyID == ref || sec.Text == ref || sec.DisplayName == ref {
			sec.End = s.now().Add(-time.Second)
			return nil
		}
	}
	return fmt.Errorf("expire secret %q: %w", ref, errNotFound)
}

// RemoveSecret deletes a secret; ref as in ExpireSecret.
func (s *Server) RemoveSecret(ref string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, sec := range s.tenant.secrets {
		if sec.KeyID == ref || sec.Text == ref || sec.DisplayName == ref {
			s.tenant.secrets = append(s.tenant.secrets[:i], s.tenant.secrets[i+1:]...)
			return nil
		}
	}
	return fmt.Errorf("remove secret %q: %w", ref, errNotFound)
}

func (s *Server) secretInfos() []SecretInfo {
	now := s.now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]SecretInfo, 0, len(s.tenant.secrets))
	for _, sec := range s.tenant.secrets {
		out = append(out, SecretInfo{sec.KeyID, sec.DisplayName, sec.hint(), sec.Start, sec.End, now.After(sec.End)})
	}
	return out
}

// ctlSecrets: {"add":{SecretInput}, "expire":"ref", "remove":"ref"} in any
// combination; answers the secrets.
func (s *Server) ctlSecrets(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Add    *SecretInput `json:"add"`
		Expire string       `json:"expire"`
		Remove string       `json:"remove"`
	}
	if err := decodeJSON(r, &in); err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	var err error
	if in.Add != nil {
		_, err = s.AddSecret(*in.Add)
	}
	if err == nil && in.Expire != "" {
		err = s.ExpireSecret(in.Expire)
	}
	if err == nil && in.Remove != "" {
		err = s.RemoveSecret(in.Remove)
	}
	if err != nil {
		ctlError(w, statusOf(err), err)
		return
	}
	ctlJSON(w, http.StatusOK, map[string]any{"secrets": s.secretInfos()})
}

// ctlClock: {"advance":"90m"|"7d"|"1h30m"} moves the simulated clock on.
func (s *Server) ctlClock(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Advance string `json:"advance"`
	}
	if err := decodeJSON(r, &in); err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	d, err := parseDuration(in.Advance)
	if err != nil || d < 0 {
		ctlError(w, http.StatusBadRequest, fmt.Errorf("clock: advance %q: want a positive duration like 90m or 7d", in.Advance))
		return
	}
	ctlJSON(w, http.StatusOK, map[string]any{"now": s.AdvanceClock(d)})
}

func (s *Server) ctlExpireDelta(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Mailbox string `json:"mailbox"`
	}
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &in); err != nil {
			ctlError(w, http.StatusBadRequest, err)
			return
		}
	}
	ctlJSON(w, http.StatusOK, map[string]int{"expired": s.ExpireDeltaTokens(in.Mailbox)})
}

func (s *Server) ctlState(w http.ResponseWriter, r *http.Request) {
	ctlJSON(w, http.StatusOK, s.State())
}

func (s *Server) ctlStats(w http.ResponseWriter, r *http.Request) {
	ctlJSON(w, http.StatusOK, s.Stats())
}
