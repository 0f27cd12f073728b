package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations
var migrations embed.FS

// Migrate brings the schema up to date. It is safe to run on every start
// and from several processes (goose takes a lock on PostgreSQL).
func (s *Store) Migrate(ctx context.Context) (applied int, err error) {
	p, err := s.migrator()
	if err != nil {
		return 0, err
	}
	results, err := p.Up(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: migrate: %w", err)
	}
	return len(results), nil
}

// SchemaVersion returns the current and the newest known schema version.
func (s *Store) SchemaVersion(ctx context.Context) (current, latest int64, err error) {
	p, err := s.migrator()
	if err != nil {
		return 0, 0, err
	}
	current, err = p.GetDBVersion(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("store: schema version: %w", err)
	}
	sources := p.ListSources()
	if len(sources) > 0 {
		latest = sources[len(sources)-1].Version
	}
	return current, latest, nil
}

func (s *Store) migrator() (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations/"+s.dialect)
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	dialect := goose.DialectSQLite3
	var opts []goose.ProviderOption
	if s.dialect == Postgres {
		dialect = goose.DialectPostgres
		locker, err := newPostgresLocker()
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	opts = append(opts, goose.WithGoMigrations(
		goose.NewGoMigration(2, &goose.GoFunc{RunTx: seedDefaults}, &goose.GoFunc{RunTx: unseedDefaults}),
	))
	p, err := goose.NewProvider(dialect, s.db.DB, sub, opts...)
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	return p, nil
}

// seedDefaults is migration 2: the default settings, including the
// free-mail list shipped in seed/.
func seedDefaults(ctx context.Context, tx *sql.Tx) error {
	for _, kv := range DefaultSettings() {
		// A plain INSERT works on both dialects with positional $ parameters
		// (SQLite accepts $N too).
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, CURRENT_TIMESTAMP)`,
			kv[0], kv[1]); err != nil {
			return fmt.Errorf("seeding setting %s: %w", kv[0], err)
		}
	}
	return nil
}

func unseedDefaults(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM settings`)
	return err
}

func newPostgresLocker() (lock.SessionLocker, error) {
	l, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, fmt.Errorf("store: migration lock: %w", err)
	}
	return l, nil
}
