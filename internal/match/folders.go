package match

import (
	"slices"
	"strings"

	"github.com/dedesales/exchange-connector/internal/model"
)

// ExcludedFolder is rule 1 for a folder path below msgfolderroot, top-level
// folder first: mail in it is never imported when the top-level folder is a
// well-known folder other than inbox and sentitems (junk, deleted items,
// drafts, outbox, archive, …), or when any folder on the path is hidden
// (Outlook's system folders). Inbox, Sent Items, user folders and their
// subfolders are considered. A leading msgfolderroot entry is skipped.
//
// It is the one predicate for both ways mail arrives: a notified message's
// folder (Prepare) and the folders a delta sync walks.
func ExcludedFolder(path []model.FolderRef) bool {
	for _, f := range path {
		if f.Hidden {
			return true
		}
	}
	wk := topWellKnown(path)
	return wk != "" && !strings.EqualFold(wk, "inbox") && !strings.EqualFold(wk, "sentitems")
}

// topWellKnown returns the well-known name of the top-level folder, "" for a
// user folder or an empty path.
func topWellKnown(path []model.FolderRef) string {
	for _, f := range path {
		if isRoot(f.WellKnownName) {
			continue
		}
		return strings.TrimSpace(f.WellKnownName)
	}
	return ""
}

// isRoot reports whether a path entry is a root a caller may have
// included (msgfolderroot, or Graph's alias root).
func isRoot(wellKnownName string) bool {
	return isMsgFolderRoot(wellKnownName) || strings.EqualFold(wellKnownName, "root")
}

// isMsgFolderRoot reports whether a folder is the top of the user-visible
// tree (Graph's msgfolderroot), where a path ends.
func isMsgFolderRoot(wellKnownName string) bool {
	return strings.EqualFold(wellKnownName, "msgfolderroot")
}

// FolderTree is a mailbox's folder tree indexed by folder ID.
type FolderTree map[string]model.MailFolder

// NewFolderTree indexes folders by ID.
func NewFolderTree(folders []model.MailFolder) FolderTree {
	t := make(FolderTree, len(folders))
	for _, f := range folders {
		t[f.ID] = f
	}
	return t
}

// maxFolderDepth bounds the walk up the tree, so that a cycle in a broken
// tree cannot loop forever.
const maxFolderDepth = 64

// Path returns the path below msgfolderroot of a folder, top-level first
// (empty for msgfolderroot itself). ok is false when the folder or one of
// its ancestors is unknown (the tree needs a refresh, or the folder is not
// below msgfolderroot).
func (t FolderTree) Path(folderID string) (path []model.FolderRef, ok bool) {
	for id, depth := folderID, 0; depth < maxFolderDepth; depth++ {
		f, found := t[id]
		if !found {
			return nil, false
		}
		if isMsgFolderRoot(f.WellKnownName) {
			slices.Reverse(path)
			return path, true
		}
		path = append(path, model.FolderRef{ID: f.ID, WellKnownName: f.WellKnownName, DisplayName: f.DisplayName, Hidden: f.Hidden})
		id = f.ParentID
	}
	return nil, false
}

// Considered reports whether the mail of a folder may be imported: it is
// below msgfolderroot (not the root itself) and not ExcludedFolder. The
// delta sync walks exactly these folders.
func (t FolderTree) Considered(folderID string) bool {
	if f, found := t[folderID]; !found || isMsgFolderRoot(f.WellKnownName) {
		return false
	}
	path, ok := t.Path(folderID)
	return ok && !ExcludedFolder(path)
}
