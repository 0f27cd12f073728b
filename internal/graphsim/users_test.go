package graphsim

import (
	"net/http"
	"net/url"
	"testing"
)

// graphErr returns the code and message of a Graph error body.
func graphErr(out map[string]any) (code, msg string) {
	e, _ := out["error"].(map[string]any)
	code, _ = e["code"].(string)
	msg, _ = e["message"].(string)
	return code, msg
}

// Graph never creates a user: an unknown one is 404 ErrorInvalidUser in
// Graph's words, and stays unknown until a control call creates it.
func TestUnknownUser(t *testing.T) {
	s := startSim(t, nil, nil)
	const who = "nobody@dedenet.de"
	for _, p := range []string{"/mailFolders/inbox", "/mailFolders/inbox/messages/delta", "/messages", "/mailFolders"} {
		code, _, out := s.graph("GET", "/users/"+who+p, nil)
		c, m := graphErr(out)
		if code != http.StatusNotFound || c != "ErrorInvalidUser" || m != "The requested user '"+who+"' is invalid." {
			t.Errorf("GET %s: %d %v", p, code, out)
		}
	}
	code, _, out := s.graph("GET", "/users/"+who, nil)
	if c, _ := graphErr(out); code != http.StatusNotFound || c != "Request_ResourceNotFound" {
		t.Errorf("GET /users/x: %d %v", code, out)
	}
	sb := newSubscriber(t)
	code, out = s.subscribe(sb, func(b map[string]any) { b["resource"] = "/users/" + who + "/messages" })
	if c, m := graphErr(out); code != http.StatusNotFound || c != "ExtensionError" ||
		m != "Operation: Create; Exception: [Status Code: NotFound; Reason: The requested user '"+who+"' is invalid.]" {
		t.Errorf("subscribe: %d %v", code, out)
	}
	if st := s.State(); len(st.Users) != 1 {
		t.Errorf("Graph requests created users: %+v", st.Users)
	}
	// Created later (e.g. the account is set up after the CRM entry).
	if code, _, out := s.do("POST", "/_sim/users", map[string]any{"mail": who}, nil); code != http.StatusCreated {
		t.Fatalf("create user: %d %v", code, out)
	}
	if code, _, out := s.graph("GET", "/users/"+who+"/mailFolders/inbox", nil); code != http.StatusOK {
		t.Errorf("after creation: %d %v", code, out)
	}
}

// A user whose UPN differs from the mail address is addressable by ID and
// UPN only; the mail address and aliases are found with $filter.
func TestUserWithDifferentUPN(t *testing.T) {
	sc, err := ParseScenario([]byte(`
users:
  - mail: jane.doe@contoso.com
    userPrincipalName: j.doe@contoso.onmicrosoft.com
    proxyAddresses: ["smtp:jane@contoso.com"]
    messages:
      - message: {subject: hello}
`))
	if err != nil {
		t.Fatal(err)
	}
	s := startBareSim(t, nil, nil)
	if err := s.ApplyScenario(sc); err != nil {
		t.Fatal(err)
	}
	code, _, u := s.graph("GET", "/users/J.Doe@contoso.onmicrosoft.com", nil)
	if code != http.StatusOK || u["mail"] != "jane.doe@contoso.com" || u["userPrincipalName"] != "j.doe@contoso.onmicrosoft.com" {
		t.Fatalf("by UPN: %d %v", code, u)
	}
	id := u["id"].(string)
	for _, ref := range []string{id, "j.doe@contoso.onmicrosoft.com"} {
		code, _, out := s.graph("GET", "/users/"+ref+"/mailFolders/inbox/messages", nil)
		if code != http.StatusOK || len(out["value"].([]any)) != 1 {
			t.Errorf("messages of %s: %d %v", ref, code, out)
		}
	}
	for _, ref := range []string{"jane.doe@contoso.com", "jane@contoso.com"} {
		code, _, out := s.graph("GET", "/users/"+ref+"/mailFolders/inbox/messages", nil)
		if c, m := graphErr(out); code != http.StatusNotFound || c != "ErrorInvalidUser" || m != "The requested user '"+ref+"' is invalid." {
			t.Errorf("messages of %s: %d %v", ref, code, out)
		}
	}
	for flt, want := range map[string]int{
		"mail eq 'Jane.Doe@contoso.com'":                         1,
		"userPrincipalName eq 'j.doe@contoso.onmicrosoft.com'":   1,
		"proxyAddresses/any(x:x eq 'smtp:jane@contoso.com')":     1,
		"proxyAddresses/any(x:x eq 'smtp:jane.doe@contoso.com')": 1, // the primary one is "SMTP:"
		"mail eq 'jane@contoso.com'":                             0,
	} {
		code, _, out := s.graph("GET", "/users?$filter="+url.QueryEscape(flt), nil)
		vals, _ := out["value"].([]any)
		if code != http.StatusOK || len(vals) != want {
			t.Errorf("%s: %d %v", flt, code, out)
			continue
		}
		if want == 1 && vals[0].(map[string]any)["id"] != id {
			t.Errorf("%s: %v", flt, vals[0])
		}
	}
	if code, _, out := s.graph("GET", "/users?$filter="+url.QueryEscape("displayName eq 'x'"), nil); code != http.StatusBadRequest {
		t.Errorf("unsupported filter: %d %v", code, out)
	}
	// Control calls stay lenient: the mail address finds the user.
	if code, _, out := s.do("POST", "/_sim/messages", map[string]any{"mailbox": "jane.doe@contoso.com",
		"message": map[string]any{"subject": "second"}}, nil); code != http.StatusCreated || out["mailbox"] != id {
		t.Errorf("control call by mail: %d %v", code, out)
	}
}
