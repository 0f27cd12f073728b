package crmhook_test

import (
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/crmhook"
)

// TestBackoffSpansADay: the retries of a delivery grow exponentially, are
// at most about an hour apart, and together last more than 24 hours.
func TestBackoffSpansADay(t *testing.T) {
	for range 20 { // the jitter is random; every draw must hold
		var total time.Duration
		prev := time.Duration(0)
		for n := range crmhook.MaxRetry {
			d := crmhook.Backoff(n)
			if d < 10*time.Second || d > time.Hour+6*time.Minute {
				t.Fatalf("Backoff(%d) = %s; want between 10s and 1h (+10%%)", n, d)
			}
			if n < 8 && d < prev {
				t.Fatalf("Backoff(%d) = %s shrinks from %s", n, d, prev)
			}
			prev = d
			total += d
		}
		if total < 24*time.Hour || total > 36*time.Hour {
			t.Fatalf("the retries span %s; want more than 24 h (and not days more)", total)
		}
	}
	task := asynq.NewTask(crmhook.TypeDeliver, nil)
	if d, ok := crmhook.RetryDelay(3, nil, task); !ok || d < 80*time.Second || d > 89*time.Second {
		t.Errorf("RetryDelay(3) of a delivery = %s, %v; want 80 s + jitter", d, ok)
	}
	if _, ok := crmhook.RetryDelay(3, nil, asynq.NewTask("message:process", nil)); ok {
		t.Error("RetryDelay claims another task type")
	}
}
