package store

import "github.com/jmoiron/sqlx"

// Exported for the external tests only.
var HitsQuery = hitsQuery

func OpenDealsQuery(ids []int64) (string, []any, error) { return sqlx.In(openDealsQuery, ids, ids) }

func (s *Store) DB() *sqlx.DB { return s.db }
