package graphsim

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// A move keeps the immutable ID and changes the regular one: with Prefer:
// IdType="ImmutableId" a client sees the same ID in the new folder; without
// it, the ID it had answers 404 and the message has a new one
// (outlook-immutable-id.md).
func TestMoveKeepsImmutableID(t *testing.T) {
	s := startSim(t, nil, nil)
	const mb = "anna@example.com"
	created := s.addMessageFull(mb, "inbox", map[string]any{"subject": "move me"})
	id, oldRest := created.ID, created.RestID
	if id == oldRest || !strings.HasPrefix(oldRest, "AAMk") || !strings.HasPrefix(id, "AAkAL") {
		t.Fatalf("IDs: immutable %q, regular %q", id, oldRest)
	}
	// Each request gets the format it asks for; either ID finds the message.
	for _, c := range []struct {
		ref, want string
		get       func(string, string, any, ...string) (int, http.Header, map[string]any)
	}{{id, id, s.graph}, {oldRest, id, s.graph}, {id, oldRest, s.graphREST}, {oldRest, oldRest, s.graphREST}} {
		code, _, m := c.get("GET", "/users/"+mb+"/messages/"+url.PathEscape(c.ref)+"?$select=subject", nil)
		if code != http.StatusOK || m["id"] != c.want {
			t.Errorf("GET %s: %d id %v, want %s", c.ref, code, m["id"], c.want)
		}
	}
	_, _, inbox := s.graph("GET", "/users/"+mb+"/mailFolders/inbox/messages/delta", nil)
	inboxLink := inbox["@odata.deltaLink"].(string)
	_, _, arch := s.graphREST("GET", "/users/"+mb+"/mailFolders/archive/messages/delta", nil)
	archLink := arch["@odata.deltaLink"].(string)

	code, _, mv := s.do("POST", "/_sim/messages/"+url.PathEscape(id)+"/move", map[string]any{"folder": "archive"}, nil)
	if code != http.StatusOK || mv["id"] != id || mv["previousRestId"] != oldRest || mv["restId"] == oldRest || mv["restId"] == nil {
		t.Fatalf("move: %d %v", code, mv)
	}
	newRest := mv["restId"].(string)
	code, _, m := s.graph("GET", "/users/"+mb+"/messages/"+url.PathEscape(id), nil)
	if code != http.StatusOK || m["id"] != id || m["parentFolderId"] != s.folderID(mb, "archive") {
		t.Errorf("immutable ID after the move: %d %v", code, m)
	}
	code, _, e := s.graphREST("GET", "/users/"+mb+"/messages/"+url.PathEscape(oldRest), nil)
	if code != http.StatusNotFound || e["error"].(map[string]any)["code"] != "ErrorItemNotFound" {
		t.Errorf("old regular ID: %d %v", code, e)
	}
	if code, _, m := s.graphREST("GET", "/users/"+mb+"/messages/"+url.PathEscape(newRest), nil); code != http.StatusOK || m["id"] != newRest {
		t.Errorf("new regular ID: %d %v", code, m["id"])
	}

	// Delta: @removed in the old folder, new in the other, each in the
	// format of the request.
	_, _, page := s.graph("GET", strings.TrimPrefix(inboxLink, s.GraphURL()), nil)
	if v := page["value"].([]any); len(v) != 1 || v[0].(map[string]any)["id"] != id || v[0].(map[string]any)["@removed"] == nil {
		t.Errorf("inbox delta after the move (immutable): %v", v)
	}
	_, _, page = s.graphREST("GET", strings.TrimPrefix(archLink, s.GraphURL()), nil)
	if v := page["value"].([]any); len(v) != 1 || v[0].(map[string]any)["id"] != newRest || v[0].(map[string]any)["subject"] != "move me" {
		t.Errorf("archive delta after the move (regular): %v", v)
	}
	_, _, page = s.graphREST("GET", strings.TrimPrefix(inboxLink, s.GraphURL()), nil)
	if v := page["value"].([]any); len(v) != 1 || v[0].(map[string]any)["id"] != oldRest {
		t.Errorf("inbox delta after the move (regular): %v, want @removed %s", v, oldRest)
	}
	if code, _, _ := s.do("DELETE", "/_sim/messages/"+url.PathEscape(newRest), nil, nil); code != http.StatusNoContent {
		t.Errorf("delete by the regular ID: %d", code)
	}
}

// A subscription delivers the ID format of its creation request: immutable
// IDs when it was created with Prefer: IdType="ImmutableId", regular ones
// otherwise ("Existing subscriptions that were created without the header
// continue to use the default ID format", outlook-immutable-id.md). A move
// notifies "deleted" for the old place and "created" for the new.
func TestNotificationIDFormat(t *testing.T) {
	for _, immutable := range []bool{true, false} {
		sb := newSubscriber(t)
		s := startSim(t, sb, nil)
		body := map[string]any{
			"changeType": "created,deleted", "notificationUrl": sb.srv.URL + "/graph/notifications",
			"lifecycleNotificationUrl": sb.srv.URL + "/graph/lifecycle", "resource": "/users/" + mailbox + "/messages",
			"expirationDateTime": formatSubTime(s.Now().Add(24 * time.Hour)), "clientState": "nonce.hmac",
		}
		create := s.graphREST
		if immutable {
			create = s.graph
		}
		if code, _, out := create("POST", "/subscriptions", body); code != http.StatusCreated {
			t.Fatalf("subscribe: %d %v", code, out)
		}
		created := s.addMessageFull(mailbox, "inbox", map[string]any{"subject": "x"})
		var ids []string
		for len(ids) < 1 {
			for _, n := range recv(t, sb.notes) {
				ids = append(ids, n.(map[string]any)["changeType"].(string)+" "+n.(map[string]any)["resourceData"].(map[string]any)["id"].(string))
			}
		}
		mv, err := s.Move(created.ID, "deleteditems")
		if err != nil {
			t.Fatal(err)
		}
		for len(ids) < 3 {
			for _, n := range recv(t, sb.notes) {
				ids = append(ids, n.(map[string]any)["changeType"].(string)+" "+n.(map[string]any)["resourceData"].(map[string]any)["id"].(string))
			}
		}
		want := []string{"created " + created.RestID, "deleted " + mv.PreviousRestID, "created " + mv.RestID}
		if immutable {
			want = []string{"created " + created.ID, "deleted " + created.ID, "created " + created.ID}
		}
		if strings.Join(ids, ",") != strings.Join(want, ",") {
			t.Errorf("immutable=%v: notified %v, want %v", immutable, ids, want)
		}
	}
}

// Prefer: outlook.body-content-type="text" returns the body as text and says
// so in Preference-Applied; without it the body is HTML (message-get.md).
func TestTextBodies(t *testing.T) {
	s := startSim(t, nil, nil)
	const mb = "anna@example.com"
	html := s.addMessageFull(mb, "inbox", map[string]any{"subject": "html", "body": map[string]any{"contentType": "html",
		"content": "<html><head><style>p{color:red}</style></head><body><p>Guten Tag,</p><p>das Angebot &amp; die Pl&auml;ne<br>anbei.</p></body></html>"}})
	text := s.addMessageFull(mb, "inbox", map[string]any{"subject": "text", "body": map[string]any{"contentType": "text", "content": "a < b\nZeile 2"}})

	code, h, m := s.graph("GET", "/users/"+mb+"/messages/"+url.PathEscape(html.ID)+"?$select=body", nil, "Prefer", `outlook.body-content-type="text"`)
	body := m["body"].(map[string]any)
	if code != http.StatusOK || body["contentType"] != "text" || body["content"] != "Guten Tag,\ndas Angebot & die Pläne\nanbei." {
		t.Errorf("HTML as text: %d %q", code, body)
	}
	if pa := h.Get("Preference-Applied"); !strings.Contains(pa, `outlook.body-content-type="text"`) || !strings.Contains(pa, `IdType="ImmutableId"`) {
		t.Errorf("Preference-Applied = %q", pa)
	}
	_, h, m = s.graph("GET", "/users/"+mb+"/messages/"+url.PathEscape(text.ID)+"?$select=body", nil)
	body = m["body"].(map[string]any)
	if body["contentType"] != "html" || !strings.Contains(body["content"].(string), "a &lt; b<br>") {
		t.Errorf("text as HTML: %q", body)
	}
	if strings.Contains(h.Get("Preference-Applied"), "body-content-type") {
		t.Errorf("Preference-Applied names a body type not asked for: %q", h.Get("Preference-Applied"))
	}
	// Delta and list pages honour it as well.
	_, h, page := s.graph("GET", "/users/"+mb+"/mailFolders/inbox/messages/delta?$select=body,subject", nil, "Prefer", `outlook.body-content-type="text"`)
	for _, v := range page["value"].([]any) {
		if b := v.(map[string]any)["body"].(map[string]any); b["contentType"] != "text" || strings.Contains(b["content"].(string), "<") && v.(map[string]any)["subject"] == "html" {
			t.Errorf("delta body: %v", b)
		}
	}
	if !strings.Contains(h.Get("Preference-Applied"), `outlook.body-content-type="text"`) {
		t.Errorf("delta Preference-Applied = %q", h.Get("Preference-Applied"))
	}
	_, _, list := s.graph("GET", "/users/"+mb+"/mailFolders/inbox/messages?$select=body", nil, "Prefer", `outlook.body-content-type="html"`)
	for _, v := range list["value"].([]any) {
		if b := v.(map[string]any)["body"].(map[string]any); b["contentType"] != "html" {
			t.Errorf("list body: %v", b)
		}
	}
}

// addMessageFull creates a message through CreateMessage and returns both IDs.
func (s *sim) addMessageFull(mailbox, folder string, msg map[string]any) CreatedMessage {
	s.t.Helper()
	c, err := s.CreateMessage(MessageInput{Mailbox: mailbox, Folder: folder, Message: msg})
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

// folderID returns the ID of a mailbox's well-known folder.
func (s *sim) folderID(mailbox, name string) string {
	s.t.Helper()
	_, _, f := s.graph("GET", "/users/"+mailbox+"/mailFolders/"+name, nil)
	id, _ := f["id"].(string)
	return id
}

// Moved out, back in and out again between two rounds: the folder's delta
// reports the message once, @removed, under the regular ID it had last.
func TestMoveOutAndBackDeltaReportsOnce(t *testing.T) {
	s := startSim(t, nil, nil)
	const mb = "anna@example.com"
	c := s.addMessageFull(mb, "inbox", map[string]any{"subject": "hin und her"})
	_, _, first := s.graphREST("GET", "/users/"+mb+"/mailFolders/inbox/messages/delta", nil)
	link := first["@odata.deltaLink"].(string)
	if _, err := s.Move(c.ID, "archive"); err != nil {
		t.Fatal(err)
	}
	back, err := s.Move(c.ID, "inbox")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Move(c.ID, "deleteditems"); err != nil {
		t.Fatal(err)
	}
	_, _, page := s.graphREST("GET", strings.TrimPrefix(link, s.GraphURL()), nil)
	v := page["value"].([]any)
	if len(v) != 1 || v[0].(map[string]any)["id"] != back.RestID || v[0].(map[string]any)["@removed"] == nil {
		t.Errorf("inbox delta: %v, want one @removed %s", v, back.RestID)
	}
}
