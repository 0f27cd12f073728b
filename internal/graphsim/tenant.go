package graphsim

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// tenant is the simulated directory and the mailboxes. Guarded by Server.mu.
type tenant struct {
	users    map[string]*user    // by ID
	names    map[string]string   // lower-case mail, UPN or alias → user ID (control API)
	upns     map[string]string   // lower-case UPN → user ID (Graph paths)
	messages map[string]*message // every current message, by ID
	restIDs  map[string]string   // regular message ID → immutable ID (see message)
	subs     map[string]*subscription
	secrets  []*secret
	seq      uint64                 // change counter for delta
	rounds   map[string]*deltaRound // skiptoken → paged round in progress
	states   map[string]*deltaState // deltatoken → watermark
}

func (t *tenant) init() {
	t.users = map[string]*user{}
	t.names = map[string]string{}
	t.upns = map[string]string{}
	t.messages = map[string]*message{}
	t.subs = map[string]*subscription{}
	t.rounds = map[string]*deltaRound{}
	t.states = map[string]*deltaState{}
}

func (t *tenant) nextSeq() uint64 { t.seq++; return t.seq }

// user is one mailbox. Mail (the primary SMTP address) and UPN may differ,
// as in real tenants (UPN j.doe@contoso.onmicrosoft.com, mail
// jane.doe@contoso.com); Aliases are further SMTP addresses
// (proxyAddresses "smtp:…").
type user struct {
	ID, DisplayName, Mail, UPN string
	Aliases                    []string
	folders                    map[string]*folder // by ID
	wellKnown                  map[string]string  // well-known name → folder ID
}

// folder is one mail folder. Messages are kept per folder for delta.
type folder struct {
	ID, DisplayName, ParentID, WellKnown string
	Hidden                               bool
	children                             []string            // child folder IDs in creation order
	msgs                                 map[string]*message // current messages by ID
	tombstones                           []tombstone         // messages deleted or moved out
}

type tombstone struct {
	id, restID string // the immutable and the regular ID when removed
	seq        uint64
}

// wellKnownFolders are created in every mailbox: name, display name, parent
// well-known name ("" for the mailbox root), hidden.
var wellKnownFolders = []struct {
	name, display, parent string
	hidden                bool
}{
	{"msgfolderroot", "Top of Information Store", "", false},
	{"archive", "Archive", "msgfolderroot", false},
	{"conversationhistory", "Conversation History", "msgfolderroot", false},
	{"deleteditems", "Deleted Items", "msgfolderroot", false},
	{"drafts", "Drafts", "msgfolderroot", false},
	{"inbox", "Inbox", "msgfolderroot", false},
	{"junkemail", "Junk Email", "msgfolderroot", false},
	{"outbox", "Outbox", "msgfolderroot", false},
	{"sentitems", "Sent Items", "msgfolderroot", false},
	{"syncissues", "Sync Issues", "msgfolderroot", true},
	{"conflicts", "Conflicts", "syncissues", true},
	{"localfailures", "Local Failures", "syncissues", true},
	{"serverfailures", "Server Failures", "syncissues", true},
	{"clutter", "Clutter", "msgfolderroot", true},
	{"scheduled", "Scheduled", "msgfolderroot", true},
	{"", "Conversation Action Settings", "msgfolderroot", true},
	{"searchfolders", "Finder", "", true},
	{"recoverableitemsdeletions", "Deletions", "", true},
}

// isWellKnown reports whether name is a well-known folder name.
func isWellKnown(name string) bool {
	for _, f := range wellKnownFolders {
		if f.name != "" && strings.EqualFold(f.name, name) {
			return true
		}
	}
	return false
}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// nameGUID derives a stable GUID from a name (so scenario users without an
// ID keep their ID across runs).
func nameGUID(name string) string {
	b := sha1.Sum([]byte("graphsim:" + strings.ToLower(name)))
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// graphUser finds a user as Graph addresses it in /users/{ref}: by ID or
// userPrincipalName only. Microsoft documents "/users/{id |
// userPrincipalName}" (api/user-get.md); whether a primary SMTP address
// that differs from the UPN also works is not documented, and reports
// disagree (camerondwyer.com, 2023-07-07, "Microsoft Graph API inconsistent
// support for user id, UPN and SMTP address": GET /users/{mail} fails), so
// the simulator takes the strict reading and the connector resolves mail
// addresses itself. Control calls use lookupUser.
func (t *tenant) graphUser(ref string) *user {
	if u := t.users[strings.ToLower(ref)]; u != nil {
		return u
	}
	if id, ok := t.upns[strings.ToLower(ref)]; ok {
		return t.users[id]
	}
	return nil
}

// lookupUser finds a user by ID, mail, UPN or alias (control API and
// scenarios, which are lenient).
func (t *tenant) lookupUser(ref string) *user {
	if u := t.users[ref]; u != nil {
		return u
	}
	if id, ok := t.names[strings.ToLower(ref)]; ok {
		return t.users[id]
	}
	if guidRE.MatchString(ref) {
		return t.users[strings.ToLower(ref)]
	}
	return nil
}

// ensureUser finds a user or creates it with the well-known folders: a GUID
// becomes the user's ID, anything else its mail and UPN.
func (t *tenant) ensureUser(ref string) *user {
	if u := t.lookupUser(ref); u != nil {
		return u
	}
	u := &user{}
	if guidRE.MatchString(ref) {
		u.ID = strings.ToLower(ref)
		u.DisplayName = "User " + u.ID[:8]
	} else {
		u.ID = nameGUID(ref)
		u.Mail, u.UPN = ref, ref
		local, _, _ := strings.Cut(ref, "@")
		u.DisplayName = local
	}
	t.addUser(u)
	return u
}

// addUser registers u and creates its well-known folders.
func (t *tenant) addUser(u *user) {
	u.folders = map[string]*folder{}
	u.wellKnown = map[string]string{}
	rootID := newFolderID()
	for _, wk := range wellKnownFolders {
		parent := rootID
		if wk.parent != "" {
			parent = u.wellKnown[wk.parent]
		}
		f := t.newFolder(u, parent, wk.display, wk.hidden)
		if wk.name != "" {
			f.WellKnown = wk.name
			u.wellKnown[wk.name] = f.ID
		}
	}
	t.users[u.ID] = u
	for _, n := range append([]string{u.Mail, u.UPN}, u.Aliases...) {
		if n != "" {
			t.names[strings.ToLower(n)] = u.ID
		}
	}
	if u.UPN != "" {
		t.upns[strings.ToLower(u.UPN)] = u.ID
	}
}

// findUsers answers the $filter of GET /users the connector uses to
// resolve an address: mail eq '…', userPrincipalName eq '…' or
// proxyAddresses/any(x:x eq 'smtp:…') (case-insensitive, as Entra
// compares).
func (t *tenant) findUsers(prop, value string) []*user {
	value = strings.ToLower(value)
	var out []*user
	for _, u := range t.sortedUsers() {
		switch prop {
		case "mail":
			if strings.ToLower(u.Mail) == value {
				out = append(out, u)
			}
		case "userprincipalname":
			if strings.ToLower(u.UPN) == value {
				out = append(out, u)
			}
		case "proxyaddresses":
			for _, a := range u.proxyAddresses() {
				if strings.ToLower(a) == value {
					out = append(out, u)
					break
				}
			}
		}
	}
	return out
}

// proxyAddresses lists the user's addresses as Entra does: "SMTP:" before
// the primary one, "smtp:" before aliases.
func (u *user) proxyAddresses() []string {
	var out []string
	if u.Mail != "" {
		out = append(out, "SMTP:"+u.Mail)
	}
	for _, a := range u.Aliases {
		if !strings.EqualFold(a, u.Mail) {
			out = append(out, "smtp:"+a)
		}
	}
	return out
}

func (t *tenant) newFolder(u *user, parentID, name string, hidden bool) *folder {
	f := &folder{ID: newFolderID(), DisplayName: name, ParentID: parentID, Hidden: hidden, msgs: map[string]*message{}}
	u.folders[f.ID] = f
	if p := u.folders[parentID]; p != nil {
		p.children = append(p.children, f.ID)
	}
	return f
}

// folder resolves a folder ID or well-known name.
func (u *user) folder(ref string) *folder {
	if f := u.folders[ref]; f != nil {
		return f
	}
	if id, ok := u.wellKnown[strings.ToLower(ref)]; ok {
		return u.folders[id]
	}
	return nil
}

// ensureFolderPath resolves a control-API folder reference: a folder ID, a
// well-known name, or a path "inbox/Sub/Folder" / "My Folder/Sub" whose
// first segment, when not well-known, is a user folder under msgfolderroot.
// Missing folders on the path are created.
func (t *tenant) ensureFolderPath(u *user, ref string) (*folder, error) {
	if ref == "" {
		ref = "inbox"
	}
	if f := u.folder(ref); f != nil {
		return f, nil
	}
	segs := strings.Split(strings.Trim(ref, "/"), "/")
	cur := u.folder(segs[0])
	if cur == nil {
		cur = u.folders[u.wellKnown["msgfolderroot"]]
	} else {
		segs = segs[1:]
	}
	for _, name := range segs {
		if name == "" {
			return nil, fmt.Errorf("folder path %q has an empty segment", ref)
		}
		var next *folder
		for _, id := range cur.children {
			if c := u.folders[id]; strings.EqualFold(c.DisplayName, name) {
				next = c
				break
			}
		}
		if next == nil {
			next = t.newFolder(u, cur.ID, name, false)
		}
		cur = next
	}
	return cur, nil
}

// path returns the folders from the mailbox root down to f.
func (u *user) path(f *folder) []*folder {
	var p []*folder
	for f != nil {
		p = append([]*folder{f}, p...)
		f = u.folders[f.ParentID]
	}
	return p
}

// secret is a password credential of the app registration.
type secret struct {
	KeyID, DisplayName, Text string
	Start, End               time.Time
}

func (t *tenant) addSecret(sec *secret) { t.secrets = append(t.secrets, sec) }

// hint is what Entra shows of a secret: its first three characters.
func (sec *secret) hint() string {
	if len(sec.Text) < 3 {
		return sec.Text
	}
	return sec.Text[:3]
}

// sortedUsers lists the users by mail then ID.
func (t *tenant) sortedUsers() []*user {
	us := make([]*user, 0, len(t.users))
	for _, u := range t.users {
		us = append(us, u)
	}
	sort.Slice(us, func(i, j int) bool {
		if us[i].Mail != us[j].Mail {
			return us[i].Mail < us[j].Mail
		}
		return us[i].ID < us[j].ID
	})
	return us
}

// newFolderID returns an ID shaped like Exchange's folder IDs.
func newFolderID() string { return "AAMkAGI2" + randB64(33) + "AAA=" }

// newMessageID returns an ID shaped like an immutable Exchange item ID.
func newMessageID() string { return "AAkALgAAAAAAHYQDEapmEc2byACqAC-" + randB64(30) + "AAA=" }

// newAttachmentID returns an ID shaped like an Exchange attachment ID.
func newAttachmentID() string { return "AAMkAGI2THVSAAABEgAQA" + randB64(24) + "=" }

func randB64(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
