package queue

import (
	"testing"
	"time"
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
