package graphsim

import (
	"crypto"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
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
	if assertion := r.PostForm.Get("client_assertion"); assertion != "" || r.PostForm.Get("client_assertion_type") != "" {
		if e := s.checkAssertion(r, assertion); e != nil {
			s.entraError(w, e.status, e.code, e.aadsts, e.msg)
			return
		}
		s.writeToken(w)
		return
	}
	if secretText == "" {
		s.entraError(w, http.StatusUnauthorized, "invalid_client", 7000218,
			"The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
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
	s.writeToken(w)
}

// writeToken answers a token request with a new access token.
func (s *Server) writeToken(w http.ResponseWriter) {
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

// clientAssertionType is the only client_assertion_type Entra accepts.
const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// entraErr is a token endpoint refusal (entraError's arguments).
type entraErr struct {
	status, aadsts int
	code, msg      string
}

// assertionHeader and assertionClaims are the parts of a client assertion
// that Entra checks (certificate credentials, "Microsoft identity platform
// application authentication certificate credentials").
type assertionHeader struct {
	Alg     string `json:"alg"`
	X5t     string `json:"x5t"`
	X5tS256 string `json:"x5t#S256"`
}

type assertionClaims struct {
	Aud string      `json:"aud"`
	Iss string      `json:"iss"`
	Sub string      `json:"sub"`
	Exp json.Number `json:"exp"`
	Nbf json.Number `json:"nbf"`
	Jti string      `json:"jti"`
}

// checkAssertion verifies a certificate credential's client assertion as
// Entra does: the type, a JWT signed (RS256 or PS256) with the key of a
// certificate registered for the app and named by its x5t or x5t#S256
// thumbprint, aud the token endpoint, iss and sub the client ID, exp in
// the future (by the wall clock, which is what MSAL signs with), and the
// certificate within its registered validity (by the simulated clock, so
// that tests can let it expire). The wording of the refusals is Entra's as
// seen in the field (AADSTS700027, 700024, 700021, 50012; GitHub issues
// keycloak/keycloak#19425, Azure/azure-sdk-for-net#29007,
// AzureAD/azure-activedirectory-library-for-python#79).
func (s *Server) checkAssertion(r *http.Request, assertion string) *entraErr {
	invalid := func(aadsts int, msg string) *entraErr {
		return &entraErr{http.StatusUnauthorized, aadsts, "invalid_client", msg}
	}
	if t := r.PostForm.Get("client_assertion_type"); t != clientAssertionType {
		return &entraErr{http.StatusBadRequest, 50027, "invalid_request",
			"The client_assertion_type '" + t + "' is not supported; use '" + clientAssertionType + "'."}
	}
	parts := strings.Split(assertion, ".")
	var hdr assertionHeader
	var claims assertionClaims
	hb, err1 := base64.RawURLEncoding.DecodeString(pick(parts, 0))
	cb, err2 := base64.RawURLEncoding.DecodeString(pick(parts, 1))
	sig, err3 := base64.RawURLEncoding.DecodeString(pick(parts, 2))
	if len(parts) != 3 || err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(hb, &hdr) != nil || json.Unmarshal(cb, &claims) != nil {
		return invalid(50027, "JWT token is invalid or malformed.")
	}
	cert, thumb := s.certByThumbprint(hdr.X5t, hdr.X5tS256)
	keysHint := " Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '" + s.opts.ClientID + "'."
	if cert == nil {
		return invalid(700027, "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '"+thumb+"',"+keysHint+"]")
	}
	pub, _ := cert.cert.PublicKey.(*rsa.PublicKey)
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	var verr error
	switch hdr.Alg {
	case "RS256":
		verr = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
	case "PS256":
		verr = rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	default:
		verr = errors.New("unsupported alg " + hdr.Alg)
	}
	found := " Found key 'Start=" + cert.Start.Format("01/02/2006 15:04:05") + ", End=" + cert.End.Format("01/02/2006 15:04:05") + "'"
	if verr != nil {
		return invalid(700027, "Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '"+thumb+"',"+found+","+keysHint+"]")
	}
	if now := s.now(); now.Before(cert.Start) || !now.Before(cert.End) {
		return invalid(700027, "Client assertion contains an invalid signature. [Reason - The key used is expired., Thumbprint of key used by client: '"+thumb+"',"+found+","+keysHint+"]")
	}
	if claims.Iss != s.opts.ClientID || claims.Sub != s.opts.ClientID || claims.Iss != r.PostForm.Get("client_id") {
		return invalid(700021, "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials .")
	}
	tokenEndpoint := baseURL(r) + "/" + r.PathValue("tenant") + "/oauth2/v2.0/token"
	if claims.Aud != tokenEndpoint {
		return invalid(50012, "Client assertion audience claim does not match Realm issuer.")
	}
	exp, errExp := claims.Exp.Int64()
	nbf, errNbf := claims.Nbf.Int64()
	wall := time.Now().Unix()
	const skew = 300 // Entra allows five minutes of clock skew
	if errExp != nil || wall > exp+skew || (errNbf == nil && claims.Nbf != "" && wall+skew < nbf) {
		return invalid(700024, "Client assertion is not within its valid time range. Current time: "+time.Unix(wall, 0).UTC().Format("2006-01-02T15:04:05.0000000Z")+
			", expiry time of assertion "+time.Unix(exp, 0).UTC().Format("2006-01-02T15:04:05.0000000Z")+".")
	}
	return nil
}

// pick is parts[i], or "" past its end.
func pick(parts []string, i int) string {
	if i < len(parts) {
		return parts[i]
	}
	return ""
}
