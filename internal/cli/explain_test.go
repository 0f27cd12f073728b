package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/dedesales/exchange-connector/internal/config"
	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/store"
)

// openTestStore opens the store the CLI uses in the test's directory.
func openTestStore(t *testing.T) *store.Store {
	t.Helper()
	cfg, err := config.Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	d, dsn, _ := cfg.Database()
	st, err := store.Open(context.Background(), d, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestReportAndExplain(t *testing.T) {
	setup(t, "sqlite")
	mustRun(t, "import", "--crm", "crm.json")
	st := openTestStore(t)
	cust, contact := int64(2), int64(5)
	_, err := st.RecordMessage(context.Background(), store.MessageRecord{EmployeeID: 1,
		Message: model.Message{ID: "AAMk-1", InternetMessageID: "<x1@mueller-bau.de>", Subject: "AW: Angebot"},
		Folder:  []model.FolderRef{{WellKnownName: "inbox", DisplayName: "Inbox"}},
		Decision: match.Decision{Outcome: match.OutcomeImported, Reason: match.ReasonMatched, Direction: match.DirectionInbound,
			Rule: match.RuleContactExact, MatchedAddress: "t.mueller@mueller-bau.de", CustomerID: &cust, ContactID: &contact,
			Candidates: []string{"t.mueller@mueller-bau.de"}},
		Note: "notification"})
	if err != nil {
		t.Fatal(err)
	}
	report := mustRun(t, "report")
	for _, want := range []string{"anna.berger@dedenet.de", "Activities: 1", "10002 Müller Bau GmbH", "imported/matched"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	out := mustRun(t, "explain", "<x1@mueller-bau.de>")
	for _, want := range []string{"AW: Angebot", "imported (a customer matched)", "contact_exact, matched t.mueller@mueller-bau.de", "customer:          2"} {
		if !strings.Contains(out, want) {
			t.Errorf("explain lacks %q:\n%s", want, out)
		}
	}
	var ds []map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, "explain", "--json", "AAMk-1")), &ds); err != nil || len(ds) != 1 || ds[0]["reason"] != "matched" {
		t.Errorf("explain --json: %v %v", ds, err)
	}
	if _, errOut, code := run(t, "", "explain", "AAMk-unknown"); code == 0 || !strings.Contains(errOut, "has not seen this message") {
		t.Errorf("unknown message: exit %d, %s", code, errOut)
	}
}
