package api

import (
	"testing"
)

// newTestHandler returns a handler on st (nil: a store that is never used).
func newTestHandler(t testing.TB, st Store) *Handler {
	t.Helper()
	if st == nil {
		st = struct {
			writeStore
			readStore
		}{}
	}
	h, err := New(Deps{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	return h
}
