package graphsim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testTenant = "84bd8158-6d4d-4958-8b9f-9d6445542f95"
	testClient = "2a7c1f4e-0d3b-4c5a-9e8f-1a2b3c4d5e6f"
	testSecret = "s3cr3t~value"
)

// sim is a simulator on a real HTTPS listener plus a client trusting it.
type sim struct {
	*Running
	t      *testing.T
	client *http.Client
	token  string
}

// startSim runs a simulator; sub (optional) is the subscriber whose TLS
// certificate the simulator must trust.
func startSim(t *testing.T, sub *subscriber, mod func(*Options)) *sim {
	t.Helper()
	s := startBareSim(t, sub, mod)
	// Graph knows only users that a scenario or a control call created;
	// the tests' usual mailbox exists from the start.
	if _, err := s.AddUser(UserInput{Mail: mailbox}); err != nil {
		t.Fatal(err)
	}
	return s
}

// startBareSim starts a simulator without users.
func startBareSim(t *testing.T, sub *subscriber, mod func(*Options)) *sim {
	t.Helper()
	opts := Options{TenantID: testTenant, ClientID: testClient, ClientSecret: testSecret,
		ValidationTimeout: 2 * time.Second, NotifyTimeout: 2 * time.Second,
		NotifyRetry: RetryPolicy{MaxAttempts: 3, InitialBackoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}}
	if sub != nil {
		opts.NotifyClient = sub.srv.Client()
	}
	if mod != nil {
		mod(&opts)
	}
	rs, err := Start("", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rs.Close() })
	return &sim{Running: rs, t: t, client: rs.CA.Client()}
}

// do sends a request and decodes a JSON answer (nil for empty bodies).
func (s *sim) do(method, path string, body any, hdr map[string]string) (int, http.Header, map[string]any) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	u := path
	if !strings.HasPrefix(path, "https://") {
		u = s.URL + path
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(bytes.TrimSpace(raw)) > 0 && strings.Contains(resp.Header.Get("Content-Type"), "json") {
		if err := json.Unmarshal(raw, &out); err != nil {
			s.t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode, resp.Header, out
}

// getToken fetches an access token with the given secret.
func (s *sim) getToken(secret string) (int, map[string]any) {
	s.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {testClient}, "client_secret": {secret},
		"scope": {"https://graph.microsoft.com/.default openid offline_access profile"}}
	resp, err := s.client.PostForm(s.URL+"/"+testTenant+"/oauth2/v2.0/token", form)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// graph calls Graph with a valid token and, as the connector does, Prefer:
// IdType="ImmutableId" (added to a Prefer of hdr that names no IdType).
func (s *sim) graph(method, path string, body any, hdr ...string) (int, http.Header, map[string]any) {
	s.t.Helper()
	h := map[string]string{}
	for i := 0; i+1 < len(hdr); i += 2 {
		h[hdr[i]] = hdr[i+1]
	}
	switch p := h["Prefer"]; {
	case p == "":
		h["Prefer"] = `IdType="ImmutableId"`
	case !strings.Contains(p, "IdType"):
		h["Prefer"] = p + `, IdType="ImmutableId"`
	}
	var flat []string
	for k, v := range h {
		flat = append(flat, k, v)
	}
	return s.graphREST(method, path, body, flat...)
}

// graphREST calls Graph with a valid token and only the headers hdr: without
// an IdType preference, responses carry regular (folder-bound) IDs.
func (s *sim) graphREST(method, path string, body any, hdr ...string) (int, http.Header, map[string]any) {
	s.t.Helper()
	if s.token == "" {
		code, tok := s.getToken(testSecret)
		if code != http.StatusOK {
			s.t.Fatalf("token: %d %v", code, tok)
		}
		s.token = tok["access_token"].(string)
	}
	h := map[string]string{"Authorization": "Bearer " + s.token}
	for i := 0; i+1 < len(hdr); i += 2 {
		h[hdr[i]] = hdr[i+1]
	}
	return s.do(method, "/v1.0"+path, body, h)
}

// addMessage creates a message through the control API.
func (s *sim) addMessage(mailbox, folder string, msg map[string]any, atts ...map[string]any) string {
	s.t.Helper()
	body := map[string]any{"mailbox": mailbox, "folder": folder, "message": msg}
	if len(atts) > 0 {
		body["attachments"] = atts
	}
	code, _, out := s.do("POST", "/_sim/messages", body, nil)
	if code != http.StatusCreated {
		s.t.Fatalf("POST /_sim/messages: %d %v", code, out)
	}
	return out["id"].(string)
}

// subscriber is a notification endpoint over HTTPS that records what it
// receives and signals on channels.
type subscriber struct {
	srv *httptest.Server

	mu          sync.Mutex
	validation  string        // "ok" (default), "fail", "hang", "wrong"
	failNext    int           // answer this many notification POSTs with 500
	validations chan string   // the validation tokens seen
	notes       chan []any    // the value[] of each notification POST
	lifecycle   chan []any    // the value[] of each lifecycle POST
	release     chan struct{} // closed to end hanging validations
}

func newSubscriber(t *testing.T) *subscriber {
	sb := &subscriber{validations: make(chan string, 64), notes: make(chan []any, 1024),
		lifecycle: make(chan []any, 64), release: make(chan struct{})}
	sb.srv = httptest.NewTLSServer(http.HandlerFunc(sb.serve))
	t.Cleanup(func() { close(sb.release); sb.srv.Close() })
	return sb
}

func (sb *subscriber) set(f func(*subscriber)) {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	f(sb)
}

func (sb *subscriber) serve(w http.ResponseWriter, r *http.Request) {
	sb.mu.Lock()
	mode := sb.validation
	fail := sb.failNext > 0
	sb.mu.Unlock()
	if tok := r.URL.Query().Get("validationToken"); tok != "" {
		sb.validations <- tok
		switch mode {
		case "fail":
			w.WriteHeader(http.StatusInternalServerError)
		case "hang":
			select {
			case <-sb.release:
			case <-r.Context().Done():
			}
		case "wrong":
			w.Write([]byte("nope"))
		default:
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte(tok))
		}
		return
	}
	var body struct {
		Value []any `json:"value"`
	}
	json.NewDecoder(r.Body).Decode(&body)
	if fail {
		sb.mu.Lock()
		sb.failNext--
		sb.mu.Unlock()
	}
	if strings.HasSuffix(r.URL.Path, "/lifecycle") {
		sb.lifecycle <- body.Value
	} else {
		sb.notes <- body.Value
	}
	if fail {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// recv waits for the next POST on ch.
func recv(t *testing.T, ch chan []any) []any {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for a notification")
		return nil
	}
}

// eventually polls cond until it holds or 10 s pass (for counters that
// have no event to wait on).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// readJSON loads a testdata file.
func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := readFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
