package match

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dedesales/exchange-connector/internal/model"
)

func TestExcludedFolder(t *testing.T) {
	ref := func(wk, name string, hidden bool) model.FolderRef {
		return model.FolderRef{WellKnownName: wk, DisplayName: name, Hidden: hidden}
	}
	for _, tc := range []struct {
		name string
		path []model.FolderRef
		want bool
	}{
		{"no path (a search folder)", nil, false},
		{"inbox", []model.FolderRef{ref("inbox", "Posteingang", false)}, false},
		{"below inbox", []model.FolderRef{ref("inbox", "", false), ref("", "Kunden", false)}, false},
		{"sent items", []model.FolderRef{ref("SentItems", "", false)}, false},
		{"user folder", []model.FolderRef{ref("", "Projekte", false)}, false},
		{"root included", []model.FolderRef{ref("msgfolderroot", "", false), ref("inbox", "", false)}, false},
		{"junk", []model.FolderRef{ref("junkemail", "", false)}, true},
		{"below deleted items", []model.FolderRef{ref("deleteditems", "", false), ref("", "Alt", false)}, true},
		{"archive", []model.FolderRef{ref("archive", "", false)}, true},
		{"hidden user folder", []model.FolderRef{ref("", "Conversation Action Settings", true)}, true},
		{"hidden below inbox", []model.FolderRef{ref("inbox", "", false), ref("", "x", true)}, true},
		{"below a hidden folder", []model.FolderRef{ref("", "x", true), ref("", "y", false)}, true},
	} {
		if got := ExcludedFolder(tc.path); got != tc.want {
			t.Errorf("%s: ExcludedFolder = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestFolderTreePath(t *testing.T) {
	tree := NewFolderTree([]model.MailFolder{
		{ID: "root", WellKnownName: "msgfolderroot"},
		{ID: "in", ParentID: "root", WellKnownName: "inbox", DisplayName: "Posteingang"},
		{ID: "k", ParentID: "in", DisplayName: "Kunden", Hidden: true},
		{ID: "loop1", ParentID: "loop2"},
		{ID: "loop2", ParentID: "loop1"},
	})
	path, ok := tree.Path("k")
	want := []model.FolderRef{{ID: "in", WellKnownName: "inbox", DisplayName: "Posteingang"}, {ID: "k", DisplayName: "Kunden", Hidden: true}}
	if diff := cmp.Diff(want, path); !ok || diff != "" {
		t.Errorf("Path(k) ok=%v (-want +got)\n%s", ok, diff)
	}
	for _, id := range []string{"gone", "loop1"} {
		if _, ok := tree.Path(id); ok {
			t.Errorf("Path(%s) found a path", id)
		}
	}
	// The hidden flag reaches Prepare: a notified message there is excluded.
	p := Prepare(&Input{Folder: path, Mailbox: anna, Message: from("kunde@kunde.example"), Rules: NewRules(testSettings(), nil)})
	if !p.Done || p.Decision.Reason != ReasonExcludedFolder {
		t.Errorf("message in a hidden folder: %+v", p.Decision)
	}
}
