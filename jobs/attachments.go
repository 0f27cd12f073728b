package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/documents"
	"github.com/dedesales/exchange-connector/internal/grapherr"
	"github.com/dedesales/exchange-connector/internal/metrics"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/queue"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/subject"
)

// Attachments is what the filing job asks of Graph.
type Attachments interface {
	Attachments(ctx context.Context, mailbox, messageID string) ([]model.Attachment, error)
	OpenAttachment(ctx context.Context, mailbox, messageID, attachmentID string) (io.ReadCloser, error)
}

// Locker serialises work on a key across processes (internal/semaphore with
// a limit of one).
type Locker interface {
	Acquire(ctx context.Context, key string) (release func(), err error)
}

// FileAttachmentsHandler handles TypeFileAttachments.
type FileAttachmentsHandler struct {
	st        *store.Store
	files     Attachments
	documents documents.Store
	locks     Locker
	spoolDir  string
	location  *time.Location
	mailboxes *mailboxes
	metrics   *metrics.Metrics
	log       *slog.Logger
}

// ProcessTask streams a message's attachments from Graph into the
// customer's documents (DESIGN §5). It is idempotent: filed attachments are
// recorded by source key and skipped on a retry, a file found in place with
// the same content (a crash between upload and record) is recorded, not
// uploaded again.
func (h *FileAttachmentsHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var pl queue.FileAttachmentsPayload
	if err := json.Unmarshal(t.Payload(), &pl); err != nil {
		return fmt.Errorf("%s: bad payload: %v: %w", queue.TypeFileAttachments, err, asynq.SkipRetry)
	}
	log := h.log.With("task", queue.TypeFileAttachments, "employee_id", pl.EmployeeID, "message_id", pl.MessageID, "activity_id", pl.ActivityID)
	mb, ok, err := h.mailboxes.syncable(ctx, pl.EmployeeID, log)
	if err != nil || !ok {
		return err
	}
	atts, err := h.files.Attachments(ctx, mb.GraphRef(), pl.MessageID)
	if err != nil {
		return h.filingFailure(ctx, mb, pl, err, log)
	}
	settings, err := h.st.Settings(ctx)
	if err != nil {
		return err
	}
	customer, err := h.st.Customer(ctx, pl.CustomerID)
	if err != nil {
		return err
	}
	base := subject.Base(pl.Subject)
	threadKey := subject.Key(pl.Subject)
	// One mail of a thread at a time: the layout depends on what is filed already.
	release, err := h.locks.Acquire(ctx, fmt.Sprintf("%d/%s", customer.ID, threadKey))
	if err != nil {
		return err
	}
	defer release()
	f := &filing{h: h, mb: mb, pl: pl, log: log, threadKey: threadKey, settings: settings,
		req: documents.Request{
			Root: settings.DocumentsRoot, CustomerFolder: settings.DocumentsCustomerFolder,
			Customer: documents.Customer{ID: customer.ID, Number: customer.Number, Name: customer.Name},
			Mail: documents.Mail{ID: strconv.FormatInt(pl.ActivityID, 10), Date: pl.Date, SenderName: pl.SenderName,
				SenderAddress: pl.SenderAddress, BaseSubject: base},
			SkipInline: settings.SkipInlineAttachments, Location: h.location, Blocked: settings.DocumentsBlocked,
		}}
	if err := f.run(ctx, atts); err != nil {
		return h.filingFailure(ctx, mb, pl, err, log)
	}
	return nil
}

// filing is one run of the filing job.
type filing struct {
	h         *FileAttachmentsHandler
	mb        store.Mailbox
	pl        queue.FileAttachmentsPayload
	log       *slog.Logger
	threadKey string
	settings  model.Settings
	req       documents.Request
}

func (f *filing) run(ctx context.Context, atts []model.Attachment) error {
	for _, a := range atts {
		kind := documents.KindFile
		switch a.Kind {
		case model.AttachmentItem:
			kind = documents.KindItem
		case model.AttachmentReference:
			kind = documents.KindReference
		}
		f.req.Attachments = append(f.req.Attachments, documents.Attachment{ID: a.ID, Name: a.Name, ContentType: a.ContentType, Size: a.Size, Kind: kind, Inline: a.IsInline})
	}
	byID := make(map[string]model.Attachment, len(atts))
	for _, a := range atts {
		byID[a.ID] = a
	}
	for attempt := 0; attempt < 8; attempt++ {
		plan, err := f.plan(ctx)
		if err != nil {
			return err
		}
		if err := f.move(ctx, plan.Moves); err != nil {
			return err
		}
		taken, err := f.place(ctx, plan.Files, byID)
		if err != nil {
			return err
		}
		if taken == "" {
			return nil
		}
		// A foreign file holds the path: plan again around it.
		f.req.Taken = append(f.req.Taken, taken)
	}
	return errors.New("documents: could not find a free file name")
}

// plan loads the thread's history and computes the layout.
func (f *filing) plan(ctx context.Context) (documents.Plan, error) {
	docs, err := f.h.st.ThreadDocuments(ctx, f.pl.CustomerID, f.threadKey)
	if err != nil {
		return documents.Plan{}, err
	}
	var history []documents.FiledMail
	index := map[int64]int{}
	for _, d := range docs {
		i, ok := index[d.ActivityID]
		if !ok {
			i = len(history)
			index[d.ActivityID] = i
			fm := documents.FiledMail{ID: strconv.FormatInt(d.ActivityID, 10), SenderName: d.Sender}
			if d.MailDate != nil {
				fm.Date = *d.MailDate
			}
			history = append(history, fm)
		}
		history[i].Files = append(history[i].Files, d.Path)
	}
	f.req.History = history
	return documents.Layout(f.req)
}

// move carries out the plan's moves, recording each right after it happened.
func (f *filing) move(ctx context.Context, moves []documents.Move) error {
	for _, m := range moves {
		if err := f.h.documents.Move(ctx, m.From, m.To); err != nil {
			return err
		}
		if err := f.h.st.MoveDocument(ctx, f.pl.CustomerID, m.From, m.To); err != nil {
			return err
		}
		f.log.Info("filed attachment moved into its mail's folder", "from", m.From, "to", m.To)
	}
	return nil
}

// place files every placement not yet filed. It returns a path held by a
// foreign file, for which the layout must be computed again.
func (f *filing) place(ctx context.Context, files []documents.Placement, byID map[string]model.Attachment) (taken string, err error) {
	for _, pl := range files {
		if pl.Skipped {
			continue
		}
		a := byID[pl.AttachmentID]
		key := fmt.Sprintf("%d:%s", f.pl.ActivityID, a.ID)
		if filed, err := f.h.st.DocumentFiled(ctx, key); err != nil || filed {
			if err != nil {
				return "", err
			}
			continue
		}
		if a.Kind == model.AttachmentReference && a.SourceURL == "" {
			// Graph v1.0 documents no sourceUrl on a referenceAttachment
			// (learn.microsoft.com/graph/api/resources/referenceattachment:
			// contentType, id, isInline, lastModifiedDateTime, name, size;
			// graph.md Errata) and its $value answers 405: there is nothing to
			// file. Defined outcome: the link is left out with a note on the
			// decision, a log line and documents_guarded_total{reason="no_link"};
			// the mail and its other attachments are filed as usual.
			if err := f.guarded(ctx, FilingEvent{Reason: metrics.GuardNoLink, Attachment: a.Name,
				Note: fmt.Sprintf("cloud link %q not filed: Graph did not give its address", a.Name)}); err != nil {
				return "", err
			}
			continue
		}
		var shortcut string
		if a.Kind == model.AttachmentReference {
			var bad error
			if shortcut, bad = documents.InternetShortcut(a.SourceURL); bad != nil {
				// The address is not logged: a sharing link may carry an access key.
				if err := f.guarded(ctx, FilingEvent{Reason: metrics.GuardUnsafeLink, Attachment: a.Name,
					Note: fmt.Sprintf("cloud link %q not filed: %v", a.Name, bad)}); err != nil {
					return "", err
				}
				continue
			}
		}
		limit := f.settings.MaxAttachmentBytes // 0: no limit
		if limit > 0 && a.Size > limit {
			if err := f.guarded(ctx, FilingEvent{Reason: metrics.GuardTooLarge, Attachment: a.Name,
				Note: fmt.Sprintf("attachment %q (%d bytes) not filed: above max_attachment_bytes (%d)", a.Name, a.Size, limit)}); err != nil {
				return "", err
			}
			continue
		}
		size, sum, err := f.spool(ctx, a, shortcut, limit, func(file *os.File, size int64, sum string) error {
			return f.put(ctx, pl.Path, file, size, sum, a)
		})
		if errors.Is(err, errTooLarge) {
			// Graph declared a smaller size than it sent; the spool stopped at the cap.
			if err := f.guarded(ctx, FilingEvent{Reason: metrics.GuardTooLarge, Attachment: a.Name,
				Note: fmt.Sprintf("attachment %q not filed: its content is above max_attachment_bytes (%d) although Graph gave its size as %d bytes", a.Name, limit, a.Size)}); err != nil {
				return "", err
			}
			continue
		}
		if errors.Is(err, errTaken) {
			return pl.Path, nil
		}
		if err != nil {
			return "", err
		}
		err = f.h.st.RecordDocument(ctx, store.Document{CustomerID: f.pl.CustomerID, ActivityID: f.pl.ActivityID, SourceKey: key,
			Path: pl.Path, Name: pathBase(pl.Path), Size: size, SHA256: sum, ContentType: a.ContentType,
			ThreadKey: f.threadKey, MailDate: &f.pl.Date, Sender: senderLabel(f.pl)})
		if err != nil {
			return "", err
		}
		f.log.Info("attachment filed", "path", pl.Path, "bytes", size)
		if pl.Blocked != "" {
			// Recorded once: a retry skips the filed attachment above.
			err := f.guarded(ctx, FilingEvent{Reason: metrics.GuardBlockedType, Attachment: a.Name, Path: pl.Path,
				Note: fmt.Sprintf("attachment %q filed as %q: its type (%s) is blocked by documents_blocked_extensions", a.Name, pathBase(pl.Path), pl.Blocked)})
			if err != nil {
				return "", err
			}
		}
	}
	return "", nil
}

// FilingEvent is an attachment the filing job renamed or left out for
// safety or size: what belongs on the decision's record.
type FilingEvent struct {
	Reason     string // metrics.Guard*: blocked_type, unsafe_link, too_large
	Attachment string // its name as Graph gave it
	Path       string // where it was filed; "" when it was not filed
	Note       string // what happened and why, for people
}

// guarded logs ev, counts it and records it on the decision. It is the one
// place that records these events, so the decision history (issue 14 #8)
// replaces AddDecisionNote here only.
func (f *filing) guarded(ctx context.Context, ev FilingEvent) error {
	f.log.Warn(ev.Note, "reason", ev.Reason, "attachment", ev.Attachment, "path", ev.Path)
	if f.h.metrics != nil {
		f.h.metrics.DocumentsGuarded.WithLabelValues(ev.Reason).Inc()
	}
	return f.h.st.AddDecisionNote(ctx, f.pl.EmployeeID, f.pl.MessageID, ev.Note)
}

var (
	errTaken    = errors.New("path taken by another file")
	errTooLarge = errors.New("attachment above max_attachment_bytes")
)

// put uploads a spooled file unless the same content is already there.
func (f *filing) put(ctx context.Context, path string, file *os.File, size int64, sum string, a model.Attachment) error {
	gotSize, gotSum, exists, err := f.h.documents.Stat(ctx, path)
	if err != nil {
		return err
	}
	if exists {
		if gotSize == size && strings.EqualFold(gotSum, sum) {
			return nil // uploaded before a crash; only the record was missing
		}
		return errTaken
	}
	mtime := a.LastModified
	if mtime.IsZero() {
		mtime = f.pl.Date
	}
	return f.h.documents.Put(ctx, path, file, size, mtime, sum)
}

// spool streams the attachment into a temporary file (never into memory),
// so that its exact size and SHA-256 are known before the upload, as
// Nextcloud's OC-Checksum wants. A cloud link becomes the .url shortcut
// given (documents.InternetShortcut). With limit > 0 (max_attachment_bytes)
// at most limit+1 bytes are read: Graph's declared size is the sender's
// word, and a larger body must not fill the spool's disk. Above limit, spool
// returns errTooLarge and the temporary file is removed.
func (f *filing) spool(ctx context.Context, a model.Attachment, shortcut string, limit int64, use func(*os.File, int64, string) error) (int64, string, error) {
	tmp, err := os.CreateTemp(f.h.spoolDir, "attachment-*")
	if err != nil {
		return 0, "", fmt.Errorf("spooling attachment: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	var src io.Reader
	if a.Kind == model.AttachmentReference {
		src = strings.NewReader(shortcut)
	} else {
		body, err := f.h.files.OpenAttachment(ctx, f.mb.GraphRef(), f.pl.MessageID, a.ID)
		if err != nil {
			return 0, "", err
		}
		defer body.Close()
		src = body
	}
	if limit > 0 {
		src = io.LimitReader(src, limit+1)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), src)
	if err != nil {
		return 0, "", fmt.Errorf("spooling attachment %q: %w", a.Name, err)
	}
	if limit > 0 && n > limit {
		return n, "", errTooLarge
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return 0, "", err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	return n, sum, use(tmp, n, sum)
}

// filingFailure decides what a failure means: a vanished message is noted
// and not retried forever; a refused document store alerts without a retry
// storm; a full one waits and retries.
func (h *FileAttachmentsHandler) filingFailure(ctx context.Context, mb store.Mailbox, pl queue.FileAttachmentsPayload, err error, log *slog.Logger) error {
	switch {
	case errors.Is(err, grapherr.ErrNotFound):
		n, _ := asynq.GetRetryCount(ctx)
		if n < notFoundRetries {
			return err
		}
		log.Warn("message vanished before its attachments were filed", slog.Any("error", err))
		return h.st.AddDecisionNote(ctx, pl.EmployeeID, pl.MessageID, "attachments not filed: the message vanished from the mailbox")
	case errors.Is(err, documents.ErrAuth):
		log.Error("the document store refused access; check its credentials", slog.Any("error", err))
		if merr := h.st.SetMailboxError(ctx, mb.EmployeeID, "document store: "+err.Error()); merr != nil {
			log.Warn("recording the error on the mailbox failed", slog.Any("error", merr))
		}
		return err
	case errors.Is(err, documents.ErrQuota):
		log.Error("the document store is full; waiting", slog.Any("error", err))
		return err
	case errors.Is(err, grapherr.ErrInvalid):
		log.Error("Graph refused a request for the attachments; not retrying", slog.Any("error", err))
		if nerr := h.st.AddDecisionNote(ctx, pl.EmployeeID, pl.MessageID, "attachments not filed: "+err.Error()); nerr != nil {
			log.Warn("recording the error on the decision failed", slog.Any("error", nerr))
		}
		return permanent(err)
	default:
		return h.mailboxes.graphFailure(ctx, mb, err, log)
	}
}

func pathBase(p string) string {
	if i := strings.LastIndex(p, "/"); i >= 0 {
		return p[i+1:]
	}
	return p
}

func senderLabel(pl queue.FileAttachmentsPayload) string {
	if pl.SenderName != "" {
		return pl.SenderName
	}
	return pl.SenderAddress
}
