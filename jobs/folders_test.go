package jobs

import (
	"slices"
	"testing"

	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/store"
)

// folderTreeFixture is a mailbox with every kind of folder rule 1 knows.
func folderTreeFixture() []store.Folder {
	f := func(id, parent, wk, name string, hidden bool) store.Folder {
		return store.Folder{MailFolder: model.MailFolder{ID: id, ParentID: parent, WellKnownName: wk, DisplayName: name, Hidden: hidden}}
	}
	return []store.Folder{
		f("root", "", "msgfolderroot", "", false),
		f("in", "root", "inbox", "Inbox", false),
		f("in-sub", "in", "", "Kunden", false),
		f("in-hidden", "in", "", "Hidden below Inbox", true),
		f("in-hidden-sub", "in-hidden", "", "Below a hidden folder", false),
		f("sent", "root", "sentitems", "Sent Items", false),
		f("junk", "root", "junkemail", "Junk", false),
		f("junk-sub", "junk", "", "Alt", false),
		f("del", "root", "deleteditems", "Deleted", false),
		f("archive", "root", "archive", "Archiv", false),
		f("user", "root", "", "Projekte", false),
		f("user-sub", "user", "", "2026", false),
		f("sys", "root", "", "Conversation Action Settings", true),
		f("orphan", "gone", "", "?", false),
	}
}

func TestConsideredFolders(t *testing.T) {
	var got []string
	for _, c := range considered(folderTreeFixture()) {
		got = append(got, c.ID)
	}
	want := []string{"in", "in-sub", "sent", "user", "user-sub"}
	if !slices.Equal(got, want) {
		t.Errorf("considered = %v, want %v", got, want)
	}
}

// The sync path (which folders a delta round walks) and the notification
// path (the folder path of a notified message, through match.Prepare) must
// agree on every folder of the same tree. They used to disagree on hidden
// folders: the sync skipped them, a notification imported their mail.
func TestSyncAndNotificationAgreeOnFolders(t *testing.T) {
	tree := folderTreeFixture()
	synced := map[string]bool{}
	for _, f := range considered(tree) {
		synced[f.ID] = true
	}
	rules := match.NewRules(model.Settings{}, nil)
	for _, f := range tree {
		if f.WellKnownName == "msgfolderroot" || f.ID == "orphan" {
			continue // no mail of its own / not below msgfolderroot
		}
		path, ok := folderTree(tree).Path(f.ID) // what folderPath resolves for a notified message
		if !ok {
			t.Fatalf("%s: no path", f.ID)
		}
		msg := model.Message{ID: "m", ParentFolderID: f.ID,
			From: &model.Recipient{EmailAddress: model.EmailAddress{Address: "kunde@kunde.example"}}}
		p := match.Prepare(&match.Input{Message: msg, Mailbox: "anna@firma.example", Folder: path, Rules: rules})
		notified := !(p.Done && p.Decision.Reason == match.ReasonExcludedFolder)
		if notified != synced[f.ID] {
			t.Errorf("folder %s (%s): notification path considers it %v, sync path %v", f.ID, f.DisplayName, notified, synced[f.ID])
		}
	}
}
