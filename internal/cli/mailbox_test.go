package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/queue"
	"github.com/dedesales/exchange-connector/internal/testenv"
)

// A resync queues one sync; asking again while it is queued (same task ID)
// succeeds too, as every other enqueue of the connector treats it.
func TestMailboxResyncQueuesASync(t *testing.T) {
	setup(t, "sqlite")
	// Both resyncs in the same minute, which is what makes their task IDs equal.
	now := time.Date(2026, 11, 29, 10, 0, 30, 0, time.UTC)
	defer func(old func() time.Time) { timeNow = old }(timeNow)
	timeNow = func() time.Time { return now }
	opt := testenv.Redis(t, testenv.RedisDBCLI)
	t.Setenv("CONNECTOR_REDIS_URL", fmt.Sprintf("redis://%s/%d", opt.Addr, opt.DB))
	mustRun(t, "import", "--crm", "crm.json")
	if out := mustRun(t, "mailbox", "resync", "--fresh", "anna.berger@dedenet.de"); !strings.Contains(out, "sync of anna.berger@dedenet.de queued") {
		t.Errorf("resync: %s", out)
	}
	if out := mustRun(t, "mailbox", "resync", "anna.berger@dedenet.de"); !strings.Contains(out, "sync of anna.berger@dedenet.de already queued") {
		t.Errorf("second resync: %s", out)
	}
	insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: opt.Addr, DB: opt.DB})
	defer insp.Close()
	pending, err := insp.ListPendingTasks(queue.QueueDefault)
	var tasks []*asynq.TaskInfo
	for _, ti := range pending { // the import queued a rematch too
		if ti.Type == queue.TypeSyncMailbox {
			tasks = append(tasks, ti)
		}
	}
	if err != nil || len(tasks) != 1 {
		t.Fatalf("pending syncs: %+v, %v", tasks, err)
	}
	var p queue.SyncMailboxPayload
	if err := json.Unmarshal(tasks[0].Payload, &p); err != nil || p.EmployeeID != 1 || p.Reason != "operator" {
		t.Errorf("payload: %+v %v", p, err)
	}
}

// A mailbox Graph does not know shows as not_found with Graph's words on
// "mailbox list --all", and not on the plain list (it is not synced).
func TestMailboxListShowsNotFound(t *testing.T) {
	setup(t, "sqlite")
	mustRun(t, "import", "--crm", "crm.json")
	st := openTestStore(t)
	const words = "graph: create subscription: user not found (404 ExtensionError): Operation: Create; Exception: [Status Code: NotFound; Reason: The requested user 'anna.berger@dedenet.de' is invalid.]"
	if err := st.MarkMailboxNotFound(context.Background(), 1, words); err != nil {
		t.Fatal(err)
	}
	if out := mustRun(t, "mailbox", "list"); strings.Contains(out, "anna.berger@dedenet.de") {
		t.Errorf("plain list shows the not-found mailbox:\n%s", out)
	}
	out := mustRun(t, "mailbox", "list", "--all")
	if !strings.Contains(out, "anna.berger@dedenet.de\t1\tAnna Berger\tnot_found\t"+words+"\n") {
		t.Errorf("list --all:\n%s", out)
	}
	// Enabling clears the mark: the upkeep tries again at once.
	mustRun(t, "mailbox", "enable", "anna.berger@dedenet.de")
	if out := mustRun(t, "mailbox", "list"); !strings.Contains(out, "anna.berger@dedenet.de\t1\tAnna Berger\tenabled\n") {
		t.Errorf("after enable:\n%s", out)
	}
}
