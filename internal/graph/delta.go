package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
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
	var page model.DeltaPage
	var msgs []model.Message
	res, err := b.GetAsDeltaGetResponse(ctx, cfg)
	switch {
	case err != nil && isDecodeError(err):
		// The SDK's typed parser rejects a whole page for one property of an
		// unexpected type, although the connector may not even use it:
		// Microsoft's own delta example carries "isRead": "true" as a string
		// (concepts/delta-query-messages.md, testdata/graph-real/SOURCES.md),
		// and kiota fails with "type '*string' is not compatible with type
		// bool", which would stall the folder's sync for good. The page is
		// read again and decoded leniently: unknown and unused properties
		// are ignored, a used one of a wrong type is a clear ErrInvalid.
		u := link
		if u == "" {
			ri, rerr := b.ToGetRequestInformation(ctx, cfg)
			if rerr == nil {
				ri.PathParameters["baseurl"] = c.graphURL // set by the adapter when it sends
				var pu *url.URL
				if pu, rerr = ri.GetUri(); rerr == nil {
					u = pu.String()
				}
			}
			if rerr != nil {
				return model.DeltaPage{}, wrap(op, fmt.Errorf("%w (and the page's URL: %v)", err, rerr))
			}
		}
		page, msgs, err = c.lenientDelta(ctx, op, u, cfg.Headers.Get("Prefer"))
		if err != nil {
			return model.DeltaPage{}, err
		}
	case err != nil:
		return model.DeltaPage{}, wrap(op, err)
	default:
		page = model.DeltaPage{NextLink: deref(res.GetOdataNextLink()), DeltaLink: deref(res.GetOdataDeltaLink())}
		for _, m := range res.GetValue() {
			msgs = append(msgs, toMessage(m))
		}
	}
	for _, l := range []string{page.NextLink, page.DeltaLink} {
		if host, ok := c.onGraph(l); l != "" && !ok {
			return model.DeltaPage{}, &grapherr.Error{Kind: grapherr.ErrInvalid, Op: op,
				Message: fmt.Sprintf("the page links to %q, not to the Graph host; not followed", host)}
		}
	}
	for _, msg := range msgs {
		if msg.Removed != nil {
			page.Removed = append(page.Removed, msg.ID)
			continue
		}
		page.Messages = append(page.Messages, msg)
	}
	return page, nil
}

// isDecodeError reports whether an SDK error is neither a Graph error
// response nor a failure to reach Graph: the response arrived but did not
// parse.
func isDecodeError(err error) bool {
	var oe *odataerrors.ODataError
	var ae *abs.ApiError
	var ge *grapherr.Error
	var ue *url.Error
	var ne net.Error
	return !errors.As(err, &oe) && !errors.As(err, &ae) && !errors.As(err, &ge) && !errors.As(err, &ue) && !errors.As(err, &ne) &&
		!errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// lenientDelta fetches a delta page itself and decodes it with
// encoding/json into the connector's message type, which ignores the
// properties it does not know.
func (c *Client) lenientDelta(ctx context.Context, op, u string, prefer []string) (model.DeltaPage, []model.Message, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return model.DeltaPage{}, nil, wrap(op, err)
	}
	req.Header.Set("Accept", "application/json")
	for _, p := range prefer {
		req.Header.Add("Prefer", p)
	}
	resp, err := c.download.Do(req)
	if err != nil {
		return model.DeltaPage{}, nil, wrap(op, err)
	}
	if resp.StatusCode != http.StatusOK {
		return model.DeltaPage{}, nil, responseError(op, resp)
	}
	defer resp.Body.Close()
	var body struct {
		NextLink  string            `json:"@odata.nextLink"`
		DeltaLink string            `json:"@odata.deltaLink"`
		Value     []json.RawMessage `json:"value"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return model.DeltaPage{}, nil, &grapherr.Error{Kind: grapherr.ErrTransient, Op: op, Err: fmt.Errorf("decoding the page: %w", err)}
	}
	msgs := make([]model.Message, 0, len(body.Value))
	for _, raw := range body.Value {
		var m model.Message
		if err := json.Unmarshal(raw, &m); err != nil {
			var id struct {
				ID string `json:"id"`
			}
			_ = json.Unmarshal(raw, &id)
			return model.DeltaPage{}, nil, &grapherr.Error{Kind: grapherr.ErrInvalid, Op: op,
				Message: fmt.Sprintf("message %q in the delta page does not parse: %v", clip(id.ID), err)}
		}
		msgs = append(msgs, m)
	}
	return model.DeltaPage{NextLink: body.NextLink, DeltaLink: body.DeltaLink}, msgs, nil
}

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
