package graph_test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dedesales/exchange-connector/internal/graph"
	"github.com/dedesales/exchange-connector/internal/grapherr"
	"github.com/dedesales/exchange-connector/internal/graphsim"
	"github.com/dedesales/exchange-connector/internal/model"
)

// Microsoft's own delta examples (concepts/delta-query-messages.md, copied
// in testdata/graph-real with SOURCES.md) parsed by the client: three pages
// of a first round linked by nextLinks, a deltaLink, and a next round with
// an @removed entry and an update whose isRead is the string "true" (a doc
// error a typed client must survive). The pages are served by a plain HTTPS
// server with Microsoft's host replaced by its own; the token comes from
// the simulator.
func TestDeltaParsesMicrosoftExamples(t *testing.T) {
	e := newEnv(t, graphsim.Options{})
	pages := map[string]string{ // query token → fixture
		"":                          "delta-messages-page1-nextlink.json",
		"GwcBoTmPuoTQWfcsAbkYM":     "delta-messages-page2-nextlink.json",
		"GwcBoTmPKILK4jLH7mAd1lLU":  "delta-messages-page3-deltalink.json",
		"GwcBoTmPuoGNlgXgF1nyUNMXY": "delta-messages-nextround-deltalink-removed.json",
	}
	var mu sync.Mutex
	var prefer []string
	var fake *httptest.Server
	fake = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(strings.ToLower(r.URL.Path), "/messages/delta") { // delta or delta()
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		prefer = append(prefer, r.Header.Get("Prefer"))
		mu.Unlock()
		tok := r.URL.Query().Get("$skiptoken") + r.URL.Query().Get("$deltatoken")
		mu.Lock()
		name, ok := pages[tok]
		mu.Unlock()
		if !ok {
			http.Error(w, "unknown token "+tok, http.StatusGone)
			return
		}
		b, err := os.ReadFile(filepath.Join("testdata", "graph-real", name))
		if name == "bad" {
			b, err = []byte(`{"value":[{"id":"AAkAL-bad","isDraft":"yes"}],"@odata.deltaLink":"https://graph.microsoft.com/v1.0/x/messages/delta?$deltatoken=z"}`), nil
		}
		if err != nil {
			t.Error(err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(strings.ReplaceAll(string(b), "https://graph.microsoft.com/v1.0", fake.URL+"/v1.0")))
	}))
	t.Cleanup(fake.Close)
	// Trust both the simulator (token) and the fake Graph.
	ca := append(e.sim.CA.PEM(), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: fake.Certificate().Raw})...)
	caFile := filepath.Join(t.TempDir(), "both.pem")
	if err := os.WriteFile(caFile, ca, 0o600); err != nil {
		t.Fatal(err)
	}
	c := e.client(t, func(cfg *graph.Config) { cfg.GraphURL, cfg.ExtraCAFile = fake.URL+"/v1.0", caFile })
	ctx := context.Background()

	var ids, senders []string
	link, deltaLink, n := "", "", 0
	for deltaLink == "" {
		if n++; n > 5 {
			t.Fatal("no deltaLink after 5 pages")
		}
		p, err := c.Delta(ctx, anna, "AQMkADNkNAAAgEMAAAA", link, time.Now().AddDate(0, 0, -30))
		if err != nil {
			t.Fatalf("page %d: %v", n, err)
		}
		for _, m := range p.Messages {
			ids = append(ids, m.ID)
			if m.Sender != nil {
				senders = append(senders, m.Sender.EmailAddress.Address)
			}
		}
		if len(p.Removed) > 0 {
			t.Errorf("first round removed %v", p.Removed)
		}
		link, deltaLink = p.NextLink, p.DeltaLink
	}
	wantIDs := []string{"AAMkADNkNAAASq35xAAA=", "AQMkADNkNAAAVRMKAAAAA==", "AQMkADNkNAAAgWkAAAA", "AQMkADNkNAAAgWJAAAA", "AAMkADk0MGFkODE3LWEAAA="}
	if !slices.Equal(ids, wantIDs) || n != 3 {
		t.Errorf("first round: %d pages, ids %v; want 3 pages, %v", n, ids, wantIDs)
	}
	if len(senders) != len(wantIDs) || senders[0] != "danas@contoso.com" || senders[1] != "samanthab@contoso.com" {
		t.Errorf("senders %v", senders)
	}
	if !strings.HasPrefix(deltaLink, fake.URL) || !strings.Contains(deltaLink, "$deltatoken=GwcBoTmPuoGNlgXgF1nyUNMXY") {
		t.Errorf("deltaLink %q", deltaLink)
	}

	next, err := c.Delta(ctx, anna, "AQMkADNkNAAAgEMAAAA", deltaLink, time.Time{})
	if err != nil {
		t.Fatalf("next round: %v", err)
	}
	if !slices.Equal(next.Removed, []string{"AAMkADk0MGFkODE3LWE4MmYtNDRhOS0Dh_6qB-pB2Sa2pUum19a6YAAKnLuxoAAA="}) ||
		len(next.Messages) != 1 || next.Messages[0].ID != "AAMkADNkNAAASq35xAAA=" || next.Messages[0].Subject != "Holiday hours update" {
		t.Errorf("next round: removed %v, messages %+v", next.Removed, next.Messages)
	}
	if next.DeltaLink == "" || next.NextLink != "" {
		t.Errorf("next round links: next %q, delta %q", next.NextLink, next.DeltaLink)
	}
	// The first request of a round falls back the same way (its URL is
	// built from the request), and a property the connector uses with a
	// wrong type is a clear ErrInvalid naming the message.
	mu.Lock()
	pages[""] = "delta-messages-nextround-deltalink-removed.json"
	mu.Unlock()
	first, err := c.Delta(ctx, anna, "AQMkADNkNAAAgEMAAAA", "", time.Now().AddDate(0, 0, -30))
	if err != nil || len(first.Removed) != 1 || len(first.Messages) != 1 {
		t.Errorf("first request with a string bool: %+v, %v", first, err)
	}
	mu.Lock()
	pages[""] = "bad"
	mu.Unlock()
	_, err = c.Delta(ctx, anna, "AQMkADNkNAAAgEMAAAA", "", time.Time{})
	if ge := kindOf(t, err, grapherr.ErrInvalid); !strings.Contains(ge.Message, "AAkAL-bad") {
		t.Errorf("bad page: %v", err)
	}
	// Every page was asked for with immutable IDs and text bodies.
	mu.Lock()
	defer mu.Unlock()
	for i, p := range prefer {
		if !strings.Contains(p, `IdType="ImmutableId"`) || !strings.Contains(p, `outlook.body-content-type="text"`) {
			t.Errorf("request %d: Prefer %q", i, p)
		}
	}
}

// The client creates subscriptions with Prefer: IdType="ImmutableId", so
// their notifications carry immutable IDs ("Existing subscriptions that
// were created without the header continue to use the default ID format",
// outlook-immutable-id.md): a mail moved to Deleted Items is notified under
// the ID it had in the Inbox, and GET by that ID finds it there.
func TestSubscriptionNotifiesImmutableIDs(t *testing.T) {
	notified := make(chan string, 16)
	sub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok := r.URL.Query().Get("validationToken"); tok != "" {
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte(tok))
			return
		}
		var body struct {
			Value []struct {
				ResourceData struct {
					ID string `json:"id"`
				} `json:"resourceData"`
			} `json:"value"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err == nil {
			for _, v := range body.Value {
				notified <- v.ResourceData.ID
			}
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer sub.Close()
	e := newEnv(t, graphsim.Options{AllowHTTPNotify: true})
	c := e.client(t, nil)
	ctx := context.Background()
	if _, err := c.CreateSubscription(ctx, model.Subscription{
		Resource: "/users/" + anna + "/messages", NotificationURL: sub.URL + "/graph/notifications",
		LifecycleNotificationURL: sub.URL + "/graph/lifecycle", ClientState: "v1.state", ExpiresAt: time.Now().Add(24 * time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
	m, err := e.sim.CreateMessage(graphsim.MessageInput{Mailbox: anna, Folder: "inbox", Message: map[string]any{"subject": "bleibt"}})
	if err != nil {
		t.Fatal(err)
	}
	mv, err := e.sim.Move(m.ID, "deleteditems")
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{m.ID, m.ID} { // created in Inbox, created in Deleted Items
		select {
		case got := <-notified:
			if got != want || got == m.RestID || got == mv.RestID {
				t.Errorf("notification %d: id %q, want the immutable %q", i, got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("notification %d not delivered", i)
		}
	}
	got, err := c.Message(ctx, anna, m.ID)
	if err != nil || got.ID != m.ID || got.ParentFolderID == "" {
		t.Fatalf("GET after the move: %+v, %v", got, err)
	}
	if inbox, _ := c.Message(ctx, anna, m.RestID); inbox != nil {
		t.Errorf("the regular ID from before the move still answers: %+v", inbox)
	}
}
