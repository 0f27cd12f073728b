package jobs

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/documents"
	"github.com/dedesales/exchange-connector/internal/grapherr"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/store"
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

func TestConsideredFolders(t *testing.T) {
	f := func(id, parent, wk, name string, hidden bool) store.Folder {
		return store.Folder{MailFolder: model.MailFolder{ID: id, ParentID: parent, WellKnownName: wk, DisplayName: name, Hidden: hidden}}
	}
	tree := []store.Folder{
		f("root", "", "msgfolderroot", "", false),
		f("in", "root", "inbox", "Inbox", false),
		f("in-sub", "in", "", "Kunden", false),
		f("sent", "root", "sentitems", "Sent Items", false),
		f("junk", "root", "junkemail", "Junk", false),
		f("junk-sub", "junk", "", "Alt", false),
		f("del", "root", "deleteditems", "Deleted", false),
		f("user", "root", "", "Projekte", false),
		f("user-sub", "user", "", "2026", false),
		f("sys", "root", "", "Conversation Action Settings", true),
		f("orphan", "gone", "", "?", false),
	}
	var got []string
	for _, c := range considered(tree) {
		got = append(got, c.ID)
	}
	want := []string{"in", "in-sub", "sent", "user", "user-sub"}
	if !slices.Equal(got, want) {
		t.Errorf("considered = %v, want %v", got, want)
	}
}
