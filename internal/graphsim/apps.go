package graphsim

import (
	"net/http"
	"regexp"
	"strings"
)

var appIDRefRE = regexp.MustCompile(`^applications\(appId='([^']*)'\)$`)
var appFilterRE = regexp.MustCompile(`(?i)^\s*appId\s+eq\s+'([^']*)'\s*$`)

// appJSON renders the app registration with its password credentials.
func (s *Server) appJSON() map[string]any {
	s.mu.RLock()
	defer s.mu.RUnlock()
	creds := make([]any, 0, len(s.tenant.secrets))
	for _, sec := range s.tenant.secrets {
		creds = append(creds, map[string]any{
			"customKeyIdentifier": nil,
			"displayName":         sec.DisplayName,
			"endDateTime":         formatTime(sec.End),
			"hint":                sec.hint(),
			"keyId":               sec.KeyID,
			"secretText":          nil,
			"startDateTime":       formatTime(sec.Start),
		})
	}
	return map[string]any{
		"id":                  nameGUID("app:" + s.opts.ClientID),
		"appId":               s.opts.ClientID,
		"displayName":         "DeDeSales Exchange Connector",
		"signInAudience":      "AzureADMyOrg",
		"passwordCredentials": creds,
		"keyCredentials":      s.keyCredentialsJSON(),
	}
}

// handleApplicationByAppID serves GET /applications(appId='…').
func (s *Server) handleApplicationByAppID(w http.ResponseWriter, r *http.Request) {
	m := appIDRefRE.FindStringSubmatch(r.PathValue("appref"))
	if m == nil {
		s.graphError(w, r, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+r.PathValue("appref")+"'.")
		return
	}
	if m[1] != s.opts.ClientID {
		s.graphError(w, r, http.StatusNotFound, "Request_ResourceNotFound",
			"Resource '"+m[1]+"' does not exist or one of its queried reference-property objects are not present.")
		return
	}
	out := selectFields(s.appJSON(), splitList(r.URL.Query().Get("$select")))
	delete(out, "@odata.type")
	out["@odata.context"] = baseURL(r) + "/v1.0/$metadata#applications/$entity"
	writeJSON(w, http.StatusOK, out)
}

// handleApplications serves GET /applications?$filter=appId eq '…'.
func (s *Server) handleApplications(w http.ResponseWriter, r *http.Request) {
	list := []any{}
	flt := r.URL.Query().Get("$filter")
	m := appFilterRE.FindStringSubmatch(flt)
	if flt != "" && m == nil {
		s.graphError(w, r, http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause specified for property 'appId' of resource 'Application'.")
		return
	}
	if m == nil || strings.EqualFold(m[1], s.opts.ClientID) {
		out := selectFields(s.appJSON(), splitList(r.URL.Query().Get("$select")))
		delete(out, "@odata.type")
		list = append(list, out)
	}
	writeJSON(w, http.StatusOK, map[string]any{"@odata.context": baseURL(r) + "/v1.0/$metadata#applications", "value": list})
}
