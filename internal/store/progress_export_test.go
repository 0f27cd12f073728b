package store

// Exported for the external tests only: the queries of the running first
// syncs, for their plans.
const (
	FirstSyncsRunningQuery = firstSyncsRunningQuery
	FirstSyncsCountQuery   = firstSyncsCountQuery
)
