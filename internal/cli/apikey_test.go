package cli

import (
	"regexp"
	"strings"
	"testing"
)

func TestAPIKeyCommands(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			setup(t, dialect)
			if out, errOut, code := run(t, "", "apikey", "list"); code != 0 || out != "" || !strings.Contains(errOut, "the API is off") {
				t.Errorf("list without keys: exit %d, %q, %q", code, out, errOut)
			}
			out, errOut, code := run(t, "", "apikey", "create", "--name", "crm", "--scope", "write")
			if code != 0 || !regexp.MustCompile(`^dcx_[a-z2-7]{52}\n$`).MatchString(out) {
				t.Fatalf("create: exit %d, stdout %q (want the token alone), stderr %s", code, out, errOut)
			}
			token := strings.TrimSpace(out)
			if !strings.Contains(errOut, `"crm"`) || !strings.Contains(errOut, token[:12]) || strings.Contains(errOut, token) {
				t.Errorf("create: details on stderr should name the key and its prefix, not the token: %q", errOut)
			}
			mustRun(t, "apikey", "create", "--name", "reporting", "--scope", "read")
			for _, args := range [][]string{
				{"apikey", "create", "--name", "crm", "--scope", "read"},
				{"apikey", "create", "--name", "x", "--scope", "admin"},
				{"apikey", "create", "--scope", "read"},
				{"apikey", "revoke", "nobody"},
			} {
				if out, errOut, code := run(t, "", args...); code == 0 || out != "" || strings.Count(errOut, "\n") != 1 {
					t.Errorf("%s: exit %d, stdout %q, stderr %q; want one error line", strings.Join(args, " "), code, out, errOut)
				}
			}
			mustRun(t, "apikey", "revoke", "reporting")
			lines := strings.Split(strings.TrimSpace(mustRun(t, "apikey", "list")), "\n")
			if len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME") {
				t.Fatalf("list:\n%s", strings.Join(lines, "\n"))
			}
			crm, reporting := strings.Fields(lines[1]), strings.Fields(lines[2])
			if crm[0] != "crm" || crm[1] != "write" || crm[2] != token[:12] || crm[len(crm)-1] != "-" || crm[len(crm)-2] != "-" {
				t.Errorf("crm key listed as %q", lines[1])
			}
			if reporting[0] != "reporting" || reporting[1] != "read" || reporting[len(reporting)-1] == "-" {
				t.Errorf("revoked key listed as %q", lines[2])
			}
			if strings.Contains(strings.Join(lines, "\n"), token) {
				t.Error("list shows the token")
			}
		})
	}
}

// A typo in the customer-folder template fails at `settings set`.
func TestSettingsSetValidatesTheTemplate(t *testing.T) {
	setup(t, "sqlite")
	if _, errOut, code := run(t, "", "settings", "set", "documents_customer_folder", "{nmuber}"); code == 0 || !strings.Contains(errOut, "unknown placeholder {nmuber}") {
		t.Errorf("typo: exit %d, %s", code, errOut)
	}
	if out := mustRun(t, "settings", "set", "documents_customer_folder", "Kunden/{number} {name}"); out != "documents_customer_folder=\"Kunden/{number} {name}\"\n" {
		t.Errorf("valid template: %q", out)
	}
}
