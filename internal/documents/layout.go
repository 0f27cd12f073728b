package documents

import (
	"cmp"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// AttachmentsFolder is the folder below a customer's folder that holds the
// thread folders.
const AttachmentsFolder = "E-Mail Attachments"

// DefaultCustomerFolder is the default of the setting
// documents_customer_folder.
const DefaultCustomerFolder = "{number}"

// Kind is the kind of an attachment, as Microsoft Graph types them.
type Kind string

// Kinds of attachments.
const (
	KindFile      Kind = "file"      // fileAttachment: stored as is
	KindItem      Kind = "item"      // itemAttachment: an attached e-mail, stored as {name}.eml
	KindReference Kind = "reference" // referenceAttachment: a cloud link, stored as {name}.url
)

// Customer identifies the customer whose documents receive the files.
type Customer struct {
	ID     int64
	Number string
	Name   string
}

// Mail is the mail whose attachments are filed.
type Mail struct {
	ID            string
	Date          time.Time // received (or sent) time
	SenderName    string    // display name; may be empty
	SenderAddress string
	BaseSubject   string // subject.Base of its subject
}

// Attachment is the metadata of one attachment of the mail.
type Attachment struct {
	ID          string
	Name        string
	ContentType string
	Size        int64
	Kind        Kind
	Inline      bool
}

// FiledMail is an earlier mail of the same thread that has filed files.
type FiledMail struct {
	ID            string
	Date          time.Time
	SenderName    string
	SenderAddress string
	// Files are the store paths of its filed files where they are now (after
	// any Move already done).
	Files []string
}

// Request is the input of Layout.
type Request struct {
	// Root is the setting documents_root: the folder of the store below
	// which the customer folders lie ("" for the store's top).
	Root string
	// CustomerFolder is the setting documents_customer_folder, a template
	// with the placeholders {number}, {name} and {id}; "" means
	// DefaultCustomerFolder. A "/" in the template makes nested folders.
	CustomerFolder string
	Customer       Customer
	// History holds the mails of this customer with the same subject.Key of
	// their base subject that already have filed files. Entries without files
	// are ignored; the mail itself may be among them (a retried job).
	History     []FiledMail
	Mail        Mail
	Attachments []Attachment
	// SkipInline skips inline attachments (signature logos and the like).
	SkipInline bool
	// Taken lists paths occupied by files that are not the thread's own (a
	// Stat found different content there); Layout numbers around them.
	Taken []string
	// Location is the time zone of the dates and times in folder names;
	// nil means UTC.
	Location *time.Location
	// Blocked is the setting documents_blocked_extensions, each entry as
	// NormalizeBlocked returns it: a file attachment whose sanitised name
	// matches one is filed with BlockedSuffix appended (see there why).
	// Attached e-mails (.eml) and cloud links (.url written by
	// InternetShortcut) are the connector's own files and not matched.
	// nil blocks nothing.
	Blocked []string
}

// Plan is the output of Layout.
type Plan struct {
	// ThreadDir is the thread folder.
	ThreadDir string
	// MailDir is the folder of this mail's files: ThreadDir while the thread
	// has files from one mail only, else the mail's own subfolder.
	MailDir string
	// Files has one entry per Request.Attachments, in the same order.
	Files []Placement
	// Moves are the moves of earlier files into their mail's subfolder, to
	// be done (in order) before the files are stored.
	Moves []Move
}

// Placement says where one attachment goes.
type Placement struct {
	AttachmentID string
	Path         string // store path; "" when Skipped
	Skipped      bool   // an inline attachment with Request.SkipInline
	// Blocked is the entry of Request.Blocked the name matched ("" if
	// none); Path then ends in BlockedSuffix. The caller logs and records it.
	Blocked string
}

// Move moves one earlier file of mail MailID.
type Move struct {
	MailID   string
	From, To string
}

// mailState is one mail of the thread while Layout works.
type mailState struct {
	id, sender string
	date       time.Time
	direct     []string // names of files lying directly in the thread folder
	folder     string   // its subfolder, "" if none yet
	current    bool
}

// Layout computes where the attachments of req.Mail go and which earlier
// files must move; see the package comment for the rules and for how the
// caller must use it. It does no I/O and is deterministic: the same Request
// gives the same Plan.
func Layout(req Request) (Plan, error) {
	loc := req.Location
	if loc == nil {
		loc = time.UTC
	}
	base, err := basePath(req.Root, req.CustomerFolder, req.Customer)
	if err != nil {
		return Plan{}, err
	}
	plan := Plan{Files: make([]Placement, len(req.Attachments))}
	filing := 0
	for i, a := range req.Attachments {
		plan.Files[i] = Placement{AttachmentID: a.ID, Skipped: a.Inline && req.SkipInline}
		if !plan.Files[i].Skipped {
			filing++
		}
	}
	if filing == 0 {
		return plan, nil
	}
	plan.ThreadDir, err = threadDir(req, base, loc)
	if err != nil {
		return Plan{}, err
	}
	mails := threadMails(req, plan.ThreadDir)
	assignFolders(mails, plan.ThreadDir, loc)
	plan.Moves = moves(mails, plan.ThreadDir)
	cur := mails[slices.IndexFunc(mails, func(m *mailState) bool { return m.current })]
	plan.MailDir = plan.ThreadDir
	if cur.folder != "" {
		plan.MailDir = path.Join(plan.ThreadDir, cur.folder)
	}
	taken := takenNames(req, mails, plan.MailDir, plan.ThreadDir)
	for i, a := range req.Attachments {
		if !plan.Files[i].Skipped {
			name, blocked := attachmentName(a, req.Blocked)
			plan.Files[i].Path = path.Join(plan.MailDir, uniqueName(name, taken))
			plan.Files[i].Blocked = blocked
		}
	}
	return plan, nil
}

// threadDir returns the thread folder: the one of the earliest mail in the
// history (never renamed, even if the customer folder or the subject's case
// changed since), else a new one named after this mail.
func threadDir(req Request, base string, loc *time.Location) (string, error) {
	var first *FiledMail
	for i := range req.History {
		h := &req.History[i]
		if len(h.Files) > 0 && (first == nil || compareMail(h.Date, h.ID, first.Date, first.ID) < 0) {
			first = h
		}
	}
	if first == nil {
		return path.Join(base, ThreadFolderName(req.Mail.Date.In(loc), req.Mail.BaseSubject)), nil
	}
	return threadDirOf(slices.Min(first.Files), base)
}

// threadDirOf returns the thread folder of a filed file: the segment after
// base, or else after the first "E-Mail Attachments" segment.
func threadDirOf(file, base string) (string, error) {
	if rest, ok := strings.CutPrefix(file, base+"/"); ok && strings.Contains(rest, "/") {
		seg, _, _ := strings.Cut(rest, "/")
		return path.Join(base, seg), nil
	}
	segs := strings.Split(file, "/")
	for i, s := range segs {
		if s == AttachmentsFolder && i+2 < len(segs) {
			return strings.Join(segs[:i+2], "/"), nil
		}
	}
	return "", fmt.Errorf("documents: history file %q is not in a thread folder below %q: %w", file, AttachmentsFolder, ErrPath)
}

// threadMails collects the mails of the thread: every history mail with
// files in dir (files elsewhere are left alone), merged by ID, plus the
// current mail, sorted by date and ID.
func threadMails(req Request, dir string) []*mailState {
	byID := map[string]*mailState{}
	var mails []*mailState
	get := func(id string, date time.Time, name, addr string) *mailState {
		if m := byID[id]; m != nil {
			return m
		}
		m := &mailState{id: id, date: date, sender: cmp.Or(name, addr, UnknownSender)}
		byID[id] = m
		mails = append(mails, m)
		return m
	}
	for _, h := range req.History {
		for _, f := range h.Files {
			rel, ok := strings.CutPrefix(f, dir+"/")
			if !ok {
				continue
			}
			m := get(h.ID, h.Date, h.SenderName, h.SenderAddress)
			if folder, _, nested := strings.Cut(rel, "/"); nested {
				if m.folder == "" || folder < m.folder {
					m.folder = folder
				}
			} else {
				m.direct = append(m.direct, rel)
			}
		}
	}
	cur := get(req.Mail.ID, req.Mail.Date, req.Mail.SenderName, req.Mail.SenderAddress)
	cur.current = true
	slices.SortFunc(mails, func(a, b *mailState) int { return compareMail(a.date, a.id, b.date, b.id) })
	for _, m := range mails {
		slices.Sort(m.direct)
		m.direct = slices.Compact(m.direct)
	}
	return mails
}

// assignFolders gives every mail without a subfolder its own, once the
// thread has files from two mails. Existing subfolders keep their names;
// new names are numbered in date order around them and around files lying
// in the thread folder.
func assignFolders(mails []*mailState, dir string, loc *time.Location) {
	if len(mails) < 2 {
		return
	}
	taken := map[string]bool{}
	for _, m := range mails {
		if m.folder != "" {
			taken[foldKey(m.folder)] = true
		}
		for _, f := range m.direct {
			taken[foldKey(f)] = true
		}
	}
	for _, m := range mails {
		if m.folder == "" {
			m.folder = uniqueName(MailFolderName(m.date.In(loc), m.sender), taken)
		}
	}
}

// moves lists the moves of files lying in the thread folder into their
// mail's subfolder.
func moves(mails []*mailState, dir string) []Move {
	var out []Move
	for _, m := range mails {
		if m.folder == "" {
			continue
		}
		for _, f := range m.direct {
			out = append(out, Move{MailID: m.id, From: path.Join(dir, f), To: path.Join(dir, m.folder, f)})
		}
	}
	return out
}

// takenNames returns the names in mailDir the current mail must not use:
// other mails' files there, subfolders when mailDir is the thread folder,
// and req.Taken. The current mail's own earlier files are not taken, so a
// retried job computes the same names again.
func takenNames(req Request, mails []*mailState, mailDir, dir string) map[string]bool {
	taken := map[string]bool{}
	for _, m := range mails {
		if m.current {
			continue
		}
		if mailDir == dir {
			for _, f := range m.direct {
				taken[foldKey(f)] = true
			}
		}
		if m.folder != "" && mailDir == dir {
			taken[foldKey(m.folder)] = true
		}
	}
	for _, h := range req.History {
		if h.ID == req.Mail.ID {
			continue
		}
		for _, f := range h.Files {
			if path.Dir(f) == mailDir {
				taken[foldKey(path.Base(f))] = true
			}
		}
	}
	for _, t := range req.Taken {
		if path.Dir(t) == mailDir {
			taken[foldKey(path.Base(t))] = true
		}
	}
	return taken
}

// compareMail orders mails by date, then ID.
func compareMail(ad time.Time, aid string, bd time.Time, bid string) int {
	return cmp.Or(ad.Compare(bd), strings.Compare(aid, bid))
}

// ThreadFolderName returns the name of a thread folder: "YYYY-MM-DD
// {subject}" with the date of date (in its location), sanitised by
// SanitizeFolder; an empty subject becomes EmptySubject.
func ThreadFolderName(date time.Time, baseSubject string) string {
	return SanitizeFolder(date.Format("2006-01-02")+" "+cleanPart(baseSubject, EmptySubject), EmptySubject)
}

// MailFolderName returns the name of a mail's subfolder: "YYYY-MM-DD HH.MM
// {sender}" with the time of date (in its location), sanitised.
func MailFolderName(date time.Time, sender string) string {
	return SanitizeFolder(date.Format("2006-01-02 15.04")+" "+cleanPart(sender, UnknownSender), UnknownSender)
}

// SanitizeFolder is SanitizeName for folder names: the same rules, but a
// long name is cut at its end, as folders have no extension.
func SanitizeFolder(name, fallback string) string {
	s := cleanName(name, fallback)
	if len(s) > MaxNameBytes {
		s = cleanName(cutUTF8(s, MaxNameBytes), fallback)
	}
	return s
}

// attachmentName returns the sanitised file name of a: attached e-mails get
// ".eml", cloud links ".url", and a file without a name is called
// EmptyFileName with an extension from its content type. A file whose name
// matches an entry of blocked gets BlockedSuffix; that entry is returned.
func attachmentName(a Attachment, blocked []string) (name, rule string) {
	switch a.Kind {
	case KindItem:
		return withExt(a.Name, ".eml"), ""
	case KindReference:
		return withExt(a.Name, ".url"), ""
	}
	if trimName(a.Name) == "" {
		name = SanitizeName(EmptyFileName+extByType[baseType(a.ContentType)], EmptyFileName)
	} else {
		name = SanitizeName(a.Name, EmptyFileName)
	}
	if rule = blockedBy(name, blocked); rule != "" {
		name = SanitizeName(name+BlockedSuffix, EmptyFileName)
	}
	return name, rule
}

// withExt sanitises name and appends ext unless it already ends in it.
func withExt(name, ext string) string {
	s := cleanName(name, EmptyFileName)
	if !strings.HasSuffix(strings.ToLower(s), ext) {
		s += ext
	}
	return SanitizeName(s, EmptyFileName)
}

// baseType returns the media type without parameters, in lower case.
func baseType(contentType string) string {
	t, _, _ := strings.Cut(contentType, ";")
	return strings.ToLower(strings.TrimSpace(t))
}

// extByType maps common content types to an extension for attachments
// without a name. A fixed table, so the result does not depend on the
// machine's mime.types.
var extByType = map[string]string{
	"application/pdf":    ".pdf",
	"application/zip":    ".zip",
	"application/msword": ".doc",
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document":   ".docx",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         ".xlsx",
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
	"application/vnd.ms-excel": ".xls",
	"image/png":                ".png",
	"image/jpeg":               ".jpg",
	"image/gif":                ".gif",
	"text/plain":               ".txt",
	"text/csv":                 ".csv",
	"text/html":                ".html",
	"message/rfc822":           ".eml",
}

// basePath returns "{root}/{customer folder}/E-Mail Attachments".
func basePath(root, template string, c Customer) (string, error) {
	var segs []string
	for _, s := range strings.Split(root, "/") {
		switch s = strings.TrimSpace(s); s {
		case "":
		case ".", "..":
			return "", fmt.Errorf("documents: documents_root %q: %w", root, ErrPath)
		default:
			segs = append(segs, s)
		}
	}
	folder, err := CustomerFolder(template, c)
	if err != nil {
		return "", err
	}
	return path.Join(append(segs, folder, AttachmentsFolder)...), nil
}

// ValidateTemplate checks a documents_customer_folder template: only the
// placeholders {number}, {name} and {id}, and balanced braces.
func ValidateTemplate(template string) error {
	_, err := CustomerFolder(template, Customer{ID: 1, Number: "1", Name: "x"})
	return err
}

// CustomerFolder expands the customer-folder template (DefaultCustomerFolder
// when empty) for c. Each placeholder's value is sanitised as one name (a
// "/" in a customer's name does not make a folder); a "/" in the template
// separates folders, each sanitised by SanitizeFolder, empty ones dropped.
// If nothing is left, the customer's ID is used.
func CustomerFolder(template string, c Customer) (string, error) {
	if template == "" {
		template = DefaultCustomerFolder
	}
	var b strings.Builder
	for rest := template; rest != ""; {
		i := strings.IndexAny(rest, "{}")
		if i < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:i])
		end := strings.IndexByte(rest[i:], '}')
		if rest[i] == '}' || end < 0 {
			return "", fmt.Errorf("documents: customer folder template %q: unbalanced braces", template)
		}
		switch key := rest[i+1 : i+end]; key {
		case "number":
			b.WriteString(cleanPart(c.Number, ""))
		case "name":
			b.WriteString(cleanPart(c.Name, ""))
		case "id":
			b.WriteString(strconv.FormatInt(c.ID, 10))
		default:
			return "", fmt.Errorf("documents: customer folder template %q: unknown placeholder {%s}", template, key)
		}
		rest = rest[i+end+1:]
	}
	var segs []string
	for _, s := range strings.Split(b.String(), "/") {
		if s = SanitizeFolder(s, ""); s != "" {
			segs = append(segs, s)
		}
	}
	if len(segs) == 0 {
		return strconv.FormatInt(c.ID, 10), nil
	}
	return strings.Join(segs, "/"), nil
}
