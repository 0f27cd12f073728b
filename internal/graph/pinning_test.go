package graph_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dedesales/exchange-connector/internal/graph"
	"github.com/dedesales/exchange-connector/internal/grapherr"
	"github.com/dedesales/exchange-connector/internal/graphsim"
)

// authLog records the Authorization header of every request a server gets.
type authLog struct {
	mu   sync.Mutex
	seen []string
}

func (l *authLog) add(r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seen = append(l.seen, r.Method+" "+r.URL.Path+" auth="+r.Header.Get("Authorization"))
}

func (l *authLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.seen...)
}

// The bearer token goes to the Graph host only: a redirect to another host
// and @odata links to another host never receive it. Entra is the
// simulator; "Graph" and the foreign host are two plain httptest servers.
func TestBearerTokenStaysOnTheGraphHost(t *testing.T) {
	e := newEnv(t, graphsim.Options{})
	var foreignLog, graphLog authLog
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		foreignLog.add(r)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"m1","subject":"from elsewhere"}`))
	}))
	defer foreign.Close()
	fakeGraph := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		graphLog.add(r)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/v1.0/users/"+anna+"/messages/m1":
			http.Redirect(w, r, foreign.URL+"/steal", http.StatusTemporaryRedirect)
		case strings.HasPrefix(r.URL.Path, "/v1.0/users/"+anna+"/mailFolders/inbox/messages/delta"):
			w.Write([]byte(`{"value":[],"@odata.nextLink":"` + foreign.URL + `/v1.0/users/` + anna + `/mailFolders/inbox/messages/delta?$skiptoken=1"}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer fakeGraph.Close()
	c, err := graph.New(graph.Config{
		Credentials:  graph.Fixed{TenantID: tenantID, ClientID: clientID, Secrets: []graph.Secret{{ID: 1, Value: secret}}},
		AuthorityURL: e.sim.URL, GraphURL: fakeGraph.URL + "/v1.0", ExtraCAFile: e.caFile,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	t.Run("redirect", func(t *testing.T) {
		if _, err := c.Message(ctx, anna, "m1"); err != nil {
			t.Fatalf("Message: %v", err)
		}
		g, f := graphLog.get(), foreignLog.get()
		if len(g) != 1 || len(g[0]) < len("auth=Bearer x") || g[0][len(g[0])-len("auth="):] == "auth=" {
			t.Fatalf("Graph got %q; want one request with the token (else this test proves nothing)", g)
		}
		if len(f) != 1 || f[0] != "GET /steal auth=" {
			t.Errorf("the redirect target got %q; want one request without a token", f)
		}
	})

	t.Run("foreign nextLink", func(t *testing.T) {
		before := len(foreignLog.get())
		_, err := c.Delta(ctx, anna, "inbox", "", time.Time{})
		if ge := kindOf(t, err, grapherr.ErrInvalid); ge.Op != "message delta" {
			t.Errorf("error: %v", ge)
		}
		if f := foreignLog.get(); len(f) != before {
			t.Errorf("the foreign host was asked: %q", f[before:])
		}
	})

	t.Run("stored link to another host", func(t *testing.T) {
		before, graphBefore := len(foreignLog.get()), len(graphLog.get())
		_, err := c.Delta(ctx, anna, "inbox", foreign.URL+"/v1.0/users/"+anna+"/mailFolders/inbox/messages/delta?$deltatoken=1", time.Time{})
		kindOf(t, err, grapherr.ErrSyncStateLost) // the sync starts a fresh round on Graph
		if len(foreignLog.get()) != before || len(graphLog.get()) != graphBefore {
			t.Errorf("a request was sent: foreign %q", foreignLog.get()[before:])
		}
	})
}

// switchingSource is a SecretSource whose secret an operator changes.
type switchingSource struct {
	calls  atomic.Int32
	mu     sync.Mutex
	secret graph.Secret
}

func (s *switchingSource) Credentials(context.Context) (graph.Credentials, error) {
	s.calls.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	return graph.Credentials{TenantID: tenantID, ClientID: clientID, Secrets: []graph.Secret{s.secret}}, nil
}

func (s *switchingSource) set(sec graph.Secret) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secret = sec
}

// The client asks its secret source again after ReloadEvery and signs in
// with the new secret; within ReloadEvery it does not ask at all.
func TestCredentialsAreReloaded(t *testing.T) {
	e := newEnv(t, graphsim.Options{})
	ctx := context.Background()
	src := &switchingSource{secret: graph.Secret{ID: 1, Value: "wrong"}}

	cached := e.client(t, func(cfg *graph.Config) { cfg.Credentials, cfg.ReloadEvery = src, time.Hour })
	if _, err := cached.FolderTree(ctx, anna); err == nil {
		t.Fatal("a wrong secret worked")
	}
	calls := src.calls.Load()
	src.set(graph.Secret{ID: 2, Value: secret})
	if _, err := cached.FolderTree(ctx, anna); err == nil {
		t.Error("the secret was reloaded before ReloadEvery passed")
	}
	if src.calls.Load() != calls {
		t.Errorf("the source was asked %d times within ReloadEvery", src.calls.Load()-calls)
	}

	src.set(graph.Secret{ID: 1, Value: "wrong"})
	reloading := e.client(t, func(cfg *graph.Config) { cfg.Credentials, cfg.ReloadEvery = src, time.Nanosecond })
	if _, err := reloading.CheckToken(ctx); err == nil {
		t.Fatal("a wrong secret worked")
	}
	src.set(graph.Secret{ID: 2, Value: secret})
	id, err := reloading.CheckToken(ctx)
	if err != nil || id != 2 {
		t.Fatalf("after the operator's change: CheckToken = %d, %v; want secret 2", id, err)
	}
	if _, err := reloading.PasswordCredentials(ctx); err != nil {
		t.Errorf("PasswordCredentials with reloaded credentials: %v", err)
	}
}

// A source that fails, or has no secret, fails the call with an error the
// jobs can classify; New itself never asks the source.
func TestCredentialsSourceFailures(t *testing.T) {
	e := newEnv(t, graphsim.Options{})
	empty := e.client(t, func(cfg *graph.Config) { cfg.Credentials = graph.Fixed{TenantID: tenantID, ClientID: clientID} })
	_, err := empty.FolderTree(context.Background(), anna)
	kindOf(t, err, grapherr.ErrAuth)
	if _, err := graph.New(graph.Config{GraphURL: e.sim.GraphURL()}); err == nil {
		t.Error("New without a credentials source succeeded")
	}
}
