package app_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/dedesales/exchange-connector/internal/testenv"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/app"
	"github.com/dedesales/exchange-connector/internal/config"
	"github.com/dedesales/exchange-connector/internal/crmfile"
	"github.com/dedesales/exchange-connector/internal/graphsim"
	"github.com/dedesales/exchange-connector/internal/secret"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

const (
	tenantID = "84bd8158-6d4d-4958-8b9f-9d6445542f95"
	clientID = "11111111-2222-3333-4444-555555555555"
	secretV  = "demo~secret.value"
	anna     = "anna.berger@dedenet.de"
	peter    = "peter.kraus@dedenet.de"
)

// stack is the whole product against the simulator: connector serve (all
// roles) with a real database, a real Redis and Graph over HTTPS.
type stack struct {
	sim      *graphsim.Running
	st       *store.Store
	cfg      *config.Config
	key      *secret.Key
	redisURL string
	// internalURL is the base URL of the internal listener (metrics_listen).
	internalURL string
}

func redisURL(t testing.TB) string {
	opt := testenv.Redis(t, testenv.RedisDBApp)
	return fmt.Sprintf("redis://%s/%d", opt.Addr, opt.DB)
}

// newStack prepares simulator, database (with the demo CRM and the
// credentials) and configuration; start runs the service.
func newStack(t testing.TB, dialect string) *stack {
	t.Helper()
	sim, err := graphsim.Start("", graphsim.Options{TenantID: tenantID, ClientID: clientID, ClientSecret: secretV,
		AllowHTTPNotify: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	// Graph knows only existing users: the two synced mailboxes'.
	for _, m := range []string{anna, peter} {
		if _, err := sim.AddUser(graphsim.UserInput{Mail: m}); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := sim.CA.WriteFile(caFile); err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults()
	cfg.DatabaseURL = "sqlite://" + filepath.Join(dir, "connector.db")
	if dialect == store.Postgres {
		cfg.DatabaseURL = storetest.CreatePostgresDB(t)
	}
	cfg.RedisURL = redisURL(t)
	cfg.GraphURL, cfg.AuthorityURL, cfg.ExtraCAFile = sim.GraphURL(), sim.URL, caFile
	cfg.MasterKeyFile = filepath.Join(dir, "master.key")
	cfg.DocumentsURL = "file://" + filepath.Join(dir, "documents")

	ctx := context.Background()
	d, dsn, _ := cfg.Database()
	st, err := store.Open(ctx, d, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	crm, err := crmfile.ReadFile("../../configs/demo/crm.json")
	if err != nil {
		t.Fatal(err)
	}
	// Two mailboxes keep the tests quick; the others are disabled.
	if _, err := st.ImportCRM(ctx, crm); err != nil {
		t.Fatal(err)
	}
	mbs, _ := st.Mailboxes(ctx)
	for _, mb := range mbs {
		if mb.Address != anna && mb.Address != peter {
			if err := st.SetMailboxDisabled(ctx, mb.EmployeeID, true); err != nil {
				t.Fatal(err)
			}
		}
	}
	key, _, err := secret.LoadOrCreateKey(cfg.MasterKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := key.Seal(secretV, store.SecretContext(tenantID, clientID))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddCredential(ctx, store.Credential{TenantID: tenantID, ClientID: clientID, SecretSealed: sealed, SecretHint: "dem"}, true); err != nil {
		t.Fatal(err)
	}
	return &stack{sim: sim, st: st, cfg: &cfg, key: key, redisURL: cfg.RedisURL}
}

// start runs `connector serve --role=all` until the test ends and waits
// until both mailboxes have a subscription (created through the real
// validation handshake) and their first sync is done.
func (s *stack) start(t testing.TB) {
	t.Helper()
	s.serve(t)
	s.waitFor(t, "subscriptions and first syncs", func() bool {
		mbs, _ := s.st.Mailboxes(context.Background())
		synced := 0
		for _, mb := range mbs {
			if mb.Syncable() && mb.LastSyncAt != nil {
				synced++
			}
		}
		return synced == 2 && len(s.sim.State().Subscriptions) == 2
	})
}

// serve runs `connector serve --role=all` until the test ends.
func (s *stack) serve(t testing.TB) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.cfg.PublicURL = "http://" + ln.Addr().String()
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.internalURL = "http://" + mln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan struct{})
	go func() {
		done <- app.Serve(ctx, app.Options{Config: s.cfg, Role: app.RoleAll, Listener: ln, MetricsListener: mln, Ready: ready,
			Log: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("serve stopped: %v", err)
	}
}

// waitFor polls cond until it holds (there is no event to wait on: the
// outcome is a row written by another process part).
func (s *stack) waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mail puts a message into a mailbox of the simulator, which notifies.
func (s *stack) mail(t testing.TB, mailbox, folder string, msg map[string]any) graphsim.CreatedMessage {
	t.Helper()
	m, err := s.sim.CreateMessage(graphsim.MessageInput{Mailbox: mailbox, Folder: folder, Message: msg})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// decision waits for the decision about a message.
func (s *stack) decision(t testing.TB, id string) store.Decision {
	t.Helper()
	var got store.Decision
	s.waitFor(t, "the decision on "+id, func() bool {
		ds, err := s.st.DecisionsFor(context.Background(), id)
		if err != nil || len(ds) == 0 {
			return false
		}
		got = ds[0]
		return true
	})
	return got
}

func (s *stack) activities(t testing.TB) (activities, links int) {
	a, l, err := s.st.ActivityCount(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return a, l
}

// queueDrained waits until no task is pending, active, scheduled or retrying.
func (s *stack) queueDrained(t testing.TB) {
	t.Helper()
	opt, err := asynq.ParseRedisURI(s.redisURL)
	if err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	s.waitFor(t, "an empty queue", func() bool {
		queues, err := insp.Queues()
		if err != nil {
			return false
		}
		for _, q := range queues {
			info, err := insp.GetQueueInfo(q)
			if errors.Is(err, asynq.ErrQueueNotFound) {
				continue
			}
			if err != nil || info.Pending+info.Active+info.Scheduled+info.Retry > 0 {
				return false
			}
		}
		return true
	})
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) { w.t.Logf("%s", p); return len(p), nil }

func from(addr string) map[string]any {
	return map[string]any{"emailAddress": map[string]any{"address": addr}}
}

func to(addrs ...string) []any {
	out := make([]any, len(addrs))
	for i, a := range addrs {
		out[i] = from(a)
	}
	return out
}

// handshakeServer answers Graph's validation requests and accepts
// notifications; it returns its base URL.
func handshakeServer(t testing.TB) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok := r.URL.Query().Get("validationToken"); tok != "" {
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, tok)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// get fetches a path of the connector's public HTTP server.
func (s *stack) get(t testing.TB, path string) string {
	t.Helper()
	_, body := fetch(t, s.cfg.PublicURL+path)
	return body
}

// getInternal fetches a path of the internal server (metrics_listen).
func (s *stack) getInternal(t testing.TB, path string) string {
	t.Helper()
	_, body := fetch(t, s.internalURL+path)
	return body
}

// fetch GETs url and returns the status code and body.
func fetch(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}
