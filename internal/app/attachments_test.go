package app_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dedesales/exchange-connector/internal/explain"
	"github.com/dedesales/exchange-connector/internal/graphsim"
	"github.com/dedesales/exchange-connector/internal/store"
)

// documentsDir is where the stack's local document store writes.
func (s *stack) documentsDir() string { return strings.TrimPrefix(s.cfg.DocumentsURL, "file://") }

// files lists the files below the documents folder, relative to it.
func (s *stack) files(t testing.TB) []string {
	var out []string
	root := s.documentsDir()
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasPrefix(d.Name(), ".ecput-") {
			rel, _ := filepath.Rel(root, p)
			out = append(out, rel)
		}
		return nil
	})
	slices.Sort(out)
	return out
}

func sha(r io.Reader) string {
	h := sha256.New()
	io.Copy(h, r)
	return hex.EncodeToString(h.Sum(nil))
}

// Attachments of an imported mail land in the customer's documents, with
// the right bytes; a second mail of the thread gets every mail its folder.
func TestAttachmentsFiledIntoCustomerDocuments(t *testing.T) {
	s := newStack(t, store.SQLite)
	s.start(t)
	first := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	m := s.mail(t, anna, "inbox", map[string]any{"subject": "Angebot Dachsanierung", "receivedDateTime": first.Format(time.RFC3339),
		"sentDateTime": first.Format(time.RFC3339), "from": map[string]any{"emailAddress": map[string]any{"name": "Thomas Müller", "address": "t.mueller@mueller-bau.de"}}},
	// sim attachments
	)
	_ = m
	att, err := s.sim.CreateMessage(graphsim.MessageInput{Mailbox: anna, Folder: "inbox", Message: map[string]any{
		"subject": "AW: Angebot Dachsanierung", "receivedDateTime": first.Format(time.RFC3339), "sentDateTime": first.Format(time.RFC3339),
		"from": map[string]any{"emailAddress": map[string]any{"name": "Thomas Müller", "address": "t.mueller@mueller-bau.de"}},
	}, Attachments: []graphsim.AttachmentInput{
		{Name: "Angebot 2026/117.pdf", ContentType: "application/pdf", Size: 5 << 20},
		{Name: "logo.png", ContentType: "image/png", Size: 3000, IsInline: true, ContentID: "logo"},
		{ODataType: "#microsoft.graph.itemAttachment", Name: "Ursprüngliche Anfrage", Item: map[string]any{"subject": "Anfrage"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	s.decision(t, att.ID)
	thread := filepath.Join("10002", "E-Mail Attachments", "2026-11-20 Angebot Dachsanierung")
	want := []string{filepath.Join(thread, "Angebot 2026_117.pdf"), filepath.Join(thread, "Ursprüngliche Anfrage.eml")}
	s.waitFor(t, "the filed attachments", func() bool { return slices.Equal(s.files(t), want) })
	f, err := os.Open(filepath.Join(s.documentsDir(), want[0]))
	if err != nil {
		t.Fatal(err)
	}
	got := sha(f)
	f.Close()
	if wantSum := sha(graphsim.SyntheticContent("Angebot 2026/117.pdf", 5<<20)); got != wantSum {
		t.Errorf("filed PDF: sha256 %s, want %s", got, wantSum)
	}

	// The customer answers in the same thread with another file: both mails get their folder.
	second := first.Add(26 * time.Hour)
	reply, err := s.sim.CreateMessage(graphsim.MessageInput{Mailbox: anna, Folder: "inbox", Message: map[string]any{
		"subject": "WG: Angebot Dachsanierung", "receivedDateTime": second.Format(time.RFC3339), "sentDateTime": second.Format(time.RFC3339),
		"from": map[string]any{"emailAddress": map[string]any{"name": "Thomas Müller", "address": "t.mueller@mueller-bau.de"}},
	}, Attachments: []graphsim.AttachmentInput{{Name: "Angebot 2026/117.pdf", ContentType: "application/pdf", Size: 1000}}})
	if err != nil {
		t.Fatal(err)
	}
	s.decision(t, reply.ID)
	want2 := []string{
		filepath.Join(thread, "2026-11-20 10.30 Thomas Müller", "Angebot 2026_117.pdf"),
		filepath.Join(thread, "2026-11-20 10.30 Thomas Müller", "Ursprüngliche Anfrage.eml"),
		filepath.Join(thread, "2026-11-21 12.30 Thomas Müller", "Angebot 2026_117.pdf"),
	}
	s.waitFor(t, "the thread's mail folders", func() bool { return slices.Equal(s.files(t), want2) })
	s.queueDrained(t)
	if got := s.files(t); !slices.Equal(got, want2) {
		t.Errorf("files:\n%s", strings.Join(got, "\n"))
	}
	docs, err := s.st.ThreadDocuments(context.Background(), 2, "angebot dachsanierung")
	if err != nil || len(docs) != 3 {
		t.Fatalf("documents rows: %+v, %v", docs, err)
	}
	for _, d := range docs {
		if !slices.Contains(want2, filepath.FromSlash(d.Path)) {
			t.Errorf("recorded path %s is not where the file is", d.Path)
		}
	}
}

// Cloud links become .url shortcuts; an attachment above the size cap is
// left out with a note on the decision, and the rest is filed.
func TestCloudLinksAndSizeCap(t *testing.T) {
	s := newStack(t, store.SQLite)
	if err := s.st.SetSetting(context.Background(), "max_attachment_bytes", "1000000"); err != nil {
		t.Fatal(err)
	}
	s.start(t)
	at := time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC)
	m, err := s.sim.CreateMessage(graphsim.MessageInput{Mailbox: anna, Folder: "inbox", Message: map[string]any{
		"subject": "Pläne", "receivedDateTime": at.Format(time.RFC3339), "sentDateTime": at.Format(time.RFC3339),
		"from": map[string]any{"emailAddress": map[string]any{"name": "Sabine Schulz", "address": "sabine.schulz@schulz-technik.com"}},
	}, Attachments: []graphsim.AttachmentInput{
		{ODataType: "#microsoft.graph.referenceAttachment", Name: "Hallenplan", SourceURL: "https://schulz.sharepoint.com/hallenplan.dwg", ExposeSourceURL: true},
		{Name: "Video.mp4", ContentType: "video/mp4", Size: 3 << 20},
		{Name: "Notiz.txt", ContentType: "text/plain", ContentBytes: "SGFsbG8="},
	}})
	if err != nil {
		t.Fatal(err)
	}
	thread := filepath.Join("10001", "E-Mail Attachments", "2026-11-24 Pläne")
	want := []string{filepath.Join(thread, "Hallenplan.url"), filepath.Join(thread, "Notiz.txt")}
	s.waitFor(t, "the filed files", func() bool { return slices.Equal(s.files(t), want) })
	link, err := os.ReadFile(filepath.Join(s.documentsDir(), want[0]))
	if err != nil || !strings.Contains(string(link), "URL=https://schulz.sharepoint.com/hallenplan.dwg") {
		t.Errorf(".url file: %q, %v", link, err)
	}
	s.queueDrained(t)
	// The history names the file left out, and each filed file once.
	d := s.decision(t, m.ID)
	var notes, filed int
	for _, e := range d.History {
		switch text := explain.Event(e); e.Kind {
		case store.EventNote:
			if strings.Contains(text, `"Video.mp4"`) && strings.Contains(text, "max_attachment_bytes") {
				notes++
			}
		case store.EventFileFiled:
			filed++
		}
	}
	if notes != 1 || filed != 2 {
		t.Errorf("history: %d notes on Video.mp4, %d files filed; want 1, 2:\n%s", notes, filed, explain.Decision(d))
	}
}
