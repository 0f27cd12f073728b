package graphsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
)

// BenchmarkDeltaRound runs a full delta round over a 10,000-message folder
// with 20 ms simulated latency per request, pages of 1000, sequentially
// over raw HTTPS (DESIGN §9 backfill target: 10k messages in ≤ 30 s).
func BenchmarkDeltaRound(b *testing.B) {
	rs, err := Start("", Options{TenantID: testTenant, ClientID: testClient, ClientSecret: testSecret})
	if err != nil {
		b.Fatal(err)
	}
	defer rs.Close()
	off := false
	for i := 0; i < 10000; i++ {
		_, err := rs.CreateMessage(MessageInput{Mailbox: mailbox, Folder: "inbox", Notify: &off, Message: map[string]any{
			"subject": fmt.Sprintf("Angebot %d", i), "from": map[string]any{"emailAddress": map[string]any{"address": "kunde@example.com"}},
			"body": map[string]any{"contentType": "text", "content": "Guten Tag, anbei das Angebot."}}})
		if err != nil {
			b.Fatal(err)
		}
	}
	rs.SetFaults(Faults{LatencyMS: 20})
	client := rs.CA.Client()
	resp, err := client.PostForm(rs.URL+"/"+testTenant+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {testClient}, "client_secret": {testSecret}, "scope": {"https://graph.microsoft.com/.default"}})
	if err != nil {
		b.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()

	start := rs.GraphURL() + "/users/" + mailbox + "/mailFolders/inbox/messages/delta?$select=subject,from,receivedDateTime,parentFolderId,internetMessageId"
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n, pages := 0, 0
		for next := start; next != ""; pages++ {
			req, _ := http.NewRequest("GET", next, nil)
			req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			req.Header.Set("Prefer", "odata.maxpagesize=1000")
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var page struct {
				Value []json.RawMessage `json:"value"`
				Next  string            `json:"@odata.nextLink"`
			}
			err = json.NewDecoder(resp.Body).Decode(&page)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Fatalf("page %d: %d %v", pages, resp.StatusCode, err)
			}
			n += len(page.Value)
			next = page.Next
		}
		if n != 10000 || pages != 10 {
			b.Fatalf("%d messages in %d pages", n, pages)
		}
	}
}
