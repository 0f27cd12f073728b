package ops_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dedesales/exchange-connector/internal/testenv"

	"github.com/hibiken/asynq"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"

	"github.com/dedesales/exchange-connector/internal/crmfile"
	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/ops"
	"github.com/dedesales/exchange-connector/internal/store"
)

// testPassword is the operator password of the tests.
const testPassword = "correct horse battery staple"

// redisDB is this package's Redis database (one per test package).
const redisDB = testenv.RedisDBOps

// testKey is the session key of the tests.
var testKey = []byte("0123456789abcdef0123456789abcdef")

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testNow is when the tests run, by the injected clock.
var testNow = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

// writePasswordFile writes content to a fresh 0600 file and returns its path.
func writePasswordFile(t testing.TB, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ops-password")
	if err := os.WriteFile(p, []byte(content+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// hashed is a bcrypt hash of testPassword at the least cost, which keeps
// the tests fast (HashPassword's cost is tested on its own).
var hashed = sync.OnceValue(func() string {
	h, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		panic(err)
	}
	return string(h)
})

// redisOpt is the package's test Redis database, emptied.
func redisOpt(t testing.TB) asynq.RedisClientOpt {
	o := testenv.Redis(t, redisDB)
	return asynq.RedisClientOpt{Addr: o.Addr, Username: o.Username, Password: o.Password, DB: o.DB}
}

// sessionRedis is a client of the package's test Redis database for the
// logged-out sessions: on opt when the test already emptied it (and may
// have queued tasks there), else on a freshly emptied one.
func sessionRedis(t testing.TB, opt asynq.RedisConnOpt) redis.UniversalClient {
	t.Helper()
	if opt == nil {
		return testenv.RedisClient(t, redisDB)
	}
	rdb, ok := opt.MakeRedisClient().(redis.UniversalClient)
	if !ok {
		t.Fatalf("unexpected Redis client %T", opt.MakeRedisClient())
	}
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// seed imports a small CRM and records decisions, a subscription and a
// credential, as the pipeline would.
func seed(t testing.TB, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	mb := func(s string) *string { return &s }
	crm := &crmfile.File{
		Employees: []model.Employee{
			{ID: 1, Name: "Anna Berger", Email: "anna.berger@dedenet.de", ExchangeMailbox: mb("anna.berger@dedenet.de"), Active: true},
			{ID: 2, Name: "Peter Kraus", Email: "peter.kraus@dedenet.de", ExchangeMailbox: mb("peter.kraus@dedenet.de"), Active: true},
			{ID: 3, Name: "Olaf Alt", Email: "olaf.alt@dedenet.de", ExchangeMailbox: mb("olaf.alt@dedenet.de"), Active: false},
		},
		Customers: []model.Customer{{ID: 10, Number: "10001", Name: "Schulz Technik GmbH", Email: "info@schulz-technik.com"}},
		Contacts:  []model.Contact{{ID: 100, CustomerID: 10, Name: "Sabine Schulz", Email: "sabine.schulz@schulz-technik.com"}},
	}
	if _, err := st.ImportCRM(ctx, crm); err != nil {
		t.Fatal(err)
	}
	at := testNow.Add(-time.Hour)
	st.SetClock(func() time.Time { return at })
	cust, contact := int64(10), int64(100)
	inbox := []model.FolderRef{{WellKnownName: "inbox", DisplayName: "Inbox"}}
	imported := match.Decision{Outcome: match.OutcomeImported, Reason: match.ReasonMatched, Direction: match.DirectionInbound,
		Rule: match.RuleContactExact, MatchedAddress: "sabine.schulz@schulz-technik.com", CustomerID: &cust, ContactID: &contact,
		Candidates: []string{"sabine.schulz@schulz-technik.com"}}
	recs := []store.MessageRecord{
		{EmployeeID: 1, Message: model.Message{ID: "AAMk-anna-1", InternetMessageID: "<angebot-1@schulz-technik.com>", Subject: "AW: Angebot Wartungsvertrag"},
			Folder: inbox, Decision: imported, Note: "notification", NotifiedAt: at.Add(-3 * time.Second)},
		{EmployeeID: 2, Message: model.Message{ID: "AAMk-peter-1", InternetMessageID: "<angebot-1@schulz-technik.com>", Subject: "AW: Angebot Wartungsvertrag"},
			Folder: inbox, Decision: imported, Note: "delta"},
		{EmployeeID: 1, Message: model.Message{ID: "AAMk-anna-2", InternetMessageID: "<news-7@newsletter-versand.de>", Subject: "Newsletter <b>November</b>"},
			Folder: inbox, Decision: match.Decision{Outcome: match.OutcomeIgnored, Reason: match.ReasonNoMatch, Direction: match.DirectionInbound,
				Candidates: []string{"info@newsletter-versand.de"}}},
	}
	for _, r := range recs {
		if _, err := st.RecordMessage(ctx, r); err != nil {
			t.Fatal(err)
		}
		at = at.Add(time.Minute)
	}
	if err := st.SaveSubscription(ctx, 1, model.Subscription{ID: "sub-anna", Resource: "/users/anna/messages", ExpiresAt: testNow.Add(5 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := st.TouchSubscription(ctx, "sub-anna", testNow.Add(-90*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := st.SubscriptionFailedNow(ctx, 2, "Graph: subscription validation failed"); err != nil {
		t.Fatal(err)
	}
	exp := testNow.Add(20*24*time.Hour + time.Hour)
	if _, err := st.AddCredential(ctx, store.Credential{TenantID: "tenant-1", ClientID: "client-1", SecretSealed: "sealed", SecretHint: "abc…", ExpiresAt: &exp}, true); err != nil {
		t.Fatal(err)
	}
}

// server is the echo server of a test with ops mounted.
type server struct {
	*httptest.Server
	h     *ops.Handler
	clock *clock
}

// newServer mounts ops with deps completed by test defaults on an
// httptest server. configure, when given, adjusts the echo server first
// (e.g. its IPExtractor).
func newServer(t testing.TB, deps ops.Deps, configure ...func(*echo.Echo)) *server {
	t.Helper()
	clk := &clock{t: testNow}
	if deps.Now == nil {
		deps.Now = clk.Now
	}
	if deps.SessionKey == nil {
		deps.SessionKey = testKey
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if deps.Redis == nil && deps.PasswordFile != "" {
		deps.Redis = sessionRedis(t, deps.RedisConnOpt)
	}
	h, err := ops.New(deps)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	e := echo.New()
	for _, f := range configure {
		f(e)
	}
	h.Register(e)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &server{Server: srv, h: h, clock: clk}
}

// browser is an HTTP client with cookies that does not follow redirects.
type browser struct {
	t   testing.TB
	srv *server
	c   *http.Client
}

func newBrowser(t testing.TB, srv *server) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, srv: srv, c: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends a request and returns the response with its body read.
func (b *browser) do(method, path string, form url.Values, header http.Header) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.srv.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return resp, string(data)
}

func (b *browser) get(path string) (*http.Response, string) {
	return b.do(http.MethodGet, path, nil, nil)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf fetches a page and returns the CSRF token of its forms.
func (b *browser) csrf(path string) string {
	b.t.Helper()
	_, body := b.get(path)
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		b.t.Fatalf("no CSRF token on %s:\n%s", path, body)
	}
	return m[1]
}

// login logs in with password and returns the response.
func (b *browser) login(password string) (*http.Response, string) {
	b.t.Helper()
	token := b.csrf("/ops/login")
	return b.do(http.MethodPost, "/ops/login", url.Values{"csrf": {token}, "password": {password}, "next": {"/ops/"}}, nil)
}

// mustLogin logs in and fails the test unless that worked.
func (b *browser) mustLogin() {
	b.t.Helper()
	resp, body := b.login(testPassword)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ops/" {
		b.t.Fatalf("login: %s %v\n%s", resp.Status, resp.Header, body)
	}
}

// seedMany records n more ignored decisions in Anna's mailbox with the
// subjects "bulk 0" … "bulk n-1".
func seedMany(st *store.Store, n int) error {
	for i := range n {
		_, err := st.RecordMessage(context.Background(), store.MessageRecord{EmployeeID: 1,
			Message:  model.Message{ID: fmt.Sprintf("AAMk-bulk-%d", i), Subject: fmt.Sprintf("bulk %d", i)},
			Folder:   []model.FolderRef{{WellKnownName: "inbox", DisplayName: "Inbox"}},
			Decision: match.Decision{Outcome: match.OutcomeIgnored, Reason: match.ReasonInternal}})
		if err != nil {
			return err
		}
	}
	return nil
}
