package graphsim

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// deltaRound follows a delta round to its deltaLink and returns the items.
func (s *sim) deltaRound(start string, pageSize int) (items []map[string]any, pages int, deltaLink string) {
	s.t.Helper()
	next := start
	for next != "" {
		hdr := []string{"Prefer", fmt.Sprintf("odata.maxpagesize=%d", pageSize)}
		code, h, page := s.graph("GET", strings.TrimPrefix(next, s.GraphURL()), nil, hdr...)
		if code != http.StatusOK {
			s.t.Fatalf("delta page: %d %v", code, page)
		}
		if !strings.Contains(h.Get("Preference-Applied"), "odata.maxpagesize") {
			s.t.Errorf("Preference-Applied = %q", h.Get("Preference-Applied"))
		}
		pages++
		for _, v := range page["value"].([]any) {
			items = append(items, v.(map[string]any))
		}
		next, _ = page["@odata.nextLink"].(string)
		if next != "" && !strings.Contains(next, "$skiptoken=") {
			s.t.Errorf("nextLink without $skiptoken: %s", next)
		}
		if dl, ok := page["@odata.deltaLink"].(string); ok {
			if !strings.Contains(dl, "$deltatoken=") {
				s.t.Errorf("deltaLink without $deltatoken: %s", dl)
			}
			deltaLink = dl
		}
	}
	return items, pages, deltaLink
}

func TestDelta(t *testing.T) {
	s := startSim(t, nil, nil)
	old := s.Now().Add(-40 * 24 * time.Hour)
	s.addMessage(mailbox, "inbox", map[string]any{"subject": "too old", "receivedDateTime": formatTime(old)})
	var ids []string
	for i := 0; i < 25; i++ {
		ids = append(ids, s.addMessage(mailbox, "inbox", map[string]any{"subject": fmt.Sprintf("m%d", i)}))
	}
	s.addMessage(mailbox, "sentitems", map[string]any{"subject": "other folder"})

	since := formatTime(s.Now().Add(-30 * 24 * time.Hour))
	start := "/users/" + mailbox + "/mailFolders/inbox/messages/delta?$select=subject,from,receivedDateTime,parentFolderId&$filter=" +
		url.QueryEscape("receivedDateTime ge "+since)
	items, pages, dl := s.deltaRound(start, 10)
	if len(items) != 25 || pages != 3 || dl == "" {
		t.Fatalf("initial round: %d items, %d pages, deltaLink %q", len(items), pages, dl)
	}
	for _, it := range items {
		if _, ok := it["body"]; ok || it["subject"] == nil || it["id"] == nil {
			t.Errorf("$select not honoured: %v", it)
		}
	}

	// Nothing changed: an empty round.
	items, _, dl = s.deltaRound(dl, 10)
	if len(items) != 0 {
		t.Errorf("idle round: %v", items)
	}

	// New message, a move out and a delete.
	newID := s.addMessage(mailbox, "inbox", map[string]any{"subject": "new"})
	if _, err := s.MoveMessage(ids[0], "deleteditems"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMessage(ids[1]); err != nil {
		t.Fatal(err)
	}
	items, _, dl2 := s.deltaRound(dl, 10)
	got := map[string]string{}
	for _, it := range items {
		if _, ok := it["@removed"]; ok {
			got[it["id"].(string)] = "removed"
		} else {
			got[it["id"].(string)] = it["subject"].(string)
		}
	}
	want := map[string]string{newID: "new", ids[0]: "removed", ids[1]: "removed"}
	if fmt.Sprint(want) != fmt.Sprint(got) {
		t.Errorf("second round = %v, want %v", got, want)
	}

	// Bad and expired tokens answer 410 SyncStateNotFound.
	code, _, e := s.graph("GET", "/users/"+mailbox+"/mailFolders/inbox/messages/delta?$deltatoken=bogus", nil)
	if code != http.StatusGone || e["error"].(map[string]any)["code"] != "SyncStateNotFound" {
		t.Errorf("bogus token: %d %v", code, e)
	}
	if code, _, out := s.do("POST", "/_sim/delta/expire", map[string]any{"mailbox": mailbox}, nil); code != 200 || out["expired"] == float64(0) {
		t.Errorf("expire: %d %v", code, out)
	}
	if code, _, _ := s.graph("GET", strings.TrimPrefix(dl2, s.GraphURL()), nil); code != http.StatusGone {
		t.Errorf("expired token: %d", code)
	}
	// The SDK's delta() form works too.
	if code, _, _ := s.graph("GET", "/users/"+mailbox+"/mailFolders/inbox/messages/delta()", nil); code != http.StatusOK {
		t.Errorf("delta(): %d", code)
	}
}

// A filtered delta returns at most 5,000 messages in arbitrary order and
// $top caps the round (graph.md, Errata); a filtered list has no cap.
func TestFilteredDeltaCapAndList(t *testing.T) {
	s := startSim(t, nil, nil)
	no := false
	base := s.Now().Add(-24 * time.Hour)
	for i := range 6000 {
		if _, err := s.CreateMessage(MessageInput{Mailbox: mailbox, Folder: "inbox", Notify: &no,
			Message: map[string]any{"subject": fmt.Sprint(i), "receivedDateTime": formatTime(base.Add(time.Duration(i) * time.Second))}}); err != nil {
			t.Fatal(err)
		}
	}
	flt := "&$filter=" + url.QueryEscape("receivedDateTime ge "+formatTime(base.Add(-time.Hour)))
	start := "/users/" + mailbox + "/mailFolders/inbox/messages/delta?$select=subject" + flt
	items, pages, dl := s.deltaRound(start, 1000)
	if len(items) != filteredDeltaCap || pages != 5 || dl == "" {
		t.Fatalf("filtered round: %d items in %d pages (deltaLink %q), want 5,000 in 5", len(items), pages, dl)
	}
	ordered := true
	for i := 1; i < len(items); i++ {
		a, b := items[i-1]["subject"].(string), items[i]["subject"].(string)
		if len(a) > len(b) || (len(a) == len(b) && a > b) {
			ordered = false
		}
	}
	if ordered {
		t.Error("the capped round came in received order; Graph guarantees none")
	}
	// With $orderby=receivedDateTime desc the capped round is the newest 5,000, in order.
	items, _, _ = s.deltaRound(start+"&$orderby="+url.QueryEscape("receivedDateTime desc"), 1000)
	if len(items) != filteredDeltaCap || items[0]["subject"] != "5999" || items[len(items)-1]["subject"] != "1000" {
		t.Errorf("ordered filtered round: %d items, %v … %v; want 5999 … 1000", len(items), items[0]["subject"], items[len(items)-1]["subject"])
	}
	if code, _, _ := s.graph("GET", "/users/"+mailbox+"/mailFolders/inbox/messages/delta?$orderby=subject", nil); code != http.StatusBadRequest {
		t.Errorf("$orderby=subject on delta: %d, want 400", code)
	}
	// Unfiltered: every message.
	if items, _, _ := s.deltaRound("/users/"+mailbox+"/mailFolders/inbox/messages/delta?$select=subject", 1000); len(items) != 6000 {
		t.Errorf("unfiltered round: %d items, want 6000", len(items))
	}
	// $top caps the round, not the page.
	if items, pages, _ := s.deltaRound(start+"&$top=25", 10); len(items) != 25 || pages != 3 {
		t.Errorf("$top=25 round: %d items in %d pages, want 25 in 3", len(items), pages)
	}
	// A filtered, ordered list pages through all of them.
	flt2 := "&$filter=" + url.QueryEscape("receivedDateTime ge "+formatTime(base.Add(1000*time.Second)))
	next, n, last := "/users/"+mailbox+"/mailFolders/inbox/messages?$top=1000&$select=subject,receivedDateTime&$orderby=receivedDateTime+desc"+flt2, 0, ""
	for next != "" {
		code, _, page := s.graph("GET", strings.TrimPrefix(next, s.GraphURL()), nil)
		if code != http.StatusOK {
			t.Fatalf("list: %d %v", code, page)
		}
		for _, v := range page["value"].([]any) {
			r := v.(map[string]any)["receivedDateTime"].(string)
			if last != "" && r > last {
				t.Fatalf("list not newest first: %s after %s", r, last)
			}
			last = r
			n++
		}
		next, _ = page["@odata.nextLink"].(string)
	}
	if n != 5000 {
		t.Errorf("filtered list: %d messages, want 5000", n)
	}
	// A bounded window.
	flt3 := url.QueryEscape("receivedDateTime ge " + formatTime(base.Add(1000*time.Second)) + " and receivedDateTime lt " + formatTime(base.Add(1500*time.Second)))
	code, _, page := s.graph("GET", "/users/"+mailbox+"/mailFolders/inbox/messages?$top=1000&$filter="+flt3, nil)
	if code != http.StatusOK || len(page["value"].([]any)) != 500 {
		t.Errorf("bounded list: %d, %d messages, want 500", code, len(page["value"].([]any)))
	}
	if code, _, _ := s.graph("GET", "/users/"+mailbox+"/mailFolders/inbox/messages?$filter="+url.QueryEscape("subject eq 'x'"), nil); code != http.StatusBadRequest {
		t.Errorf("unsupported filter: %d, want 400", code)
	}
}

// With a token TTL, a stale nextLink and a stale deltaLink answer 410
// SyncStateNotFound on the simulator's clock.
func TestDeltaTokenTTL(t *testing.T) {
	s := startSim(t, nil, nil)
	for i := range 15 {
		s.addMessage(mailbox, "inbox", map[string]any{"subject": fmt.Sprint(i)})
	}
	s.SetFaults(Faults{DeltaTokenTTLSeconds: 60})
	hdr := []string{"Prefer", "odata.maxpagesize=10"}
	code, _, page := s.graph("GET", "/users/"+mailbox+"/mailFolders/inbox/messages/delta", nil, hdr...)
	next, _ := page["@odata.nextLink"].(string)
	if code != http.StatusOK || next == "" {
		t.Fatalf("first page: %d %v", code, page)
	}
	s.AdvanceClock(2 * time.Minute)
	code, _, e := s.graph("GET", strings.TrimPrefix(next, s.GraphURL()), nil, hdr...)
	if code != http.StatusGone || e["error"].(map[string]any)["code"] != "SyncStateNotFound" {
		t.Errorf("stale nextLink: %d %v", code, e)
	}
	_, _, dl := s.deltaRound("/users/"+mailbox+"/mailFolders/inbox/messages/delta", 10)
	if code, _, _ := s.graph("GET", strings.TrimPrefix(dl, s.GraphURL()), nil); code != http.StatusOK {
		t.Errorf("fresh deltaLink: %d", code)
	}
	s.AdvanceClock(2 * time.Minute)
	if code, _, _ := s.graph("GET", strings.TrimPrefix(dl, s.GraphURL()), nil); code != http.StatusGone {
		t.Errorf("stale deltaLink: %d, want 410", code)
	}
}
