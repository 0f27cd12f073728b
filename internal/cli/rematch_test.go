package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/queue"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/testenv"
	"github.com/dedesales/exchange-connector/jobs"
)

// TestRematchCommand: an import that changes master data requests a
// rematch; `rematch --dry-run` prints what now matches and queues nothing;
// `rematch` queues the import; without Redis, `settings set` says to run
// `connector rematch`.
func TestRematchCommand(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			setup(t, dialect)
			opt := testenv.Redis(t, testenv.RedisDBCLI)
			redisURL := fmt.Sprintf("redis://%s/%d", opt.Addr, opt.DB)
			t.Setenv("CONNECTOR_REDIS_URL", redisURL)
			mustRun(t, "import", "--crm", "crm.json")
			st := openTestStore(t)
			_, err := st.RecordMessage(context.Background(), store.MessageRecord{EmployeeID: 1,
				Message: model.Message{ID: "AAMk-new", InternetMessageID: "<n1@neukunde.example>", Subject: "Anfrage \x1b]0;x\a"},
				Folder:  []model.FolderRef{{WellKnownName: "inbox", DisplayName: "Inbox"}},
				Decision: match.Decision{Outcome: match.OutcomeIgnored, Reason: match.ReasonNoMatch, Direction: match.DirectionInbound,
					Candidates: []string{"anfrage@neukunde.example"}, RawCandidates: []string{"anfrage@neukunde.example"}},
				Note: "notification"})
			if err != nil {
				t.Fatal(err)
			}
			insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: opt.Addr, DB: opt.DB})
			defer insp.Close()
			if _, err := insp.DeleteAllScheduledTasks(queue.QueueDefault); err != nil {
				t.Fatal(err)
			}
			crm := `{"customers":[{"id":900,"number":"90001","name":"Neukunde AG","email":"info@neukunde.example"}]}`
			if err := os.WriteFile("new.json", []byte(crm), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, errOut, code := run(t, "", "import", "--crm", "new.json"); code != 0 || !strings.Contains(errOut, "retroactive matching queued") {
				t.Fatalf("import: exit %d, %s", code, errOut)
			}
			scheduled, err := insp.ListScheduledTasks(queue.QueueDefault)
			if err != nil || len(scheduled) != 1 || scheduled[0].Type != jobs.TypeRematch {
				t.Fatalf("scheduled after the import: %+v %v", scheduled, err)
			}
			var pl jobs.RematchPayload
			if err := json.Unmarshal(scheduled[0].Payload, &pl); err != nil || pl.Cause != "import new.json" {
				t.Errorf("payload: %+v %v", pl, err)
			}
			pending := func() int {
				tasks, err := insp.ListPendingTasks(queue.QueueDefault)
				if err != nil {
					t.Fatal(err)
				}
				return len(tasks)
			}
			want := "anna.berger@dedenet.de\tAAMk-new\t\"Anfrage \\x1b]0;x\\a\"\tno_match → customer 900 (customer_domain, anfrage@neukunde.example)\n"
			out, errOut, code := run(t, "", "rematch", "--dry-run")
			if code != 0 || out != want || !strings.Contains(errOut, "1 of 1 ignored decisions") || pending() != 0 {
				t.Errorf("rematch --dry-run: exit %d, %q, %s, %d pending", code, out, errOut, pending())
			}
			if ds, _ := st.DecisionsFor(context.Background(), "AAMk-new"); len(ds) != 1 || ds[0].Reason != match.ReasonNoMatch || len(ds[0].History) != 1 {
				t.Errorf("the dry run changed the decision: %+v", ds)
			}
			if out := mustRun(t, "rematch", "--since", "1h"); out != want || pending() != 1 {
				t.Errorf("rematch: %q, %d pending", out, pending())
			}
			// A window that ends before the decision: nothing.
			if out := mustRun(t, "rematch", "--dry-run", "--since", "1ns"); out != "" {
				t.Errorf("rematch --since 1ns: %q", out)
			}
			t.Setenv("CONNECTOR_REDIS_URL", "redis://127.0.0.1:1/0")
			if _, errOut, code := run(t, "", "settings", "set", "ignored_domains", "[]"); code != 0 || !strings.Contains(errOut, "run `connector rematch`") {
				t.Errorf("settings set without Redis: exit %d, %s", code, errOut)
			}
		})
	}
}
