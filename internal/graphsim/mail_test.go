package graphsim

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A control call creates the mailbox on first use (Graph requests never
// do: see TestUnknownUser).
func TestUserCreatedByControlCall(t *testing.T) {
	s := startSim(t, nil, nil)
	if code, _, out := s.do("POST", "/_sim/messages", map[string]any{"mailbox": "Bert.Braun@dedenet.de",
		"message": map[string]any{"subject": "hello"}}, nil); code != http.StatusCreated {
		t.Fatalf("create message: %d %v", code, out)
	}
	code, h, u := s.graph("GET", "/users/Bert.Braun@dedenet.de", nil, "Prefer", `IdType="ImmutableId"`)
	if code != http.StatusOK {
		t.Fatalf("%d %v", code, u)
	}
	if u["mail"] != "Bert.Braun@dedenet.de" || u["userPrincipalName"] != "Bert.Braun@dedenet.de" || !guidRE.MatchString(u["id"].(string)) {
		t.Errorf("user = %v", u)
	}
	if h.Get("Preference-Applied") != `IdType="ImmutableId"` {
		t.Errorf("Preference-Applied = %q", h.Get("Preference-Applied"))
	}
	// The same user by ID and by lower-case mail.
	_, _, byID := s.graph("GET", "/users/"+u["id"].(string), nil)
	_, _, byMail := s.graph("GET", "/users/bert.braun@dedenet.de", nil)
	if byID["id"] != u["id"] || byMail["id"] != u["id"] {
		t.Errorf("lookups differ: %v %v", byID, byMail)
	}

	code, _, top := s.graph("GET", "/users/"+u["id"].(string)+"/mailFolders", nil)
	if code != http.StatusOK {
		t.Fatal(code)
	}
	var names []string
	for _, f := range top["value"].([]any) {
		names = append(names, f.(map[string]any)["displayName"].(string))
	}
	sort.Strings(names)
	want := []string{"Archive", "Conversation History", "Deleted Items", "Drafts", "Inbox", "Junk Email", "Outbox", "Sent Items"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("top-level folders mismatch (-want +got):\n%s", diff)
	}
	_, _, hidden := s.graph("GET", "/users/"+u["id"].(string)+"/mailFolders/msgfolderroot/childFolders?includeHiddenFolders=true", nil)
	if n := len(hidden["value"].([]any)); n <= len(want) {
		t.Errorf("includeHiddenFolders gave %d folders", n)
	}
}

func TestFolderTree(t *testing.T) {
	s := startSim(t, nil, nil)
	const mb = "anna@example.com"
	s.addMessage(mb, "inbox/Kunden/Müller Bau", map[string]any{"subject": "a"})
	s.addMessage(mb, "Projekte", map[string]any{"subject": "b"})

	_, _, inbox := s.graph("GET", "/users/"+mb+"/mailFolders/inbox", nil)
	_, _, root := s.graph("GET", "/users/"+mb+"/mailFolders/msgfolderroot", nil)
	if inbox["parentFolderId"] != root["id"] || inbox["childFolderCount"] != float64(1) || inbox["isHidden"] != false {
		t.Errorf("inbox = %v (root %v)", inbox, root["id"])
	}
	_, _, kids := s.graph("GET", "/users/"+mb+"/mailFolders/"+inbox["id"].(string)+"/childFolders?includeHiddenFolders=true", nil)
	kunden := kids["value"].([]any)[0].(map[string]any)
	if kunden["displayName"] != "Kunden" || kunden["parentFolderId"] != inbox["id"] {
		t.Errorf("Kunden = %v", kunden)
	}
	_, _, kids = s.graph("GET", "/users/"+mb+"/mailFolders/"+kunden["id"].(string)+"/childFolders", nil)
	mb2 := kids["value"].([]any)[0].(map[string]any)
	if mb2["displayName"] != "Müller Bau" || mb2["totalItemCount"] != float64(1) {
		t.Errorf("Müller Bau = %v", mb2)
	}
	_, _, top := s.graph("GET", "/users/"+mb+"/mailFolders", nil)
	found := false
	for _, f := range top["value"].([]any) {
		fm := f.(map[string]any)
		if fm["displayName"] == "Projekte" {
			found = fm["parentFolderId"] == root["id"]
		}
	}
	if !found {
		t.Errorf("Projekte not a top-level user folder: %v", top)
	}
	code, _, out := s.do("POST", "/_sim/folders", map[string]any{"mailbox": mb, "parent": "inbox", "displayName": "Hidden", "isHidden": true}, nil)
	if code != http.StatusCreated || out["isHidden"] != true {
		t.Errorf("create folder: %d %v", code, out)
	}
	code, _, _ = s.graph("GET", "/users/"+mb+"/mailFolders/nope", nil)
	if code != http.StatusNotFound {
		t.Errorf("unknown folder: %d", code)
	}
}

// TestMessageShape stores the reference messages and reads them back.
func TestMessageShape(t *testing.T) {
	s := startSim(t, nil, nil)
	for _, file := range []string{"message-inbound.json", "message-sent-x500.json"} {
		ref := readJSON(t, "testdata/graph/"+file)
		in := map[string]any{}
		for k, v := range ref {
			in[k] = v
		}
		delete(in, "@odata.context")
		folder := "inbox"
		if strings.Contains(file, "sent") {
			folder = "sentitems"
		}
		id := s.addMessage("anna.berger@dedenet.de", folder, in)
		if id != ref["id"] {
			t.Fatalf("id = %v, want the given %v", id, ref["id"])
		}
		_, _, f := s.graph("GET", "/users/anna.berger@dedenet.de/mailFolders/"+folder, nil)

		code, _, got := s.graph("GET", "/users/anna.berger@dedenet.de/messages/"+url.PathEscape(id), nil)
		if code != http.StatusOK {
			t.Fatalf("%s: %d %v", file, code, got)
		}
		if got["parentFolderId"] != f["id"] {
			t.Errorf("parentFolderId = %v, want %v", got["parentFolderId"], f["id"])
		}
		if _, ok := got["singleValueExtendedProperties"]; ok {
			t.Errorf("%s: extended properties without $expand", file)
		}
		// Everything the reference has must come back unchanged, apart from
		// the fields the store owns.
		owned := map[string]bool{"@odata.context": true, "@odata.etag": true, "changeKey": true,
			"parentFolderId": true, "singleValueExtendedProperties": true}
		want := map[string]any{}
		for k, v := range ref {
			if !owned[k] {
				want[k] = v
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				delete(got, k) // fields only the simulator adds, or owned ones
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", file, diff)
		}

		expand := "?$select=id,from,sender&$expand=" + url.QueryEscape("singleValueExtendedProperties($filter=id eq 'String 0x5D01')")
		_, _, sel := s.graph("GET", "/users/anna.berger@dedenet.de/mailFolders/"+folder+"/messages/"+url.PathEscape(id)+expand, nil)
		var keys []string
		for k := range sel {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		wantKeys := []string{"@odata.context", "@odata.etag", "from", "id", "sender"}
		if ref["singleValueExtendedProperties"] != nil {
			wantKeys = []string{"@odata.context", "@odata.etag", "from", "id", "sender", "singleValueExtendedProperties"}
			if diff := cmp.Diff(ref["singleValueExtendedProperties"], sel["singleValueExtendedProperties"]); diff != "" {
				t.Errorf("extended property mismatch (-want +got):\n%s", diff)
			}
		}
		if diff := cmp.Diff(wantKeys, keys); diff != "" {
			t.Errorf("%s $select keys mismatch (-want +got):\n%s", file, diff)
		}
		// In the wrong folder the message is not found.
		if code, _, _ := s.graph("GET", "/users/anna.berger@dedenet.de/mailFolders/drafts/messages/"+url.PathEscape(id), nil); code != http.StatusNotFound {
			t.Errorf("wrong folder: %d", code)
		}
	}
}

func TestAttachments(t *testing.T) {
	s := startSim(t, nil, nil)
	pdf := []byte("%PDF-1.7 fake pdf bytes")
	const big = 3<<20 + 1
	id := s.addMessage("anna@example.com", "inbox", map[string]any{"subject": "with attachments", "body": map[string]any{"contentType": "html", "content": "<p>hi</p>"}},
		map[string]any{"name": "Auftrag.pdf", "contentType": "application/pdf", "contentBytes": base64.StdEncoding.EncodeToString(pdf)},
		map[string]any{"name": "image001.png", "contentType": "image/png", "size": 6021, "isInline": true, "contentId": "logo001@mueller-bau.de"},
		map[string]any{"@odata.type": "#microsoft.graph.itemAttachment", "name": "Re: Rückfrage", "item": map[string]any{
			"subject": "Rückfrage Lieferung", "from": map[string]any{"emailAddress": map[string]any{"name": "T M", "address": "t@m.de"}},
			"body": map[string]any{"contentType": "text", "content": "Hallo"}}},
		map[string]any{"@odata.type": "#microsoft.graph.referenceAttachment", "name": "Pläne Halle 3", "sourceUrl": "https://contoso.sharepoint.com/x", "exposeSourceUrl": true},
		map[string]any{"name": "big.bin", "size": big},
	)
	base := "/users/anna@example.com/messages/" + url.PathEscape(id)
	_, _, msg := s.graph("GET", base, nil)
	if msg["hasAttachments"] != true {
		t.Errorf("hasAttachments = %v", msg["hasAttachments"])
	}
	code, _, list := s.graph("GET", base+"/attachments", nil)
	if code != http.StatusOK {
		t.Fatal(code, list)
	}
	atts := list["value"].([]any)
	if len(atts) != 5 {
		t.Fatalf("%d attachments", len(atts))
	}
	ref := readJSON(t, "testdata/graph/attachments-list.json")["value"].([]any)
	byName := map[string]map[string]any{}
	for i, a := range atts {
		am := a.(map[string]any)
		byName[am["name"].(string)] = am
		if i < len(ref) {
			for k := range ref[i].(map[string]any) {
				if _, ok := am[k]; !ok {
					t.Errorf("attachment %v lacks %q", am["name"], k)
				}
			}
		}
	}
	if got := byName["Auftrag.pdf"]["contentBytes"]; got != base64.StdEncoding.EncodeToString(pdf) {
		t.Errorf("pdf contentBytes = %v", got)
	}
	if _, ok := byName["big.bin"]["contentBytes"]; ok {
		t.Error("attachment above 3 MB listed with contentBytes")
	}
	if byName["image001.png"]["isInline"] != true || byName["image001.png"]["contentId"] != "logo001@mueller-bau.de" || byName["image001.png"]["size"] != float64(6021) {
		t.Errorf("inline image = %v", byName["image001.png"])
	}
	if byName["Re: Rückfrage"]["@odata.type"] != typeItem || byName["Pläne Halle 3"]["@odata.type"] != typeReference {
		t.Errorf("types: %v %v", byName["Re: Rückfrage"]["@odata.type"], byName["Pläne Halle 3"]["@odata.type"])
	}

	value := func(name string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", s.GraphURL()+base+"/attachments/"+url.PathEscape(byName[name]["id"].(string))+"/$value", nil)
		req.Header.Set("Authorization", "Bearer "+s.token)
		resp, err := s.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if code, b := value("Auftrag.pdf"); code != 200 || !bytes.Equal(b, pdf) {
		t.Errorf("pdf $value: %d %q", code, b)
	}
	code, b := value("big.bin")
	want, _ := io.ReadAll(SyntheticContent("big.bin", big))
	if code != 200 || !bytes.Equal(b, want) || len(b) != big {
		t.Errorf("big $value: %d, %d bytes", code, len(b))
	}
	if code, b := value("Re: Rückfrage"); code != 200 || !bytes.Contains(b, []byte("Subject: =?utf-8?q?R=C3=BCckfrage_Lieferung?=")) || !bytes.Contains(b, []byte("Hallo")) {
		t.Errorf("item $value: %d %q", code, b)
	}
	if code, _ := value("Pläne Halle 3"); code != http.StatusMethodNotAllowed {
		t.Errorf("reference $value: %d", code)
	}
	code, _, one := s.graph("GET", base+"/attachments/"+url.PathEscape(byName["image001.png"]["id"].(string)), nil)
	if code != 200 || one["contentBytes"] == nil {
		t.Errorf("get one: %d %v", code, one)
	}
	_, _, sel := s.graph("GET", base+"/attachments?$select=id,name,size", nil)
	if _, ok := sel["value"].([]any)[0].(map[string]any)["contentBytes"]; ok {
		t.Error("$select without contentBytes still returned it")
	}
}

func TestUpdateAndGzipBody(t *testing.T) {
	sb := newSubscriber(t)
	s := startSim(t, sb, nil)
	s.subscribe(sb, func(b map[string]any) { b["changeType"] = "created,updated" })
	id := s.addMessage(mailbox, "inbox", map[string]any{"subject": "read me"})
	recv(t, sb.notes)

	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(`{"isRead":true}`))
	zw.Close()
	req, _ := http.NewRequest("PATCH", s.URL+"/_sim/messages/"+url.PathEscape(id), &buf)
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("gzip PATCH: %d", resp.StatusCode)
	}
	got := recv(t, sb.notes)[0].(map[string]any)
	if got["changeType"] != "updated" {
		t.Errorf("changeType = %v", got["changeType"])
	}
	_, _, msg := s.graph("GET", "/users/"+mailbox+"/messages/"+url.PathEscape(id)+"?$select=isRead", nil)
	if msg["isRead"] != true || got["resourceData"].(map[string]any)["@odata.etag"] != msg["@odata.etag"] {
		t.Errorf("after update: %v, notified etag %v", msg, got["resourceData"])
	}
}
