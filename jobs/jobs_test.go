package jobs

import (
	"errors"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/documents"
	"github.com/dedesales/exchange-connector/internal/grapherr"
)

func TestProcessMessageTaskIDs(t *testing.T) {
	base := ProcessMessagePayload{EmployeeID: 1, MessageID: "AAMk1", ETag: `W/"a"`, SubscriptionID: "s1", NotifiedAt: time.Now()}
	id := func(p ProcessMessagePayload) string { return p.taskID() }
	redelivered := base
	redelivered.SubscriptionID, redelivered.NotifiedAt = "s2", base.NotifiedAt.Add(time.Minute)
	changed := base
	changed.ETag = `W/"b"`
	other := base
	other.EmployeeID = 2
	if id(base) != id(redelivered) {
		t.Error("a redelivered notification gets a new task ID")
	}
	if id(base) == id(changed) || id(base) == id(other) {
		t.Error("a changed message, or another mailbox, shares the task ID")
	}
}

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
		{throttled, 42 * time.Second},
		{&grapherr.Error{Kind: grapherr.ErrNotFound, Op: "x"}, 20 * time.Second},
		{documents.ErrAuth, 10 * time.Minute},
	} {
		if got := RetryDelay(1, tc.err, task); got != tc.want {
			t.Errorf("RetryDelay(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
