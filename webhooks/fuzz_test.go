package webhooks

import (
	"errors"
	"net/http"
	"os"
	"testing"
)

// FuzzNotifications posts random bodies to the notification handler: it
// must never panic, and never answer 5xx unless the enqueuer fails.
func FuzzNotifications(f *testing.F) {
	keys := testKeys(f) // the same secret as every env's, so seeds carry valid states
	for _, name := range []string{"notification-created.json", "lifecycle-missed.json", "lifecycle-reauthorization-required.json", "lifecycle-subscription-removed.json"} {
		f.Add(fixture(f, name, keys.Generate(42)), false)
		b, _ := os.ReadFile("testdata/" + name)
		f.Add(b, false)
	}
	f.Add([]byte(`{"value":[{"resource":"Users('a')/Messages('b')","changeType":"updated"}]}`), true)
	f.Add([]byte(`{"value":[null,1,"x",{},[]]}`), false)
	f.Add([]byte(`{"value":`), false)
	working := &fakeEnqueuer{}
	healthy := newEnvWith(f, working)
	broken := newEnvWith(f, &fakeEnqueuer{err: errors.New("redis down")})
	broken.keys, broken.h.d.Keys = healthy.keys, healthy.keys
	f.Fuzz(func(t *testing.T, body []byte, failing bool) {
		ev := healthy
		if failing {
			ev = broken
		}
		working.mu.Lock()
		working.tasks = working.tasks[:0]
		working.mu.Unlock()
		for _, path := range []string{PathNotifications, PathLifecycle} {
			rec := ev.do(http.MethodPost, path, body)
			switch {
			case rec.Code == http.StatusServiceUnavailable && failing:
			case rec.Code >= 500:
				t.Fatalf("POST %s %q: %d %q", path, body, rec.Code, rec.Body.String())
			case rec.Code != http.StatusAccepted && rec.Code != http.StatusBadRequest && rec.Code != http.StatusRequestEntityTooLarge:
				t.Fatalf("POST %s %q: unexpected %d", path, body, rec.Code)
			}
		}
	})
}
