package graph

import (
	"context"
	"fmt"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/dedesales/exchange-connector/internal/model"
)

// Delta returns one page of a folder's message delta. With an empty link
// it starts a new round with the messages received since since; otherwise
// link is the nextLink or deltaLink of the previous page. A lost sync state
// (410 syncStateNotFound) is grapherr.ErrSyncStateLost: start a new round.
// Pages carry the message fields, so no per-message GET is needed.
func (c *Client) Delta(ctx context.Context, mailbox, folderID, link string, since time.Time) (model.DeltaPage, error) {
	b := c.users().ByUserId(mailbox).MailFolders().ByMailFolderId(folderID).Messages().Delta()
	cfg := &users.ItemMailFoldersItemMessagesDeltaRequestBuilderGetRequestConfiguration{Headers: abs.NewRequestHeaders()}
	cfg.Headers.Add("Prefer", fmt.Sprintf("odata.maxpagesize=%d, %s", c.cfg.DeltaPageSize, preferText))
	if link != "" {
		b = b.WithUrl(link)
	} else {
		q := &users.ItemMailFoldersItemMessagesDeltaRequestBuilderGetQueryParameters{Select: messageFields}
		if !since.IsZero() {
			f := "receivedDateTime ge " + since.UTC().Format(time.RFC3339)
			q.Filter = &f
		}
		cfg.QueryParameters = q
	}
	res, err := b.GetAsDeltaGetResponse(ctx, cfg)
	if err != nil {
		return model.DeltaPage{}, wrap("message delta", err)
	}
	page := model.DeltaPage{NextLink: deref(res.GetOdataNextLink()), DeltaLink: deref(res.GetOdataDeltaLink())}
	for _, m := range res.GetValue() {
		msg := toMessage(m)
		if msg.Removed != nil {
			page.Removed = append(page.Removed, msg.ID)
			continue
		}
		page.Messages = append(page.Messages, msg)
	}
	return page, nil
}
