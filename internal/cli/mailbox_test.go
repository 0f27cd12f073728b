package cli

import (
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
