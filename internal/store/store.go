// Package store holds all SQL of the connector: the CRM tables it reads and
// writes and its own state. It runs on SQLite (the embedded default) and
// PostgreSQL with the same queries; only the migrations differ per dialect.
//
// Queries are written with ? placeholders and rebound for the driver.
// Every method takes a context first; errors are wrapped with "store: …" and
// the sentinels below can be tested with errors.Is.
package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Sentinel errors.
var (
	// ErrNotFound: no row with that key.
	ErrNotFound = errors.New("not found")
	// ErrInvalid: the input does not satisfy the CRM's rules.
	ErrInvalid = errors.New("invalid input")
)

// Dialects.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

func init() {
	sqlx.BindDriver("sqlite", sqlx.QUESTION)
}

// Store is the connector's database.
type Store struct {
	db      *sqlx.DB
	dialect string
	now     func() time.Time
}

// Open connects to the database. dialect is SQLite or Postgres; for SQLite
// dsn is a file path (its directory is created), for PostgreSQL a URL.
// Open does not migrate; call Migrate.
func Open(ctx context.Context, dialect, dsn string) (*Store, error) {
	var (
		db  *sqlx.DB
		err error
	)
	switch dialect {
	case SQLite:
		if dir := filepath.Dir(dsn); dir != "." {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("store: creating database directory: %w", err)
			}
		}
		db, err = sqlx.Open("sqlite", sqliteDSN(dsn))
		if err == nil {
			// SQLite allows one writer at a time; immediate transactions plus a
			// busy timeout make writers queue instead of failing.
			db.SetMaxOpenConns(8)
		}
	case Postgres:
		db, err = sqlx.Open("pgx", dsn)
		if err == nil {
			db.SetMaxOpenConns(20)
			db.SetMaxIdleConns(20)
			db.SetConnMaxIdleTime(5 * time.Minute)
		}
	default:
		return nil, fmt.Errorf("store: unknown dialect %q", dialect)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", dialect, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connecting to %s: %w", dialect, err)
	}
	return &Store{db: db, dialect: dialect, now: func() time.Time { return time.Now().UTC() }}, nil
}

func sqliteDSN(path string) string {
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(NORMAL)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	q.Set("_time_format", "sqlite")
	return "file:" + path + "?" + q.Encode()
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Dialect is SQLite or Postgres.
func (s *Store) Dialect() string { return s.dialect }

// SetClock replaces the clock used for created_at and updated_at (tests).
func (s *Store) SetClock(now func() time.Time) { s.now = func() time.Time { return now().UTC() } }

// Ping checks that the database answers (readiness).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// q rebinds a query written with ? placeholders for the driver.
func (s *Store) q(query string) string { return s.db.Rebind(query) }
