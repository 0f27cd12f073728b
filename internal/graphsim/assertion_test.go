package graphsim

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	connsecret "github.com/dedesales/exchange-connector/internal/secret"
)

// testCert is an app certificate with its key, made as in production
// (openssl req -x509 -newkey rsa:2048).
type testCert struct {
	certPEM []byte
	cert    *x509.Certificate
	key     *rsa.PrivateKey
}

func newTestCert(t *testing.T, notAfter time.Time) testCert {
	t.Helper()
	certPEM, keyPEM, err := NewAppCertificate("exchange-connector", notAfter)
	if err != nil {
		t.Fatal(err)
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	key, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return testCert{certPEM: certPEM, cert: cert, key: key.(*rsa.PrivateKey)}
}

// assertion signs a client assertion for c as MSAL does (PS256 with
// x5t#S256, standard base64) or as older MSALs and ADFS do (RS256, x5t).
func (c testCert) assertion(t *testing.T, alg string, claims map[string]any) string {
	t.Helper()
	hdr := map[string]any{"alg": alg, "typ": "JWT"}
	if alg == "RS256" {
		sum := sha1.Sum(c.cert.Raw)
		hdr["x5t"] = base64.RawURLEncoding.EncodeToString(sum[:])
	} else {
		sum := sha256.Sum256(c.cert.Raw)
		hdr["x5t#S256"] = base64.StdEncoding.EncodeToString(sum[:])
	}
	hb, _ := json.Marshal(hdr)
	cb, _ := json.Marshal(claims)
	body := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	digest := sha256.Sum256([]byte(body))
	var sig []byte
	var err error
	if alg == "RS256" {
		sig, err = rsa.SignPKCS1v15(rand.Reader, c.key, crypto.SHA256, digest[:])
	} else {
		sig, err = rsa.SignPSS(rand.Reader, c.key, crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	}
	if err != nil {
		t.Fatal(err)
	}
	return body + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func (s *sim) tokenByAssertion(assertion, assertionType string) (int, map[string]any) {
	s.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {testClient}, "client_assertion": {assertion},
		"client_assertion_type": {assertionType}, "scope": {"https://graph.microsoft.com/.default"}}
	resp, err := s.client.PostForm(s.URL+"/"+testTenant+"/oauth2/v2.0/token", form)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// A certificate credential: the token endpoint takes a client assertion
// signed with a certificate registered for the app and refuses, with
// Entra's codes, unknown certificates, bad signatures, wrong claims and
// expired assertions or certificates.
func TestTokenByClientAssertion(t *testing.T) {
	s := startSim(t, nil, nil)
	registered := newTestCert(t, time.Now().AddDate(1, 0, 0))
	unregistered := newTestCert(t, time.Now().AddDate(1, 0, 0))
	thumb, err := s.AddCertificate(CertificateInput{PEM: string(registered.certPEM), DisplayName: "connector 2026"})
	if err != nil {
		t.Fatal(err)
	}
	if len(thumb) != 40 || thumb != strings.ToUpper(thumb) {
		t.Errorf("thumbprint %q, want 40 upper-case hex digits", thumb)
	}
	endpoint := s.URL + "/" + testTenant + "/oauth2/v2.0/token"
	claims := func(mod func(map[string]any)) map[string]any {
		c := map[string]any{"aud": endpoint, "iss": testClient, "sub": testClient, "jti": newGUID(),
			"nbf": time.Now().Unix(), "exp": time.Now().Add(10 * time.Minute).Unix()}
		if mod != nil {
			mod(c)
		}
		return c
	}
	for _, alg := range []string{"PS256", "RS256"} {
		code, tok := s.tokenByAssertion(registered.assertion(t, alg, claims(nil)), clientAssertionType)
		if code != http.StatusOK || tok["access_token"] == nil {
			t.Errorf("%s assertion: %d %v", alg, code, tok)
		}
	}
	// A key that is not the registered certificate's, under its thumbprint.
	forged := testCert{certPEM: registered.certPEM, cert: registered.cert, key: unregistered.key}
	for _, tc := range []struct {
		name, assertion, typ string
		aadsts               string
		says                 string
	}{
		{"unregistered certificate", unregistered.assertion(t, "RS256", claims(nil)), clientAssertionType, "AADSTS700027",
			"The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '" + connsecret.Thumbprint(unregistered.cert) + "'"},
		{"signature", forged.assertion(t, "RS256", claims(nil)), clientAssertionType, "AADSTS700027", "Client assertion contains an invalid signature."},
		{"audience", registered.assertion(t, "PS256", claims(func(c map[string]any) { c["aud"] = "https://login.microsoftonline.com/common/oauth2/v2.0/token" })),
			clientAssertionType, "AADSTS50012", "audience"},
		{"issuer", registered.assertion(t, "PS256", claims(func(c map[string]any) { c["iss"] = "99999999-2222-3333-4444-555555555555" })),
			clientAssertionType, "AADSTS700021", "doesn't match 'client_id'"},
		{"expired assertion", registered.assertion(t, "PS256", claims(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() })),
			clientAssertionType, "AADSTS700024", "not within its valid time range"},
		{"malformed", "not.a.jwt", clientAssertionType, "AADSTS50027", "malformed"},
		{"assertion type", registered.assertion(t, "PS256", claims(nil)), "urn:ietf:params:oauth:client-assertion-type:saml2-bearer", "AADSTS50027", "client_assertion_type"},
	} {
		code, e := s.tokenByAssertion(tc.assertion, tc.typ)
		desc, _ := e["error_description"].(string)
		if code/100 != 4 || !strings.HasPrefix(desc, tc.aadsts+": ") || !strings.Contains(desc, tc.says) {
			t.Errorf("%s: %d %v, want %s saying %q", tc.name, code, e, tc.aadsts, tc.says)
		}
	}
	// The registered certificate ends (by the simulated clock): refused.
	if err := s.RemoveCertificate(thumb); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddCertificate(CertificateInput{PEM: string(registered.certPEM), EndDateTime: "-1d"}); err != nil {
		t.Fatal(err)
	}
	code, e := s.tokenByAssertion(registered.assertion(t, "PS256", claims(nil)), clientAssertionType)
	if desc, _ := e["error_description"].(string); code != http.StatusUnauthorized || !strings.Contains(desc, "AADSTS700027") || !strings.Contains(desc, "expired") {
		t.Errorf("expired certificate: %d %v", code, e)
	}
	// Neither secret nor assertion.
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {testClient}, "scope": {"https://graph.microsoft.com/.default"}}
	resp, err := s.client.PostForm(endpoint, form)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if desc, _ := out["error_description"].(string); resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(desc, "AADSTS7000218") {
		t.Errorf("no credential: %d %v", resp.StatusCode, out)
	}
	// The control API registers and lists certificates.
	code, _, list := s.do("POST", "/_sim/certificates", map[string]any{"add": map[string]any{"pem": string(unregistered.certPEM)}}, nil)
	if certs, _ := list["certificates"].([]any); code != http.StatusOK || len(certs) != 2 {
		t.Errorf("control API: %d %v", code, list)
	}
	if code, _ := s.tokenByAssertion(unregistered.assertion(t, "PS256", claims(nil)), clientAssertionType); code != http.StatusOK {
		t.Errorf("after registering over the control API: %d", code)
	}
	if code, _, e := s.do("POST", "/_sim/certificates", map[string]any{"add": map[string]any{"pem": "nope"}}, nil); code != http.StatusBadRequest {
		t.Errorf("bad PEM: %d %v", code, e)
	}
}

// The app registration lists registered certificates as keyCredentials.
func TestAppListsCertificates(t *testing.T) {
	s := startSim(t, nil, nil)
	c := newTestCert(t, time.Now().AddDate(1, 0, 0))
	thumb, err := s.AddCertificate(CertificateInput{PEM: string(c.certPEM), DisplayName: "connector"})
	if err != nil {
		t.Fatal(err)
	}
	code, _, app := s.graph("GET", "/applications(appId='"+testClient+"')", nil)
	keys, _ := app["keyCredentials"].([]any)
	if code != http.StatusOK || len(keys) != 1 {
		t.Fatalf("app: %d %v", code, app)
	}
	k := keys[0].(map[string]any)
	if k["customKeyIdentifier"] != thumb || k["type"] != "AsymmetricX509Cert" || k["usage"] != "Verify" || k["key"] != nil || k["displayName"] != "connector" {
		t.Errorf("keyCredential %v", k)
	}
}
