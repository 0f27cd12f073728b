//go:build race

package jobs

// raceEnabled: the race detector slows the 32,000-message backfill test
// past the test timeout; it runs without -race.
const raceEnabled = true
