package ops_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/ops"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// enqueue puts a task into the queue "default" of the test Redis.
func enqueue(t testing.TB, opt asynq.RedisClientOpt) {
	t.Helper()
	c := asynq.NewClient(opt)
	defer c.Close()
	if _, err := c.Enqueue(asynq.NewTask("mail:process", []byte(`{"employee_id":1}`))); err != nil {
		t.Fatal(err)
	}
}

func TestQueuesReadOnly(t *testing.T) {
	opt := redisOpt(t)
	enqueue(t, opt)
	srv := newServer(t, ops.Deps{Store: storetest.Open(t, store.SQLite), PasswordFile: writePasswordFile(t, hashed()), RedisConnOpt: opt})
	b := newBrowser(t, srv)
	b.mustLogin()

	resp, body := b.get("/ops/queues/")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `window.FLAG_READ_ONLY="true"`) {
		t.Fatalf("/ops/queues/: %s\n%s", resp.Status, body)
	}
	// The CSP allows exactly the index page's inline scripts.
	csp := resp.Header.Get("Content-Security-Policy")
	scripts := regexp.MustCompile(`(?s)<script>(.*?)</script>`).FindAllStringSubmatch(body, -1)
	if len(scripts) != 2 {
		t.Fatalf("%d inline scripts, want 2", len(scripts))
	}
	for _, s := range scripts {
		sum := sha256.Sum256([]byte(s[1]))
		if h := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(csp, h) {
			t.Errorf("CSP %q lacks %s", csp, h)
		}
	}
	if resp, _ := b.get("/ops/queues"); resp.StatusCode != http.StatusOK {
		t.Errorf("/ops/queues: %s", resp.Status)
	}

	resp, body = b.get("/ops/queues/api/queues")
	var got struct {
		Queues []struct {
			Queue   string `json:"queue"`
			Pending int    `json:"pending"`
		} `json:"queues"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("api/queues: %s %v\n%s", resp.Status, err, body)
	}
	if len(got.Queues) != 1 || got.Queues[0].Queue != "default" || got.Queues[0].Pending != 1 {
		t.Errorf("api/queues: %+v", got)
	}

	// Read-only: even with the CSRF token asynqmon refuses changes.
	token := b.csrf("/ops/")
	if resp, body := b.do(http.MethodDelete, "/ops/queues/api/queues/default", nil, http.Header{"X-Xsrf-Token": {token}}); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("DELETE in read-only mode: %s\n%s", resp.Status, body)
	}
	// Nobody handed the token to asynqmon's script.
	u, _ := http.NewRequest(http.MethodGet, srv.URL+"/ops/queues/", nil)
	for _, c := range b.c.Jar.Cookies(u.URL) {
		if c.Name == "XSRF-TOKEN" {
			t.Errorf("read-only dashboard got an XSRF-TOKEN cookie")
		}
	}
}

func TestQueuesWritable(t *testing.T) {
	opt := redisOpt(t)
	enqueue(t, opt)
	srv := newServer(t, ops.Deps{Store: storetest.Open(t, store.SQLite), PasswordFile: writePasswordFile(t, hashed()), RedisConnOpt: opt, QueuesWritable: true})
	b := newBrowser(t, srv)
	resp, _ := b.login(testPassword)
	// asynqmon's axios sends the XSRF-TOKEN cookie back as X-XSRF-TOKEN.
	for _, c := range resp.Cookies() {
		if c.Name == "XSRF-TOKEN" && (c.HttpOnly || c.Path != "/ops/queues" || c.SameSite != http.SameSiteStrictMode) {
			t.Errorf("XSRF-TOKEN cookie: %s", c)
		}
	}
	resp, body := b.get("/ops/queues/")
	if !strings.Contains(body, `window.FLAG_READ_ONLY="false"`) {
		t.Fatalf("/ops/queues/ is read-only: %s", resp.Status)
	}
	xsrf := srv.cookieAt(t, b, "/ops/queues/", "XSRF-TOKEN")
	if resp, _ := b.do(http.MethodPost, "/ops/queues/api/queues/default:pause", nil, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("pause without X-XSRF-TOKEN: %s, want 403", resp.Status)
	}
	if resp, body := b.do(http.MethodPost, "/ops/queues/api/queues/default:pause", nil, http.Header{"X-Xsrf-Token": {xsrf.Value}}); resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		t.Errorf("pause with X-XSRF-TOKEN: %s\n%s", resp.Status, body)
	}
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	info, err := insp.GetQueueInfo("default")
	if err != nil || !info.Paused {
		t.Errorf("queue default: paused %v, %v", info != nil && info.Paused, err)
	}
}

func TestQueuesWithoutRedis(t *testing.T) {
	srv := newServer(t, ops.Deps{Store: storetest.Open(t, store.SQLite), PasswordFile: writePasswordFile(t, hashed())})
	b := newBrowser(t, srv)
	b.mustLogin()
	if resp, body := b.get("/ops/queues/"); resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "no Redis connection") {
		t.Errorf("/ops/queues/ without Redis: %s\n%s", resp.Status, body)
	}
}

// cookieAt returns the named cookie b would send to path.
func (s *server) cookieAt(t testing.TB, b *browser, path, name string) *http.Cookie {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
	for _, c := range b.c.Jar.Cookies(req.URL) {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no cookie %s for %s", name, path)
	return nil
}
