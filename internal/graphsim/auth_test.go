package graphsim

import (
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var readFile = os.ReadFile

func TestOIDCDiscovery(t *testing.T) {
	s := startSim(t, nil, nil)
	code, _, doc := s.do("GET", "/"+testTenant+"/v2.0/.well-known/openid-configuration", nil, nil)
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	want := map[string]any{
		"issuer":                 s.URL + "/" + testTenant + "/v2.0",
		"token_endpoint":         s.URL + "/" + testTenant + "/oauth2/v2.0/token",
		"authorization_endpoint": s.URL + "/" + testTenant + "/oauth2/v2.0/authorize",
	}
	for k, v := range want {
		if doc[k] != v {
			t.Errorf("%s = %v, want %v", k, doc[k], v)
		}
	}
	code, _, inst := s.do("GET", "/common/discovery/instance?api-version=1.1&authorization_endpoint=x", nil, nil)
	if code != http.StatusOK || inst["tenant_discovery_endpoint"] == nil {
		t.Errorf("instance discovery: %d %v", code, inst)
	}
}

func TestToken(t *testing.T) {
	s := startSim(t, nil, nil)
	code, tok := s.getToken(testSecret)
	if code != http.StatusOK {
		t.Fatalf("good secret: %d %v", code, tok)
	}
	var keys []string
	for k := range tok {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if diff := cmp.Diff([]string{"access_token", "expires_in", "ext_expires_in", "token_type"}, keys); diff != "" {
		t.Errorf("token keys mismatch (-want +got):\n%s", diff)
	}
	if tok["token_type"] != "Bearer" || tok["expires_in"] != float64(3599) {
		t.Errorf("token = %v", tok)
	}

	code, e := s.getToken("wrong")
	if code != http.StatusUnauthorized || e["error"] != "invalid_client" ||
		!strings.HasPrefix(e["error_description"].(string), "AADSTS7000215") ||
		!cmp.Equal(e["error_codes"], []any{float64(7000215)}) {
		t.Errorf("wrong secret: %d %v", code, e)
	}

	if err := s.ExpireSecret(testSecret); err != nil {
		t.Fatal(err)
	}
	code, e = s.getToken(testSecret)
	want := readJSON(t, "testdata/graph/token-error-expired-secret.json")
	if code != http.StatusUnauthorized || e["error"] != want["error"] || !cmp.Equal(e["error_codes"], want["error_codes"]) ||
		!strings.HasPrefix(e["error_description"].(string), "AADSTS7000222: The provided client secret keys for app '"+testClient+"' are expired.") {
		t.Errorf("expired secret: %d %v", code, e)
	}
	for k := range want {
		if _, ok := e[k]; !ok {
			t.Errorf("expired-secret error lacks %q", k)
		}
	}

	// A second secret added through the control API works.
	code, _, out := s.do("POST", "/_sim/secrets", map[string]any{"add": map[string]any{"secretText": "second", "displayName": "rotation", "endDateTime": "+30d"}}, nil)
	if code != http.StatusOK {
		t.Fatalf("add secret: %d %v", code, out)
	}
	if code, e := s.getToken("second"); code != http.StatusOK {
		t.Errorf("second secret: %d %v", code, e)
	}
}

func TestGraphRequiresToken(t *testing.T) {
	s := startSim(t, nil, nil)
	for _, auth := range []string{"", "Bearer nonsense", "Bearer a.b.c"} {
		code, h, e := s.do("GET", "/v1.0/users/anna@example.com", nil, map[string]string{"Authorization": auth})
		errObj, _ := e["error"].(map[string]any)
		if code != http.StatusUnauthorized || errObj["code"] != "InvalidAuthenticationToken" {
			t.Errorf("auth %q: %d %v", auth, code, e)
		}
		if h.Get("request-id") == "" || h.Get("client-request-id") == "" {
			t.Errorf("missing request-id headers: %v", h)
		}
	}
}

func TestApplications(t *testing.T) {
	s := startSim(t, nil, nil)
	code, _, app := s.graph("GET", "/applications(appId='"+testClient+"')?$select=id,appId,passwordCredentials", nil)
	if code != http.StatusOK {
		t.Fatalf("%d %v", code, app)
	}
	creds := app["passwordCredentials"].([]any)
	if len(creds) != 1 {
		t.Fatalf("passwordCredentials = %v", creds)
	}
	c := creds[0].(map[string]any)
	for _, k := range []string{"keyId", "displayName", "hint", "startDateTime", "endDateTime"} {
		if c[k] == nil {
			t.Errorf("credential lacks %s: %v", k, c)
		}
	}
	if c["hint"] != testSecret[:3] {
		t.Errorf("hint = %v", c["hint"])
	}
	code, _, list := s.graph("GET", "/applications?$filter="+url.QueryEscape("appId eq '"+testClient+"'"), nil)
	if code != http.StatusOK || len(list["value"].([]any)) != 1 {
		t.Errorf("filter: %d %v", code, list)
	}
	code, _, _ = s.graph("GET", "/applications(appId='00000000-0000-0000-0000-000000000000')", nil)
	if code != http.StatusNotFound {
		t.Errorf("unknown app: %d", code)
	}
}
