package graph

import (
	"context"
	"errors"
	"sync"

	abs "github.com/microsoft/kiota-abstractions-go"
	core "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/dedesales/exchange-connector/internal/grapherr"
	"github.com/dedesales/exchange-connector/internal/model"
)

// WellKnownFolders are the well-known names resolved to IDs in FolderTree.
// Only top-level ones matter to the matcher (DESIGN §4 rule 1).
var WellKnownFolders = []string{
	"inbox", "sentitems", "drafts", "deleteditems", "junkemail", "outbox", "archive",
	"conversationhistory", "clutter", "syncissues", "scheduled", "searchfolders",
	"recoverableitemsdeletions", "serverfailures", "localfailures", "conflicts",
}

// FolderTree returns every folder of the mailbox below msgfolderroot,
// hidden ones included, with well-known names resolved, parents before
// children. The root itself comes first with WellKnownName msgfolderroot.
func (c *Client) FolderTree(ctx context.Context, mailbox string) ([]model.MailFolder, error) {
	const op = "folder tree"
	folders := c.users().ByUserId(mailbox).MailFolders()
	root, err := folders.ByMailFolderId("msgfolderroot").Get(ctx, nil)
	if err != nil {
		return nil, wrap(op, err)
	}
	known, err := c.wellKnownIDs(ctx, mailbox)
	if err != nil {
		return nil, err
	}
	tree := []model.MailFolder{{ID: deref(root.GetId()), WellKnownName: "msgfolderroot", DisplayName: deref(root.GetDisplayName())}}
	hidden := "true"
	top := int32(250)
	cfg := &users.ItemMailFoldersItemChildFoldersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemMailFoldersItemChildFoldersRequestBuilderGetQueryParameters{IncludeHiddenFolders: &hidden, Top: &top},
	}
	for i := 0; i < len(tree); i++ { // breadth first: tree grows while we walk it
		parent := tree[i]
		page, err := folders.ByMailFolderId(parent.ID).ChildFolders().Get(ctx, cfg)
		if err != nil {
			return nil, wrap(op, err)
		}
		it, err := core.NewPageIterator[models.MailFolderable](page, c.adapter, models.CreateMailFolderCollectionResponseFromDiscriminatorValue)
		if err != nil {
			return nil, wrap(op, err)
		}
		err = it.Iterate(ctx, func(f models.MailFolderable) bool {
			id := deref(f.GetId())
			tree = append(tree, model.MailFolder{
				ID: id, ParentID: parent.ID, DisplayName: deref(f.GetDisplayName()),
				WellKnownName: known[id], Hidden: deref(f.GetIsHidden()),
				ItemCount: int64(deref(f.GetTotalItemCount())),
			})
			return true
		})
		if err != nil {
			return nil, wrap(op, err)
		}
	}
	return tree, nil
}

// wellKnownIDs maps folder IDs to well-known names. Names a mailbox lacks
// (no archive, no clutter) answer 404 and are skipped.
func (c *Client) wellKnownIDs(ctx context.Context, mailbox string) (map[string]string, error) {
	out := make(map[string]string, len(WellKnownFolders))
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		firstErr error
	)
	sel := &users.ItemMailFoldersMailFolderItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemMailFoldersMailFolderItemRequestBuilderGetQueryParameters{Select: []string{"id"}},
		Headers:         abs.NewRequestHeaders(),
	}
	for _, name := range WellKnownFolders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := c.users().ByUserId(mailbox).MailFolders().ByMailFolderId(name).Get(ctx, sel)
			mu.Lock()
			defer mu.Unlock()
			switch err := wrap("well-known folder "+name, err); {
			case err == nil:
				out[deref(f.GetId())] = name
			case errors.Is(err, grapherr.ErrNotFound):
			case firstErr == nil:
				firstErr = err
			}
		}()
	}
	wg.Wait()
	return out, firstErr
}

// CheckMailbox reads the mailbox's Inbox folder: it succeeds exactly when
// the app may read the mailbox (grapherr.ErrAccessDenied when it is outside
// the app's scope).
func (c *Client) CheckMailbox(ctx context.Context, mailbox string) error {
	sel := &users.ItemMailFoldersMailFolderItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemMailFoldersMailFolderItemRequestBuilderGetQueryParameters{Select: []string{"id"}},
	}
	_, err := c.users().ByUserId(mailbox).MailFolders().ByMailFolderId("inbox").Get(ctx, sel)
	return wrap("check mailbox", err)
}
