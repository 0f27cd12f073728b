package graphsim

import (
	"net/url"
	"testing"
)

// A referenceAttachment comes without sourceUrl, as Graph v1.0 documents
// it, unless the input opts in with exposeSourceUrl.
func TestReferenceAttachmentSourceURLOptIn(t *testing.T) {
	s := startSim(t, nil, nil)
	const mb = "anna@example.com"
	id := s.addMessage(mb, "inbox", map[string]any{"subject": "links"},
		map[string]any{"@odata.type": "#microsoft.graph.referenceAttachment", "name": "hidden", "sourceUrl": "https://contoso.sharepoint.com/a"},
		map[string]any{"@odata.type": "#microsoft.graph.referenceAttachment", "name": "shown", "sourceUrl": "https://contoso.sharepoint.com/b", "exposeSourceUrl": true})
	_, _, list := s.graph("GET", "/users/"+mb+"/messages/"+url.PathEscape(id)+"/attachments", nil)
	got := map[string]any{}
	for _, v := range list["value"].([]any) {
		a := v.(map[string]any)
		got[a["name"].(string)] = a["sourceUrl"]
		if _, ok := a["exposeSourceUrl"]; ok {
			t.Errorf("the opt-in leaked into the attachment: %v", a)
		}
	}
	if got["hidden"] != nil || got["shown"] != "https://contoso.sharepoint.com/b" {
		t.Errorf("sourceUrl by attachment: %v", got)
	}
}
