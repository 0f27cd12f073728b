package jobs

import (
	"errors"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/documents"
	"github.com/dedesales/exchange-connector/internal/grapherr"
)

func TestRetryPolicy(t *testing.T) {
	throttled := &grapherr.Error{Kind: grapherr.ErrThrottled, Op: "x", RetryAfter: 42 * time.Second}
	if IsFailure(throttled) || !IsFailure(errors.New("boom")) {
		t.Error("IsFailure: throttling must not count, other errors must")
	}
	task := asynq.NewTask("x", nil)
	for _, tc := range []struct {
		err  error
		want time.Duration
	}{
		{throttled, 43 * time.Second}, // whole seconds plus one: asynq truncates the retry time
		{&grapherr.Error{Kind: grapherr.ErrNotFound, Op: "x"}, 20 * time.Second},
		{documents.ErrAuth, 10 * time.Minute},
	} {
		if got := RetryDelay(1, tc.err, task); got != tc.want {
			t.Errorf("RetryDelay(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
