package jobs

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dedesales/exchange-connector/internal/crmfile"
	"github.com/dedesales/exchange-connector/internal/documents"
	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/metrics"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/queue"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// memFiles serves attachments from memory in place of Graph.
type memFiles struct {
	atts []model.Attachment
	body map[string]func() io.Reader
}

func (m *memFiles) Attachments(context.Context, string, string) ([]model.Attachment, error) {
	return m.atts, nil
}

func (m *memFiles) OpenAttachment(_ context.Context, _, _, id string) (io.ReadCloser, error) {
	return io.NopCloser(m.body[id]()), nil
}

// oneLock is the Locker of a single-goroutine test.
type oneLock struct{}

func (oneLock) Acquire(context.Context, string) (func(), error) { return func() {}, nil }

// endless yields bytes without end, like an attachment whose declared size
// is a lie; reading more than fail bytes is an error, so a spool without a
// cap fails instead of filling the disk.
type endless struct{ read, fail int64 }

func (r *endless) Read(p []byte) (int, error) {
	if r.read > r.fail {
		return 0, errors.New("read far past max_attachment_bytes")
	}
	for i := range p {
		p[i] = 'x'
	}
	r.read += int64(len(p))
	return len(p), nil
}

// filingFixture is a store with one mailbox, one customer and one imported
// mail, and a processor filing into a local directory.
type filingFixture struct {
	st            *store.Store
	p             *Handlers
	dir, spoolDir string
	pl            queue.FileAttachmentsPayload
}

func newFilingFixture(t *testing.T, st *store.Store, files *memFiles) *filingFixture {
	ctx := context.Background()
	mailbox := "anna.berger@dedenet.de"
	_, err := st.ImportCRM(ctx, &crmfile.File{
		Employees: []model.Employee{{ID: 1, Name: "Anna Berger", Email: mailbox, ExchangeMailbox: &mailbox, Active: true}},
		Customers: []model.Customer{{ID: 10, Number: "10001", Name: "Schulz Technik GmbH", Email: "info@schulz-technik.com"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC)
	cust := int64(10)
	msg := model.Message{ID: "AAMk1", InternetMessageID: "<1@schulz-technik.com>", Subject: "Pläne", SentDateTime: &at, ReceivedDateTime: &at}
	res, err := st.RecordMessage(ctx, store.MessageRecord{EmployeeID: 1, Message: msg,
		Decision: match.Decision{Outcome: match.OutcomeImported, Direction: match.DirectionInbound, CustomerID: &cust}})
	if err != nil {
		t.Fatal(err)
	}
	f := &filingFixture{st: st, dir: t.TempDir(), spoolDir: t.TempDir(),
		pl: queue.FileAttachmentsPayload{EmployeeID: 1, MessageID: msg.ID, ActivityID: res.ActivityID, CustomerID: cust,
			Subject: msg.Subject, SenderName: "Sabine Schulz", SenderAddress: "sabine.schulz@schulz-technik.com", Date: at}}
	docs, err := documents.NewLocal(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	f.p = NewHandlers(Deps{Store: st, Files: files, Documents: docs, Locks: oneLock{}, SpoolDir: f.spoolDir,
		Location: time.UTC, Metrics: metrics.New(prometheus.NewRegistry()), Log: slog.New(slog.DiscardHandler)})
	return f
}

func (f *filingFixture) run(t *testing.T) {
	t.Helper()
	task, err := queue.NewFileAttachmentsTask(f.pl)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.p.FileAttachments.ProcessTask(context.Background(), task); err != nil {
		t.Fatalf("HandleFileAttachments: %v", err)
	}
}

// files lists the files below dir, relative and slash-separated.
func filesBelow(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func (f *filingFixture) note(t *testing.T) string {
	t.Helper()
	ds, err := f.st.DecisionsFor(context.Background(), f.pl.MessageID)
	if err != nil || len(ds) != 1 {
		t.Fatalf("decisions: %+v, %v", ds, err)
	}
	return ds[0].Notes()
}

func text(s string) func() io.Reader { return func() io.Reader { return strings.NewReader(s) } }

// The security review's document-store findings (issue 14): a cloud link
// with CR/LF or a file:// address is not written as a .url, dangerous types
// are renamed, invisible formatting characters and leading dots do not
// reach names. Each is noted on the decision and counted.
func TestFilingGuardsTheShare(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		files := &memFiles{
			atts: []model.Attachment{
				{ID: "f1", Kind: model.AttachmentFile, Name: "Rechnung.exe", Size: 2},
				{ID: "f2", Kind: model.AttachmentFile, Name: "desktop.ini", Size: 40},
				{ID: "f3", Kind: model.AttachmentFile, Name: "Rechnung\u202Efdp.exe", Size: 2},
				{ID: "f4", Kind: model.AttachmentFile, Name: ".user.ini", Size: 10},
				{ID: "f5", Kind: model.AttachmentFile, Name: "Angebot.pdf", Size: 5},
				{ID: "r1", Kind: model.AttachmentReference, Name: "Plan", SourceURL: "https://schulz.example/plan\r\nIconFile=\\\\evil\\share\\i.ico"},
				{ID: "r2", Kind: model.AttachmentReference, Name: "Share", SourceURL: "file://///evil/share/x.exe"},
				{ID: "r3", Kind: model.AttachmentReference, Name: "Hallenplan", SourceURL: "https://schulz.sharepoint.com/hallen plan.dwg"},
			},
			body: map[string]func() io.Reader{
				"f1": text("MZ"), "f2": text("[.ShellClassInfo]\r\nIconResource=\\\\evil\\s"), "f3": text("MZ"),
				"f4": text("auto_prepend_file=x"), "f5": text("%PDF-"),
			},
		}
		f := newFilingFixture(t, st, files)
		f.run(t)

		thread := "10001/E-Mail Attachments/2026-11-24 Pläne/"
		want := []string{
			thread + "Angebot.pdf",
			thread + "Hallenplan.url",
			thread + "Rechnung.exe.blocked",
			thread + "Rechnung_fdp.exe.blocked",
			thread + "_.user.ini",
			thread + "desktop.ini.blocked",
		}
		if got := filesBelow(t, f.dir); !slices.Equal(got, want) {
			t.Errorf("filed:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		link, err := os.ReadFile(filepath.Join(f.dir, filepath.FromSlash(thread+"Hallenplan.url")))
		if err != nil || string(link) != "[InternetShortcut]\r\nURL=https://schulz.sharepoint.com/hallen%20plan.dwg\r\n" {
			t.Errorf(".url file: %q, %v", link, err)
		}
		note := f.note(t)
		for _, s := range []string{
			`"Rechnung.exe" filed as "Rechnung.exe.blocked"`, `"desktop.ini" filed as "desktop.ini.blocked"`,
			`cloud link "Plan" not filed`, `cloud link "Share" not filed: documents: unsafe link: scheme "file"`,
		} {
			if !strings.Contains(note, s) {
				t.Errorf("decision note lacks %q:\n%s", s, note)
			}
		}
		if strings.Contains(note, "evil") {
			t.Errorf("decision note repeats the link's address: %s", note)
		}
		for reason, n := range map[string]float64{metrics.GuardBlockedType: 3, metrics.GuardUnsafeLink: 2} {
			if got := testutil.ToFloat64(f.p.metrics.DocumentsGuarded.WithLabelValues(reason)); got != n {
				t.Errorf("connector_documents_guarded_total{reason=%q} = %v, want %v", reason, got, n)
			}
		}

		// A retry files nothing again and does not note the renames twice.
		f.run(t)
		if got := filesBelow(t, f.dir); !slices.Equal(got, want) {
			t.Errorf("after a retry:\n%s", strings.Join(got, "\n"))
		}
		if n := strings.Count(f.note(t), "filed as"); n != 3 {
			t.Errorf("renames noted %d times after a retry, want 3", n)
		}
	})
}

// An attachment that sends more than max_attachment_bytes, whatever size
// Graph declared, is read only up to the cap, not filed, noted and
// counted; one of exactly the cap is filed; the spool is left empty.
func TestFilingSpoolIsCapped(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		const limit = 4096
		if err := st.SetSetting(context.Background(), model.SettingMaxAttachmentBytes, "4096"); err != nil {
			t.Fatal(err)
		}
		big := &endless{fail: 64 * limit}
		files := &memFiles{
			atts: []model.Attachment{
				{ID: "f1", Kind: model.AttachmentFile, Name: "Video.mp4", Size: 1000}, // sends endless bytes
				{ID: "f2", Kind: model.AttachmentFile, Name: "exact.bin", Size: 1},    // sends exactly the cap
				{ID: "f3", Kind: model.AttachmentFile, Name: "declared.bin", Size: limit + 1},
			},
			body: map[string]func() io.Reader{
				"f1": func() io.Reader { return big },
				"f2": text(strings.Repeat("y", limit)),
				"f3": func() io.Reader {
					t.Error("an attachment declared above the cap was downloaded")
					return strings.NewReader("")
				},
			},
		}
		f := newFilingFixture(t, st, files)
		f.run(t)
		if got, want := filesBelow(t, f.dir), []string{"10001/E-Mail Attachments/2026-11-24 Pläne/exact.bin"}; !slices.Equal(got, want) {
			t.Errorf("filed %v, want %v", got, want)
		}
		if big.read > limit+64<<10 {
			t.Errorf("read %d bytes of an attachment above the cap of %d", big.read, limit)
		}
		if left := filesBelow(t, f.spoolDir); len(left) != 0 {
			t.Errorf("spool not cleaned up: %v", left)
		}
		note := f.note(t)
		for _, s := range []string{
			`"Video.mp4" not filed: its content is above max_attachment_bytes (4096) although Graph gave its size as 1000 bytes`,
			`"declared.bin" (4097 bytes) not filed: above max_attachment_bytes (4096)`,
		} {
			if !strings.Contains(note, s) {
				t.Errorf("decision note lacks %q:\n%s", s, note)
			}
		}
		if got := testutil.ToFloat64(f.p.metrics.DocumentsGuarded.WithLabelValues(metrics.GuardTooLarge)); got != 2 {
			t.Errorf("connector_documents_guarded_total{reason=too_large} = %v, want 2", got)
		}
	})
}
