package app_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dedesales/exchange-connector/internal/graphsim"
	"github.com/dedesales/exchange-connector/internal/store"
)

// Through Graph (the simulator) and the worker, with default settings: a
// cloud link whose address carries CR/LF or is a file:// target is not
// written as a .url, desktop.ini and an .exe behind a right-to-left
// override are filed renamed, and the decision says so.
func TestAttachmentsDangerousFilesAndLinks(t *testing.T) {
	s := newStack(t, store.SQLite)
	s.start(t)
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	m, err := s.sim.CreateMessage(graphsim.MessageInput{Mailbox: anna, Folder: "inbox", Message: map[string]any{
		"subject": "Rechnung", "receivedDateTime": at.Format(time.RFC3339), "sentDateTime": at.Format(time.RFC3339),
		"from": map[string]any{"emailAddress": map[string]any{"name": "Sabine Schulz", "address": "sabine.schulz@schulz-technik.com"}},
	}, Attachments: []graphsim.AttachmentInput{
		{ODataType: "#microsoft.graph.referenceAttachment", Name: "Plan", SourceURL: "https://schulz.sharepoint.com/plan\r\nIconFile=\\\\203.0.113.9\\s\\i.ico", ExposeSourceURL: true},
		{ODataType: "#microsoft.graph.referenceAttachment", Name: "Share", SourceURL: "file://///203.0.113.9/share/x.exe", ExposeSourceURL: true},
		{Name: "desktop.ini", ContentType: "application/octet-stream", ContentBytes: "W1NoZWxsXQ=="},
		{Name: "Rechnung\u202Efdp.exe", ContentType: "application/octet-stream", ContentBytes: "TVo="},
	}})
	if err != nil {
		t.Fatal(err)
	}
	thread := filepath.Join("10001", "E-Mail Attachments", "2026-11-25 Rechnung")
	want := []string{filepath.Join(thread, "Rechnung_fdp.exe.blocked"), filepath.Join(thread, "desktop.ini.blocked")}
	s.waitFor(t, "the filed files", func() bool { return slices.Equal(s.files(t), want) })
	s.queueDrained(t)
	if got := s.files(t); !slices.Equal(got, want) {
		t.Errorf("files:\n%s", strings.Join(got, "\n"))
	}
	if b, err := os.ReadFile(filepath.Join(s.documentsDir(), want[1])); err != nil || string(b) != "[Shell]" {
		t.Errorf("renamed file content %q, %v", b, err)
	}
	d := s.decision(t, m.ID)
	for _, w := range []string{`cloud link "Plan" not filed`, `cloud link "Share" not filed`, `filed as "desktop.ini.blocked"`, `filed as "Rechnung_fdp.exe.blocked"`} {
		if !strings.Contains(d.Notes(), w) {
			t.Errorf("decision notes lack %q: %q", w, d.Notes())
		}
	}
}
