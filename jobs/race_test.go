//go:build race

package jobs

// raceEnabled: the race detector slows the 32,000-message backfill test
// past the test timeout; make test runs it once more without -race
// (NORACE_TESTS in the Makefile).
const raceEnabled = true
