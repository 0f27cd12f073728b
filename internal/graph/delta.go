package graph

import (
	"context"
	"fmt"
	"net/url"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/dedesales/exchange-connector/internal/grapherr"
	"github.com/dedesales/exchange-connector/internal/model"
)

// Delta returns one page of a folder's message delta. With an empty link
// it starts a new round with the messages received since since; otherwise
// link is the nextLink or deltaLink of the previous page. A lost sync state
// (410 syncStateNotFound) is grapherr.ErrSyncStateLost: start a new round.
// Pages carry the message fields, so no per-message GET is needed.
//
// Links must point at the Graph host: a stored link to another host (the
// graph_url was changed) is grapherr.ErrSyncStateLost, and a page whose
// links lead elsewhere is grapherr.ErrInvalid, so that the token and the
// mailbox's mail never follow a link away from Graph.
func (c *Client) Delta(ctx context.Context, mailbox, folderID, link string, since time.Time) (model.DeltaPage, error) {
	const op = "message delta"
	if link != "" {
		if host, ok := c.onGraph(link); !ok {
			return model.DeltaPage{}, &grapherr.Error{Kind: grapherr.ErrSyncStateLost, Op: op,
				Message: fmt.Sprintf("the stored delta link points at %q, not at the Graph host", host)}
		}
	}
	b := c.users().ByUserId(mailbox).MailFolders().ByMailFolderId(folderID).Messages().Delta()
	cfg := &users.ItemMailFoldersItemMessagesDeltaRequestBuilderGetRequestConfiguration{Headers: abs.NewRequestHeaders()}
	cfg.Headers.Add("Prefer", fmt.Sprintf("odata.maxpagesize=%d, %s", c.cfg.DeltaPageSize, preferText))
	if link != "" {
		b = b.WithUrl(link)
	} else {
		// $expand works on message delta (message-delta.md; graph.md
		// Errata): the SMTP addresses of an X.500 sender arrive with the
		// page, so a backfilled mail is decided as a notified one.
		q := &users.ItemMailFoldersItemMessagesDeltaRequestBuilderGetQueryParameters{Select: messageFields, Expand: []string{smtpProperties}}
		if !since.IsZero() {
			f := "receivedDateTime ge " + since.UTC().Format(time.RFC3339)
			q.Filter = &f
			// Newest first, the only order delta supports ("$orderby only
			// supports receivedDateTime desc", message-delta.md): a round
			// capped at 5,000 then holds the newest part of the window and
			// only the older rest needs listing (the caller checks the order).
			q.Orderby = []string{"receivedDateTime desc"}
		}
		cfg.QueryParameters = q
	}
	res, err := b.GetAsDeltaGetResponse(ctx, cfg)
	if err != nil {
		return model.DeltaPage{}, wrap(op, err)
	}
	page := model.DeltaPage{NextLink: deref(res.GetOdataNextLink()), DeltaLink: deref(res.GetOdataDeltaLink())}
	for _, l := range []string{page.NextLink, page.DeltaLink} {
		if host, ok := c.onGraph(l); l != "" && !ok {
			return model.DeltaPage{}, &grapherr.Error{Kind: grapherr.ErrInvalid, Op: op,
				Message: fmt.Sprintf("the page links to %q, not to the Graph host; not followed", host)}
		}
	}
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

// FilteredDeltaCap is the most messages a filtered delta round returns:
// "Applying $filter in a delta query returns only up to 5,000 messages …
// If you don't include an $orderby expression, the return order isn't
// guaranteed" (learn.microsoft.com/graph/delta-query-messages, ms.date
// 2024-11-07; graph.md Errata). A first round that returned this many may
// have left out an arbitrary part of the window: complete it with
// ListReceived.
const FilteredDeltaCap = 5000

// ListReceived returns one page of a folder's messages received in
// [since, until] (until zero: no upper bound), newest first, with the same
// fields, SMTP extended properties and text body as Delta. With link set it
// follows that nextLink instead. Unlike a filtered delta, the message list
// has no 5,000 cap; $top may be 1 to 1000, and a $filter with an $orderby
// must name the $orderby property first (learn.microsoft.com/graph/api/
// user-list-messages). It serves the backfill of folders whose filtered
// delta round was capped; paging by receivedDateTime (keyset) rather than by
// $skip means a message deleted during the backfill cannot shift another
// one past the page boundary.
func (c *Client) ListReceived(ctx context.Context, mailbox, folderID, link string, since, until time.Time) (model.DeltaPage, error) {
	const op = "list messages"
	if link != "" {
		if host, ok := c.onGraph(link); !ok {
			return model.DeltaPage{}, &grapherr.Error{Kind: grapherr.ErrInvalid, Op: op,
				Message: fmt.Sprintf("the nextLink points at %q, not at the Graph host; not followed", host)}
		}
	}
	b := c.users().ByUserId(mailbox).MailFolders().ByMailFolderId(folderID).Messages()
	cfg := &users.ItemMailFoldersItemMessagesRequestBuilderGetRequestConfiguration{Headers: abs.NewRequestHeaders()}
	cfg.Headers.Add("Prefer", preferText)
	if link != "" {
		b = b.WithUrl(link)
	} else {
		f := "receivedDateTime ge " + since.UTC().Format(time.RFC3339)
		if !until.IsZero() {
			f += " and receivedDateTime le " + until.UTC().Format(time.RFC3339)
		}
		top := int32(min(max(c.cfg.DeltaPageSize, 1), 1000))
		cfg.QueryParameters = &users.ItemMailFoldersItemMessagesRequestBuilderGetQueryParameters{
			Select: messageFields, Expand: []string{smtpProperties}, Filter: &f,
			Orderby: []string{"receivedDateTime desc"}, Top: &top,
		}
	}
	res, err := b.Get(ctx, cfg)
	if err != nil {
		return model.DeltaPage{}, wrap(op, err)
	}
	page := model.DeltaPage{NextLink: deref(res.GetOdataNextLink())}
	if host, ok := c.onGraph(page.NextLink); page.NextLink != "" && !ok {
		return model.DeltaPage{}, &grapherr.Error{Kind: grapherr.ErrInvalid, Op: op,
			Message: fmt.Sprintf("the page links to %q, not to the Graph host; not followed", host)}
	}
	for _, m := range res.GetValue() {
		page.Messages = append(page.Messages, toMessage(m))
	}
	return page, nil
}

// onGraph reports whether link is an absolute URL on the Graph host, and
// names its host for an error message.
func (c *Client) onGraph(link string) (host string, ok bool) {
	u, err := url.Parse(link)
	if err != nil {
		return "(unparseable)", false
	}
	return clip(u.Host), u.IsAbs() && originOf(u) == c.origin
}

// clip shortens a value from a response for an error message.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
