package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/store"
)

// nilStore is a Store whose every method panics: for tests that never reach it.
type nilStore struct {
	keyStore
	writeStore
	readStore
}

// newTestHandler returns a handler on st (nil: a store that is never used).
func newTestHandler(t testing.TB, st Store) *Handler {
	t.Helper()
	if st == nil {
		st = nilStore{}
	}
	h, err := New(Deps{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// recordingRematcher records the causes it is told about.
type recordingRematcher struct {
	mu     sync.Mutex
	causes []string
}

func (r *recordingRematcher) RequestRematch(_ context.Context, cause string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.causes = append(r.causes, cause)
	return nil
}

func (r *recordingRematcher) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.causes
	r.causes = nil
	return out
}

// apiEnv is the API served over real HTTP on a real store.
type apiEnv struct {
	t     testing.TB
	st    *store.Store
	h     *Handler
	srv   *httptest.Server
	rem   *recordingRematcher
	write string // a write key's token
	read  string // a read key's token
}

type envOpt func(*Deps)

func withRedis(rdb redis.UniversalClient, rate, burst int) envOpt {
	return func(d *Deps) { d.Redis, d.RatePerSecond, d.Burst = rdb, rate, burst }
}

// newEnv serves the API on st; with keys, a write and a read key are made.
func newEnv(t testing.TB, st *store.Store, keys bool, opts ...envOpt) *apiEnv {
	t.Helper()
	rem := &recordingRematcher{}
	d := Deps{Store: st, Rematcher: rem, Logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&d)
	}
	h, err := New(d)
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	h.Register(e)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	env := &apiEnv{t: t, st: st, h: h, srv: srv, rem: rem}
	if keys {
		ctx := context.Background()
		if env.write, _, err = st.CreateAPIKey(ctx, "crm", store.ScopeWrite); err != nil {
			t.Fatal(err)
		}
		if env.read, _, err = st.CreateAPIKey(ctx, "reporting", store.ScopeRead); err != nil {
			t.Fatal(err)
		}
	}
	return env
}

// resp is an answer of the API, checked against the document.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) problem(t testing.TB) Problem {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, MediaTypeProblem) {
		t.Fatalf("status %d with Content-Type %q, want a problem: %s", r.status, ct, r.body)
	}
	var p Problem
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Status != r.status {
		t.Errorf("problem status %d, response %d", p.Status, r.status)
	}
	return p
}

func (r resp) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("%s: %v", r.body, err)
	}
	return m
}

// hasField reports whether the problem names field.
func (p Problem) hasField(field string) bool {
	for _, e := range p.Errors {
		if e.Field == field {
			return true
		}
	}
	return false
}

// do sends a request with token (none when "") and validates the answer
// against the document: its status must be documented for the operation
// and its body match the schema.
func (env *apiEnv) do(method, path, token, body string) resp {
	env.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, env.srv.URL+path, rd)
	if err != nil {
		env.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return env.send(req)
}

func (env *apiEnv) send(req *http.Request) resp {
	env.t.Helper()
	var reqBody []byte
	if req.Body != nil {
		reqBody, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	res, err := env.srv.Client().Do(req)
	if err != nil {
		env.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		env.t.Fatal(err)
	}
	checkResponse(env.t, env.h, req, reqBody, res, body)
	return resp{status: res.StatusCode, header: res.Header, body: body}
}

var (
	docRouterOnce sync.Once
	docRouterV    routers.Router
)

// docRouter routes by the 3.1 document as it is, so that responses are
// validated with JSON Schema 2020-12.
func docRouter(t testing.TB, h *Handler) routers.Router {
	docRouterOnce.Do(func() {
		r, err := gorillamux.NewRouter(h.doc)
		if err != nil {
			t.Fatal(err)
		}
		docRouterV = r
	})
	return docRouterV
}

// checkResponse validates a response against the document with
// openapi3filter: undocumented statuses and bodies that do not match fail.
func checkResponse(t testing.TB, h *Handler, req *http.Request, reqBody []byte, res *http.Response, body []byte) {
	t.Helper()
	vreq := req.Clone(context.Background())
	vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := docRouter(t, h).FindRoute(vreq)
	if err != nil {
		t.Fatalf("%s %s: not in the document: %v", req.Method, req.URL.Path, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route},
		Status:                 res.StatusCode,
		Header:                 res.Header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s → %d does not match the document: %v\nbody: %.500s", req.Method, req.URL.Path, res.StatusCode, err, body)
	}
}

// seed imports testCRM without employee 2 and records one activity of customer 10
// linked to all three; it returns the activity's ID.
func seed(t testing.TB, st *store.Store) int64 {
	t.Helper()
	ctx := context.Background()
	day := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	f := testCRM()
	f.Employees = f.Employees[:1] // employee 2 is the write tests' to create
	if _, err := st.ImportCRM(ctx, f); err != nil {
		t.Fatal(err)
	}
	ptr := func(v int64) *int64 { return &v }
	res, err := st.RecordMessage(ctx, store.MessageRecord{
		EmployeeID: 1,
		Message: model.Message{ID: "AAMk-1", InternetMessageID: "<m1@schulz-technik.com>", Subject: "Angebot",
			Body: &model.ItemBody{ContentType: "text", Content: "Guten Tag"}, ReceivedDateTime: &day, SentDateTime: &day},
		Folder: []model.FolderRef{{WellKnownName: "inbox", DisplayName: "Inbox"}},
		Decision: match.Decision{Outcome: match.OutcomeImported, Reason: match.ReasonMatched, Direction: match.DirectionInbound,
			Rule: match.RuleContactExact, MatchedAddress: "sabine.schulz@schulz-technik.com", CustomerID: ptr(10),
			ContactID: ptr(100), LeadID: ptr(1000), OpportunityID: ptr(2000), Candidates: []string{"sabine.schulz@schulz-technik.com"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return res.ActivityID
}
