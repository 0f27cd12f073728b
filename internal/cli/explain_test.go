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

// A subject from mail must not drive the operator's terminal: escape
// sequences that retitle (OSC 0) and clear it (CSI 2J), and a right-to-left
// override, are printed escaped (security review, issue 14).
func TestExplainEscapesTerminalControls(t *testing.T) {
	setup(t, "sqlite")
	mustRun(t, "import", "--crm", "crm.json")
	st := openTestStore(t)
	hostile := "\x1b]0;pwned\x07\x1b[2JRechnung\u202efdp.exe\r\x9b31m"
	_, err := st.RecordMessage(context.Background(), store.MessageRecord{EmployeeID: 1,
		Message:  model.Message{ID: "AAMk-evil", InternetMessageID: "<evil@example.com>", Subject: hostile},
		Folder:   []model.FolderRef{{WellKnownName: "inbox", DisplayName: "Inbox\x1b[8m"}},
		Decision: match.Decision{Outcome: match.OutcomeIgnored, Reason: match.ReasonNoMatch, Candidates: []string{"x@example.com"}},
		Note:     "notification"})
	if err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, "explain", "AAMk-evil")
	if i := strings.IndexFunc(out, func(r rune) bool { return r != '\n' && unsafeRune(r) }); i >= 0 {
		t.Errorf("explain prints %q raw:\n%q", out[i:i+1], out)
	}
	for _, want := range []string{`\x1b]0;pwned\x07\x1b[2JRechnung\u202efdp.exe\x0d\x9b31m`, `Inbox\x1b[8m`} {
		if !strings.Contains(out, want) {
			t.Errorf("explain lacks %s:\n%s", want, out)
		}
	}
	if _, errOut, code := run(t, "", "mailbox", "enable", "\x1b[2Jnobody"); code == 0 || strings.ContainsRune(errOut, 0x1b) {
		t.Errorf("an error line carries the raw escape: exit %d, %q", code, errOut)
	}
}

func TestTermSafe(t *testing.T) {
	for in, want := range map[string]string{
		"AW: Angebot Müller":   "AW: Angebot Müller",
		"a\tb\nc":              `a\x09b\x0ac`,
		"\x1b[2J":              `\x1b[2J`,
		"bell\x07 del\x7f":     `bell\x07 del\x7f`,
		"x\u200by\ufeff\u2066": `x\u200by\ufeff\u2066`,
		"line\u2028sep":        `line\u2028sep`,
		"bad \xff utf-8":       `bad \xff utf-8`,
	} {
		if got := termSafe(in); got != want {
			t.Errorf("termSafe(%q) = %q, want %q", in, got, want)
		}
	}
	if got := termSafeText("one\x1b\ntwo\n"); got != "one\\x1b\ntwo\n" {
		t.Errorf("termSafeText = %q", got)
	}
}
