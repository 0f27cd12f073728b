package app_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/dedesales/exchange-connector/internal/app"
	"github.com/dedesales/exchange-connector/internal/graphsim"
	"github.com/dedesales/exchange-connector/internal/store"
)

func TestCheckVerdicts(t *testing.T) {
	s := newStack(t, store.SQLite)
	s.start(t)
	ctx := context.Background()
	var out bytes.Buffer
	failures, err := app.Check(ctx, s.cfg, &out, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ok    token", "ok    mailbox " + anna, "ok    notification URL", "ok    document store", "FAIL  SMTP"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check output lacks %q:\n%s", want, out.String())
		}
	}
	if failures != 1 {
		t.Errorf("%d failures, want 1 (SMTP):\n%s", failures, out.String())
	}
	if strings.Contains(out.String(), "WARN") {
		t.Errorf("a warning about the 0600 master key:\n%s", out.String())
	}

	s.sim.SetFaults(graphsim.Faults{AllowedMailboxes: []string{anna}})
	s.cfg.PublicURL = "http://127.0.0.1:1" // nothing answers there
	if err := os.Chmod(s.cfg.MasterKeyFile, 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	failures, _ = app.Check(ctx, s.cfg, &out, nil)
	for _, want := range []string{"FAIL  mailbox " + peter, "FAIL  notification URL", "WARN  master key", "chmod 600"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check output lacks %q:\n%s", want, out.String())
		}
	}
	if failures != 3 { // a warning is not a failure
		t.Errorf("%d failures, want 3:\n%s", failures, out.String())
	}
}

// A mailbox Graph does not know fails the check in Graph's words; one
// entered as a mail address that is not the UPN is looked up and passes.
func TestCheckReportsMailboxNotFound(t *testing.T) {
	s := newStack(t, store.SQLite)
	s.start(t)
	ctx := context.Background()
	const julia, markus = "julia.schaefer@dedenet.de", "markus.lehmann@dedenet.de"
	if _, err := s.sim.AddUser(graphsim.UserInput{Mail: markus, UserPrincipalName: "m.lehmann@dedenet.onmicrosoft.com"}); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{julia, markus} {
		mb, err := s.st.FindMailbox(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.st.SetMailboxDisabled(ctx, mb.EmployeeID, false); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	failures, err := app.Check(ctx, s.cfg, &out, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"FAIL  mailbox " + julia + " not found in Microsoft 365: Graph says \"The requested user '" + julia + "' is invalid.\"",
		"ok    mailbox " + markus + " readable (user ",
		"ok    mailbox " + anna + " readable",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check output lacks %q:\n%s", want, out.String())
		}
	}
	if failures != 2 { // julia and SMTP
		t.Errorf("%d failures, want 2:\n%s", failures, out.String())
	}
}
