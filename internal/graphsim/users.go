package graphsim

import (
	"net/http"
	"regexp"
	"strings"
)

// Unknown users. Graph addresses users by ID or userPrincipalName; a mail
// request for any other user answers 404 ErrorInvalidUser, in these words
// (microsoftgraph/microsoft-graph-docs#7909 and #4097: "The requested user
// '…' is invalid."). Subscription operations wrap the same reason in an
// ExtensionError (microsoftgraph/microsoft-graph-docs-contrib#3201:
// "Operation: Delete; Exception: [Status Code: NotFound; Reason: The
// requested user '<id>' is invalid.]"). The directory's own GET
// /users/{ref} answers Request_ResourceNotFound instead, as Entra objects do.
// Only users that a scenario or a control call (POST /_sim/users,
// /_sim/messages, …) created exist; Graph requests never create one.

// invalidUserMessage is Graph's message for an unknown user.
func invalidUserMessage(ref string) string { return "The requested user '" + ref + "' is invalid." }

// knownUser resolves a user named in a Graph path (ID or UPN), or nil.
func (s *Server) knownUser(ref string) *user {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.tenant.graphUser(ref)
}

// userNotFound answers a Graph request naming an unknown user.
func (s *Server) userNotFound(w http.ResponseWriter, r *http.Request, ref string) {
	if r.Pattern == "GET /v1.0/users/{uid}" {
		s.graphError(w, r, http.StatusNotFound, "Request_ResourceNotFound",
			"Resource '"+ref+"' does not exist or one of its queried reference-property objects is not present.")
		return
	}
	s.graphError(w, r, http.StatusNotFound, "ErrorInvalidUser", invalidUserMessage(ref))
}

// errSubscriptionUser is POST /subscriptions' answer for a resource of an
// unknown user.
func errSubscriptionUser(ref string) *httpError {
	return &httpError{http.StatusNotFound, "ExtensionError",
		"Operation: Create; Exception: [Status Code: NotFound; Reason: " + invalidUserMessage(ref) + "]"}
}

// userFilterRE matches the filters GET /users understands:
// mail eq '…', userPrincipalName eq '…', proxyAddresses/any(x:x eq '…').
var userFilterRE = regexp.MustCompile(`(?i)^\s*(?:(mail|userPrincipalName)\s+eq\s+'([^']*)'|(proxyAddresses)/any\(\s*(\w+)\s*:\s*(\w+)\s+eq\s+'([^']*)'\s*\))\s*$`)

// handleListUsers serves GET /users?$filter=… (the connector resolves a
// mail address that is not a UPN with it; reading the directory needs
// User.ReadBasic.All or User.Read.All in real tenants). Without a filter it
// lists every user.
func (s *Server) handleListUsers(w http.ResponseWriter, r *http.Request) {
	flt := r.URL.Query().Get("$filter")
	s.mu.RLock()
	var us []*user
	if flt == "" {
		us = s.tenant.sortedUsers()
	} else {
		m := userFilterRE.FindStringSubmatch(flt)
		if m == nil || (m[3] != "" && m[4] != m[5]) {
			s.mu.RUnlock()
			s.graphError(w, r, http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause specified for property '"+flt+"' of resource 'User'.")
			return
		}
		if m[1] != "" {
			us = s.tenant.findUsers(strings.ToLower(m[1]), m[2])
		} else {
			us = s.tenant.findUsers("proxyaddresses", m[6])
		}
	}
	list := make([]any, 0, len(us))
	for _, u := range us {
		list = append(list, userJSON(u))
	}
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.context": baseURL(r) + "/v1.0/$metadata#users",
		"value":          list,
	})
}

// userJSON renders a user with the default properties of GET /users.
func userJSON(u *user) map[string]any {
	return map[string]any{
		"id":                u.ID,
		"displayName":       u.DisplayName,
		"mail":              nullable(u.Mail),
		"userPrincipalName": u.UPN,
		"businessPhones":    []string{},
		"givenName":         nil,
		"surname":           nil,
		"jobTitle":          nil,
		"mobilePhone":       nil,
		"officeLocation":    nil,
		"preferredLanguage": nil,
	}
}
