// Package storetest opens fresh, migrated databases for tests: a SQLite file
// in a temporary directory, and a throw-away database on the PostgreSQL
// server named by TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres).
//
// When PostgreSQL does not answer, its tests are skipped, unless
// REQUIRE_INTEGRATION=1 (set by `make test` and CI), which makes them fail.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/jmoiron/sqlx"
)

// DefaultPostgresURL is the server used when TEST_POSTGRES_URL is unset.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Dialects are the databases every store test runs against.
var Dialects = []string{store.SQLite, store.Postgres}

// Each runs fn once per dialect, each with a fresh migrated store.
func Each(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(d, func(t *testing.T) { fn(t, Open(t, d)) })
	}
}

// Open returns a fresh migrated store of the dialect, closed and dropped
// when the test ends.
func Open(t testing.TB, dialect string) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var dsn string
	switch dialect {
	case store.SQLite:
		dsn = filepath.Join(t.TempDir(), "connector.db")
	case store.Postgres:
		dsn = CreatePostgresDB(t)
	}
	s, err := store.Open(ctx, dialect, dsn)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("storetest: %v", err)
	}
	return s
}

// CreatePostgresDB creates an empty database and returns its URL; it is
// dropped when the test ends.
func CreatePostgresDB(t testing.TB) string {
	t.Helper()
	admin := os.Getenv("TEST_POSTGRES_URL")
	if admin == "" {
		admin = DefaultPostgresURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sqlx.Open("pgx", admin)
	if err == nil {
		err = db.PingContext(ctx)
	}
	if err != nil {
		if os.Getenv("REQUIRE_INTEGRATION") == "1" {
			t.Fatalf("storetest: PostgreSQL at %s is required but does not answer: %v", admin, err)
		}
		t.Skipf("storetest: PostgreSQL does not answer (%v); set REQUIRE_INTEGRATION=1 to fail instead", err)
	}
	defer db.Close()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "connector_test_" + hex.EncodeToString(b)
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("storetest: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		db, err := sqlx.Open("pgx", admin)
		if err != nil {
			return
		}
		defer db.Close()
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("storetest: drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("storetest: TEST_POSTGRES_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// ChangeReader reads the change log: store.Store.Changes, or a variant.
type ChangeReader func(ctx context.Context, after store.Cursor, limit int) ([]store.Change, error)

// AwaitChanges reads the change log after the cursor until it holds at
// least n changes or a minute has passed, and returns the last read; the
// caller asserts on it. On PostgreSQL a change becomes readable once every
// write transaction older than its own has ended on the whole server, and
// other packages' tests share the server, so one read is not enough.
// Nothing signals that moment, hence the polling.
func AwaitChanges(t testing.TB, read ChangeReader, after store.Cursor, n int) []store.Change {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		page, err := read(context.Background(), after, 10_000)
		if err != nil {
			t.Fatalf("storetest: reading the change log: %v", err)
		}
		if len(page) >= n || time.Now().After(deadline) {
			return page
		}
		time.Sleep(10 * time.Millisecond)
	}
}
