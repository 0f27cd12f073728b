package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/documents"
	"github.com/dedesales/exchange-connector/internal/grapherr"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/queue"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
	"github.com/dedesales/exchange-connector/internal/subject"
)

// faultyDocs is a document store (a real one inside) whose Put fails on
// request, once per file name: before storing (failBefore: a full quota, a
// connection refused) or after storing (failAfter: the answer to a
// finished upload lost). It counts the Puts that stored a file.
type faultyDocs struct {
	documents.Store
	mu         sync.Mutex
	failBefore map[string]error
	failAfter  map[string]error
	stored     map[string]int // file name → Puts that stored it
}

func (d *faultyDocs) Put(ctx context.Context, path string, r io.Reader, size int64, mtime time.Time, sum string) error {
	name := pathBase(path)
	d.mu.Lock()
	before, after := d.failBefore[name], d.failAfter[name]
	delete(d.failBefore, name)
	delete(d.failAfter, name)
	d.mu.Unlock()
	if before != nil {
		return before
	}
	if err := d.Store.Put(ctx, path, r, size, mtime, sum); err != nil {
		return err
	}
	d.mu.Lock()
	d.stored[name]++
	d.mu.Unlock()
	return after
}

// The filing job is retried until every attachment is filed, and files
// each exactly once however its earlier runs ended: a full document store
// (quota) and a full spool disk are waited out, an upload whose answer was
// lost is found in place and recorded, not uploaded again, and a
// redelivered task files nothing new.
func TestFilingRetriesFileEachAttachmentOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		files := &memFiles{
			atts: []model.Attachment{
				{ID: "a1", Kind: model.AttachmentFile, Name: "Angebot.pdf", Size: 5},
				{ID: "a2", Kind: model.AttachmentFile, Name: "Plan.dwg", Size: 4},
				{ID: "a3", Kind: model.AttachmentFile, Name: "Foto.jpg", Size: 4},
			},
			body: map[string]func() io.Reader{"a1": text("%PDF-"), "a2": text("DWG1"), "a3": text("JFIF")},
		}
		f := newFilingFixture(t, st, files)
		docs := &faultyDocs{Store: f.p.FileAttachments.documents, stored: map[string]int{},
			failBefore: map[string]error{"Plan.dwg": fmt.Errorf("webdav: PUT: 507 Insufficient Storage: %w", documents.ErrQuota)},
			failAfter:  map[string]error{"Foto.jpg": errors.New("webdav: PUT: connection reset by peer")}}
		f.p.FileAttachments.documents = docs
		task, err := queue.NewFileAttachmentsTask(f.pl)
		if err != nil {
			t.Fatal(err)
		}
		h := f.p.FileAttachments
		filed := func() []string {
			t.Helper()
			ds, err := st.ThreadDocuments(ctx, f.pl.CustomerID, subject.Key(f.pl.Subject))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, d := range ds {
				names = append(names, d.Name)
			}
			slices.Sort(names)
			return names
		}
		retried := func(run string, err error, want error) {
			t.Helper()
			if err == nil || errors.Is(err, asynq.SkipRetry) || !IsFailure(err) {
				t.Fatalf("%s: %v, want an error that is retried", run, err)
			}
			if want != nil && !errors.Is(err, want) {
				t.Errorf("%s: %v, want %v", run, err, want)
			}
		}

		// 1: the quota is full when Plan.dwg is uploaded.
		retried("run 1", h.ProcessTask(ctx, task), documents.ErrQuota)
		if got := filed(); !slices.Equal(got, []string{"Angebot.pdf"}) {
			t.Errorf("after run 1 filed %q, want Angebot.pdf", got)
		}
		// 2: the spool disk is unusable (full, gone): nothing is uploaded.
		spool := h.spoolDir
		h.spoolDir = filepath.Join(t.TempDir(), "missing")
		retried("run 2", h.ProcessTask(ctx, task), nil)
		h.spoolDir = spool
		// 3: the answer to Foto.jpg's upload is lost.
		retried("run 3", h.ProcessTask(ctx, task), nil)
		// 4: everything is in place; 5: a redelivery of the finished task.
		for _, run := range []string{"run 4", "run 5"} {
			if err := h.ProcessTask(ctx, task); err != nil {
				t.Fatalf("%s: %v", run, err)
			}
		}

		want := []string{"Angebot.pdf", "Foto.jpg", "Plan.dwg"}
		if got := filed(); !slices.Equal(got, want) {
			t.Errorf("recorded %q, want %q", got, want)
		}
		onDisk := filesBelow(t, f.dir)
		if len(onDisk) != len(want) {
			t.Errorf("files in the share:\n%s\nwant one per attachment", strings.Join(onDisk, "\n"))
		}
		for _, name := range want {
			if n := docs.stored[name]; n != 1 {
				t.Errorf("%s uploaded %d times, want once", name, n)
			}
		}
	})
}

// filesFailing answers the attachment listing with err.
type filesFailing struct{ err error }

func (f filesFailing) Attachments(context.Context, string, string) ([]model.Attachment, error) {
	return nil, f.err
}

func (f filesFailing) OpenAttachment(context.Context, string, string, string) (io.ReadCloser, error) {
	return nil, f.err
}

// filingFailure, on a real asynq server: a vanished message is retried
// notFoundRetries times and then noted on the decision; a refused document
// store is recorded on the mailbox and retried (on RetryDelay's slow
// schedule); Graph's access denied goes the way of graphFailure.
func TestFilingFailure(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFilingFixture(t, st, &memFiles{})
		h := f.p.FileAttachments
		task, err := queue.NewFileAttachmentsTask(f.pl)
		if err != nil {
			t.Fatal(err)
		}
		mailbox := func() store.Mailbox {
			t.Helper()
			mb, err := st.MailboxByEmployee(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			return mb
		}

		h.files = filesFailing{&grapherr.Error{Kind: grapherr.ErrNotFound, Op: "list attachments", Status: 404}}
		attempts := runRetried(t, h, task, 12)
		if len(attempts) != notFoundRetries+1 || attempts[notFoundRetries].err != nil {
			t.Fatalf("vanished message: attempts %+v, want %d, the last done", attempts, notFoundRetries+1)
		}
		if note := f.note(t); !strings.Contains(note, "attachments not filed: the message vanished") {
			t.Errorf("decision note %q", note)
		}

		h.files = filesFailing{fmt.Errorf("webdav: PROPFIND: 401: %w", documents.ErrAuth)}
		err = h.ProcessTask(ctx, task)
		if !errors.Is(err, documents.ErrAuth) || errors.Is(err, asynq.SkipRetry) {
			t.Errorf("refused document store: %v, want ErrAuth, retried", err)
		}
		if RetryDelay(0, err, task) != 10*time.Minute {
			t.Errorf("refused document store retried after %v, want 10 min", RetryDelay(0, err, task))
		}
		if mb := mailbox(); !strings.HasPrefix(mb.LastError, "document store: ") || !mb.Syncable() {
			t.Errorf("mailbox %+v, want the document store's refusal recorded, the mailbox synced", mb)
		}

		h.files = filesFailing{&grapherr.Error{Kind: grapherr.ErrAccessDenied, Op: "list attachments", Status: 403}}
		if err := h.ProcessTask(ctx, task); err != nil {
			t.Errorf("access denied: %v, want the task done", err)
		}
		if mb := mailbox(); mb.State() != store.MailboxAccessDenied {
			t.Errorf("mailbox state %q, want access denied", mb.State())
		}
	})
}
