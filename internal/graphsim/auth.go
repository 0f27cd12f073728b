package graphsim

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// tokenLifetime is what Entra grants app-only tokens.
const tokenLifetime = 3599 * time.Second

// handleOIDC serves the OpenID configuration MSAL reads to find the token
// endpoint. The issuer points back at this server so MSAL accepts it.
func (s *Server) handleOIDC(w http.ResponseWriter, r *http.Request) {
	t := r.PathValue("tenant")
	if t != s.opts.TenantID && t != "common" && t != "organizations" {
		s.entraError(w, http.StatusBadRequest, "invalid_tenant", 90002,
			"Tenant '"+t+"' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.")
		return
	}
	base := baseURL(r) + "/" + t
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(map[string]any{
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"issuer":                                base + "/v2.0",
		"request_uri_parameter_supported":       false,
		"userinfo_endpoint":                     baseURL(r) + "/oidc/userinfo",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
		"http_logout_supported":                 true,
		"frontchannel_logout_supported":         true,
		"end_session_endpoint":                  base + "/oauth2/v2.0/logout",
		"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "tid", "oid"},
		"kerberos_endpoint":                     base + "/kerberos",
		"tenant_region_scope":                   "EU",
		"cloud_instance_name":                   r.Host,
		"cloud_graph_host_name":                 r.Host,
		"msgraph_host":                          r.Host,
	})
}

// handleInstanceDiscovery answers MSAL's instance discovery with this host
// as its own (and only) alias.
func (s *Server) handleInstanceDiscovery(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(map[string]any{
		"tenant_discovery_endpoint": baseURL(r) + "/" + s.opts.TenantID + "/v2.0/.well-known/openid-configuration",
		"api-version":               "1.1",
		"metadata": []map[string]any{{
			"preferred_network": r.Host, "preferred_cache": r.Host, "aliases": []string{r.Host},
		}},
	})
}

// handleKeys serves an empty key set (the simulator's tokens are opaque to
// clients; nothing needs to verify them but the simulator).
func (s *Server) handleKeys(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write([]byte(`{"keys":[]}`))
}

// handleToken is the client-credentials token endpoint.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.entraError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain a valid form.")
		return
	}
	t := r.PathValue("tenant")
	if t != s.opts.TenantID {
		s.entraError(w, http.StatusBadRequest, "invalid_request", 90002,
			"Tenant '"+t+"' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		s.entraError(w, http.StatusBadRequest, "unsupported_grant_type", 70003,
			"The app requested an unsupported grant type '"+gt+"'.")
		return
	}
	clientID, secretText := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok && clientID == "" {
		clientID, secretText = u, p
	}
	if clientID != s.opts.ClientID {
		s.entraError(w, http.StatusBadRequest, "unauthorized_client", 700016,
			"Application with identifier '"+clientID+"' was not found in the directory '"+s.opts.TenantID+"'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.")
		return
	}
	if !scopeIsDefault(r.PostForm.Get("scope")) {
		s.entraError(w, http.StatusBadRequest, "invalid_scope", 1002012,
			"The provided value for scope "+r.PostForm.Get("scope")+" is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).")
		return
	}
	now := s.now()
	s.mu.RLock()
	var match *secret
	for _, sec := range s.tenant.secrets {
		if subtle.ConstantTimeCompare([]byte(sec.Text), []byte(secretText)) == 1 {
			match = sec
			break
		}
	}
	s.mu.RUnlock()
	switch {
	case match == nil:
		s.entraError(w, http.StatusUnauthorized, "invalid_client", 7000215,
			"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '"+s.opts.ClientID+"'.")
		return
	case now.After(match.End) || now.Before(match.Start):
		s.entraError(w, http.StatusUnauthorized, "invalid_client", 7000222,
			"The provided client secret keys for app '"+s.opts.ClientID+"' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store, no-cache")
	json.NewEncoder(w).Encode(map[string]any{
		"token_type":     "Bearer",
		"expires_in":     int(tokenLifetime / time.Second),
		"ext_expires_in": int(tokenLifetime / time.Second),
		"access_token":   s.issueToken(),
	})
}

// scopeIsDefault reports whether the scope list names one …/.default scope
// (MSAL appends openid, offline_access and profile).
func scopeIsDefault(scope string) bool {
	for _, sc := range strings.Fields(scope) {
		if strings.HasSuffix(sc, "/.default") {
			return true
		}
	}
	return false
}

// entraError answers in Entra's OAuth error shape.
func (s *Server) entraError(w http.ResponseWriter, status int, code string, aadsts int, msg string) {
	trace, corr := newGUID(), newGUID()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{
		"error": code,
		"error_description": "AADSTS" + itoa(aadsts) + ": " + msg + " Trace ID: " + trace +
			" Correlation ID: " + corr + " Timestamp: " + s.now().Format("2006-01-02 15:04:05Z"),
		"error_codes":    []int{aadsts},
		"timestamp":      s.now().Format("2006-01-02 15:04:05Z"),
		"trace_id":       trace,
		"correlation_id": corr,
		"error_uri":      "https://login.microsoftonline.com/error?code=" + itoa(aadsts),
	})
}

// tokenClaims is the payload of the simulator's access tokens. Expiry is on
// the wall clock, as MSAL's cache sees it, so advancing the simulated clock
// does not invalidate tokens a client has cached.
type tokenClaims struct {
	Aud   string   `json:"aud"`
	Iss   string   `json:"iss"`
	Tid   string   `json:"tid"`
	AppID string   `json:"appid"`
	Roles []string `json:"roles"`
	Exp   int64    `json:"exp"`
	Jti   string   `json:"jti"`
}

var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"typ":"JWT","alg":"HS256"}`))

// issueToken mints an HMAC-signed JWT-shaped access token.
func (s *Server) issueToken() string {
	c := tokenClaims{
		Aud: "https://graph.microsoft.com", Iss: "https://sts.windows.net/" + s.opts.TenantID + "/",
		Tid: s.opts.TenantID, AppID: s.opts.ClientID, Roles: []string{"Mail.Read", "Application.Read.All"},
		Exp: time.Now().Add(tokenLifetime).Unix(), Jti: newGUID(),
	}
	b, _ := json.Marshal(c)
	body := jwtHeader + "." + base64.RawURLEncoding.EncodeToString(b)
	return body + "." + s.sign(body)
}

func (s *Server) sign(body string) string {
	m := hmac.New(sha256.New, s.tokenKey)
	m.Write([]byte(body))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkBearer validates the Authorization header and returns the reason
// when it is not acceptable ("" when it is).
func (s *Server) checkBearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		return "Access token is empty."
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return "IDX14100: JWT is not well formed, there are no dots (.)."
	}
	if !hmac.Equal([]byte(parts[2]), []byte(s.sign(parts[0]+"."+parts[1]))) {
		return "Invalid signature."
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	var c tokenClaims
	if err != nil || json.Unmarshal(b, &c) != nil {
		return "Invalid token."
	}
	if time.Now().Unix() > c.Exp {
		return "Lifetime validation failed, the token is expired."
	}
	return ""
}
