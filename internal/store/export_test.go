package store

import (
	"context"

	"github.com/jmoiron/sqlx"
)

// Exported for the external tests only.
var HitsQuery = hitsQuery

func OpenDealsQuery(ids []int64) (string, []any, error) { return sqlx.In(openDealsQuery, ids, ids) }

func (s *Store) DB() *sqlx.DB { return s.db }

// OpenChange appends a change of an activity in a transaction that stays
// open until the returned function commits it (tests of the change log's
// visibility rule).
func (s *Store) OpenChange(ctx context.Context, activityID int64) (commit func() error, err error) {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, err
	}
	if err := s.appendChange(ctx, tx, ChangeActivityUpdated, activityID, nil); err != nil {
		tx.Rollback()
		return nil, err
	}
	return tx.Commit, nil
}

// UnsafeChanges reads the change log without the transaction horizon, as a
// naive reader would (to show that the visibility test can fail).
func (s *Store) UnsafeChanges(ctx context.Context, after Cursor, limit int) ([]Change, error) {
	defer func(old bool) { skipHorizon = old }(skipHorizon)
	skipHorizon = true
	return s.Changes(ctx, after, limit)
}

// The queries of DecisionHours (their plans are tested).
var DecisionHoursQueries = []string{verdictHoursSince, latencyHoursSince}

// MigrateRedo migrates down to below version and up again (tests of a
// migration's data step).
func (s *Store) MigrateRedo(ctx context.Context, version int64) error {
	p, err := s.migrator()
	if err != nil {
		return err
	}
	if _, err := p.DownTo(ctx, version-1); err != nil {
		return err
	}
	_, err = p.Up(ctx)
	return err
}
