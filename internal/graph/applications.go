package graph

import (
	"context"

	"github.com/microsoftgraph/msgraph-sdk-go/applicationswithappid"

	"github.com/dedesales/exchange-connector/internal/model"
)

// PasswordCredentials returns the app registration's client secrets (end
// dates, hints; never the secrets). It needs Application.Read.All or
// ownership of the app; without it the error is grapherr.ErrAccessDenied.
func (c *Client) PasswordCredentials(ctx context.Context) ([]model.PasswordCredential, error) {
	const op = "read password credentials"
	_, creds, err := c.signer.current(ctx)
	if err != nil {
		return nil, wrap(op, err)
	}
	appID := creds.ClientID
	b := applicationswithappid.NewApplicationsWithAppIdRequestBuilderInternal(map[string]string{}, c.adapter, &appID)
	app, err := b.Get(ctx, &applicationswithappid.ApplicationsWithAppIdRequestBuilderGetRequestConfiguration{
		QueryParameters: &applicationswithappid.ApplicationsWithAppIdRequestBuilderGetQueryParameters{Select: []string{"id", "appId", "passwordCredentials"}},
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	var out []model.PasswordCredential
	for _, p := range app.GetPasswordCredentials() {
		pc := model.PasswordCredential{DisplayName: deref(p.GetDisplayName()), Hint: deref(p.GetHint())}
		if id := p.GetKeyId(); id != nil {
			pc.KeyID = id.String()
		}
		if t := p.GetStartDateTime(); t != nil {
			pc.StartsAt = t.UTC()
		}
		if t := p.GetEndDateTime(); t != nil {
			pc.EndsAt = t.UTC()
		}
		out = append(out, pc)
	}
	return out, nil
}
