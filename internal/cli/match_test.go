package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMatchCommand(t *testing.T) {
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	crm := abs("../../configs/demo/crm.json")
	cases := map[string]map[string]any{
		// The X.500 sender is the owner (0x5D01); the free-mail recipient is
		// customer 3's full address, which beats schulz-technik's domain.
		"testdata/case-sent-x500.json": {
			"outcome": "imported", "reason": "matched", "direction": "outbound", "rule": "customer_full_address",
			"matched_address": "jonas.weber@gmx.de", "customer_id": 3.0, "contact_id": nil, "lead_id": 6.0, "opportunity_id": nil,
			"ambiguous": false, "candidates": []any{"jonas.weber@gmx.de", "service@schulz-technik.com"},
			"normalized_subject": "Termin Inbetriebnahme",
		},
		"testdata/case-inbound-contact.json": {
			"outcome": "imported", "reason": "matched", "direction": "inbound", "rule": "contact_exact",
			"matched_address": "t.mueller@mueller-bau.de", "customer_id": 2.0, "contact_id": 5.0, "lead_id": 4.0, "opportunity_id": 3.0,
			"ambiguous": false, "candidates": []any{"t.mueller@mueller-bau.de"},
			"normalized_subject": "Angebot Dachsanierung",
		},
	}
	for path, want := range cases {
		t.Run(filepath.Base(path), func(t *testing.T) {
			out, errOut, code := run(t, "", "match", "--crm", crm, "--case", abs(path))
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, out)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("mismatch (-want +got)\n%s", diff)
			}
		})
	}
}

func TestMatchCommandErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	crm, _ := filepath.Abs("../../configs/demo/crm.json")
	good := `{"mailbox":"a@dedenet.de","folder":[],"message":{"id":"1"}}`
	for name, tc := range map[string]struct {
		crm, kase, want string
	}{
		"truncated case":  {crm, write("c1.json", `{"mailbox":`), "malformed case"},
		"no message":      {crm, write("c2.json", `{"mailbox":"a@b.de"}`), "message: missing"},
		"bad mailbox":     {crm, write("c3.json", `{"mailbox":"nobody","message":{}}`), `mailbox "nobody": not an e-mail address`},
		"missing case":    {crm, filepath.Join(dir, "none.json"), "cannot read"},
		"bad crm":         {write("crm1.json", `{"customers":[{"id":1}]}`), write("c4.json", good), "customers[0] (id 1): name: must not be empty"},
		"bad crm setting": {write("crm2.json", `{"settings":{"backfill_days":"x"}}`), write("c5.json", good), "backfill_days"},
	} {
		t.Run(name, func(t *testing.T) {
			_, errOut, code := run(t, "", "match", "--crm", tc.crm, "--case", tc.kase)
			if code == 0 || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 1 {
				t.Errorf("exit %d, stderr %q; want a one-line error containing %q", code, errOut, tc.want)
			}
		})
	}
}

func TestSubjectCommand(t *testing.T) {
	if out := mustRun(t, "subject", "AW: WG: Angebot"); out != "Angebot\n" {
		t.Errorf("subject: %q", out)
	}
	out := mustRun(t, "subject", "--json", "RE[2]: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=")
	var got map[string]string
	if err := json.Unmarshal([]byte(out), &got); err != nil || got["base_subject"] != "Grüße" || got["key"] != "grüsse" {
		t.Errorf("subject --json: %s (%v)", out, err)
	}
}
