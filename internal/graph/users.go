package graph

import (
	"context"
	"strings"

	"github.com/microsoftgraph/msgraph-sdk-go/users"
)

// ResolveUser finds the ID of the user whose mail address (primary, then
// an alias in proxyAddresses) is address; "" when there is none. Graph
// paths take a user's ID or userPrincipalName only (api/user-get.md:
// "/users/{id | userPrincipalName}"); a primary SMTP address that differs
// from the UPN is reported to fail there (camerondwyer.com, 2023-07-07), so
// the connector looks such an address up once and uses the ID. Both filters
// are supported without advanced query parameters (resources/user.md:
// mail and proxyAddresses support $filter eq). Reading the directory needs
// User.ReadBasic.All (or User.Read.All); without it Graph answers 403
// Authorization_RequestDenied, which the caller reports.
func (c *Client) ResolveUser(ctx context.Context, address string) (string, error) {
	esc := strings.ReplaceAll(address, "'", "''")
	for _, flt := range []string{
		"mail eq '" + esc + "'",
		"proxyAddresses/any(x:x eq 'smtp:" + esc + "')",
	} {
		cfg := &users.UsersRequestBuilderGetRequestConfiguration{QueryParameters: &users.UsersRequestBuilderGetQueryParameters{
			Filter: &flt, Select: []string{"id", "userPrincipalName", "mail"},
		}}
		res, err := c.users().Get(ctx, cfg)
		if err != nil {
			return "", wrap("resolve user", err)
		}
		for _, u := range res.GetValue() {
			if id := deref(u.GetId()); id != "" {
				return id, nil
			}
		}
	}
	return "", nil
}
