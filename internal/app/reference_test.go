package app_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dedesales/exchange-connector/internal/explain"
	"github.com/dedesales/exchange-connector/internal/graphsim"
	"github.com/dedesales/exchange-connector/internal/store"
)

// A cloud link as Graph v1.0 sends it, without sourceUrl: nothing to file,
// so it is left out with a note on the decision and counted as
// documents_guarded_total{reason="no_link"}; the other attachment is filed.
func TestCloudLinkWithoutAddress(t *testing.T) {
	s := newStack(t, store.SQLite)
	s.start(t)
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	m, err := s.sim.CreateMessage(graphsim.MessageInput{Mailbox: anna, Folder: "inbox", Message: map[string]any{
		"subject": "Link", "receivedDateTime": at.Format(time.RFC3339), "sentDateTime": at.Format(time.RFC3339),
		"from": from("sabine.schulz@schulz-technik.com"),
	}, Attachments: []graphsim.AttachmentInput{
		{ODataType: "#microsoft.graph.referenceAttachment", Name: "Hallenplan", SourceURL: "https://schulz.sharepoint.com/hallenplan.dwg"},
		{Name: "Notiz.txt", ContentType: "text/plain", ContentBytes: "SGFsbG8="},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join("10001", "E-Mail Attachments", "2026-11-25 Link", "Notiz.txt")}
	s.waitFor(t, "the filed file", func() bool { return slices.Equal(s.files(t), want) })
	s.queueDrained(t)
	if got := s.files(t); !slices.Equal(got, want) {
		t.Errorf("filed %v, want %v", got, want)
	}
	d := s.decision(t, m.ID)
	if !strings.Contains(d.Notes(), `cloud link "Hallenplan" not filed: Graph did not give its address`) {
		t.Errorf("notes %q:\n%s", d.Notes(), explain.Decision(d))
	}
	if metrics := s.getInternal(t, "/metrics"); !strings.Contains(metrics, `connector_documents_guarded_total{reason="no_link"} 1`) {
		t.Error(`/metrics lacks connector_documents_guarded_total{reason="no_link"} 1`)
	}
}
