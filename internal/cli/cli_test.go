package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// run executes the CLI in the test's working directory and environment.
func run(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Run(args, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), code
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := run(t, "", args...)
	if code != 0 {
		t.Fatalf("connector %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
	}
	return out
}

// setup gives each test a working directory holding the demo CRM and a
// database of the dialect.
func setup(t *testing.T, dialect string) string {
	crm, err := os.ReadFile("../../configs/demo/crm.json")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile("crm.json", crm, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "CONNECTOR_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	if dialect == "postgres" {
		t.Setenv("CONNECTOR_DATABASE_URL", storetest.CreatePostgresDB(t))
	}
	return dir
}

// latestMigration is the number of the newest migration file, the version
// that migrate must reach.
func latestMigration(t *testing.T) int {
	t.Helper()
	files, err := filepath.Glob("../store/migrations/sqlite/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations found: %v", err)
	}
	n, err := strconv.Atoi(strings.SplitN(filepath.Base(files[len(files)-1]), "_", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestOperatorWorkflow(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			latest := latestMigration(t) // before setup leaves the package directory
			dir := setup(t, dialect)
			if out := mustRun(t, "migrate"); !strings.Contains(out, fmt.Sprintf("version %d (%s)", latest, dialect)) {
				t.Errorf("migrate: %s", out)
			}
			out := mustRun(t, "import", "--crm", "crm.json")
			if !strings.Contains(out, "customers:     48 new, 0 updated, 0 unchanged") {
				t.Errorf("first import:\n%s", out)
			}
			out = mustRun(t, "import", "--crm", "crm.json")
			if strings.Contains(out, " new, 1") || !strings.Contains(out, "customers:     0 new, 0 updated, 48 unchanged") {
				t.Errorf("second import changed something:\n%s", out)
			}
			lines := strings.Split(strings.TrimSpace(mustRun(t, "mailbox", "list")), "\n")
			if len(lines) != 5 || !strings.HasPrefix(lines[0], "anna.berger@dedenet.de\t1\tAnna Berger\tenabled") {
				t.Errorf("mailbox list:\n%s", strings.Join(lines, "\n"))
			}
			mustRun(t, "mailbox", "disable", "anna.berger@dedenet.de")
			if n := strings.Count(mustRun(t, "mailbox", "list"), "\n"); n != 4 {
				t.Errorf("after disable: %d mailboxes listed, want 4", n)
			}
			mustRun(t, "mailbox", "enable", "1")
			if n := strings.Count(mustRun(t, "mailbox", "list"), "\n"); n != 5 {
				t.Errorf("after enable: %d mailboxes listed, want 5", n)
			}
			if out := mustRun(t, "settings", "set", "backfill_days", "14"); out != "backfill_days=14\n" {
				t.Errorf("settings set: %q", out)
			}
			if out := mustRun(t, "settings", "get", "backfill_days"); out != "14\n" {
				t.Errorf("settings get: %q", out)
			}
			if _, errOut, code := run(t, "", "settings", "set", "backfill_days", "viele"); code == 0 || !strings.Contains(errOut, "backfill_days") {
				t.Errorf("bad setting: exit %d, %s", code, errOut)
			}

			const secretValue = "Xy8Q~very.secret-value_123"
			out, errOut, code := run(t, secretValue+"\n", "credentials", "set", "--tenant-id", "84bd8158-6d4d-4958-8b9f-9d6445542f95",
				"--client-id", "11111111-2222-3333-4444-555555555555", "--secret-file", "-", "--expires", "2027-03-01")
			if code != 0 {
				t.Fatalf("credentials set: %s", errOut)
			}
			if !strings.Contains(errOut, "created a new master key") {
				t.Errorf("no notice of the new master key: %s", errOut)
			}
			info, err := os.Stat(filepath.Join(dir, "var", "master.key"))
			if err != nil || info.Mode().Perm() != 0o600 {
				t.Errorf("master key file: %v %v", info, err)
			}
			show := mustRun(t, "credentials", "show")
			for _, want := range []string{"84bd8158-6d4d-4958-8b9f-9d6445542f95", "11111111-2222-3333-4444-555555555555", "Xy8…", "2027-03-01"} {
				if !strings.Contains(show, want) {
					t.Errorf("credentials show lacks %q:\n%s", want, show)
				}
			}
			for _, leaked := range []string{out, show, errOut, mustRun(t, "config", "show")} {
				if strings.Contains(leaked, "very.secret") {
					t.Errorf("the secret was printed:\n%s", leaked)
				}
			}
			if dialect == "sqlite" {
				db, _ := os.ReadFile(filepath.Join(dir, "var", "connector.db"))
				if bytes.Contains(db, []byte("very.secret")) {
					t.Error("the secret is stored in clear text")
				}
			}

			// Rotation keeps the old secret usable: two active credentials, newest first.
			os.WriteFile("new.txt", []byte("New~secret.2027"), 0o600)
			mustRun(t, "credentials", "rotate", "--secret-file", "new.txt", "--expires", "2027-11-01")
			show = mustRun(t, "credentials", "show")
			if strings.Count(show, "credential ") != 2 || strings.Index(show, "New…") > strings.Index(show, "Xy8…") {
				t.Errorf("after rotate:\n%s", show)
			}

			if _, errOut, code := run(t, "", "credentials", "remove", "99"); code == 0 || !strings.Contains(errOut, "no active credential 99") {
				t.Errorf("remove unknown: %s", errOut)
			}
			mustRun(t, "credentials", "remove", "1")
			show = mustRun(t, "credentials", "show")
			if strings.Count(show, "credential ") != 1 || strings.Contains(show, "Xy8…") {
				t.Errorf("after remove:\n%s", show)
			}
			if _, errOut, code := run(t, "", "credentials", "remove", "2"); code == 0 || !strings.Contains(errOut, "only active credential") {
				t.Errorf("removing the last credential: %s", errOut)
			}

			// Another master key: a clear error, not garbage.
			if err := os.Rename("var/master.key", "var/master.key.bak"); err != nil {
				t.Fatal(err)
			}
			t.Setenv("CONNECTOR_MASTER_KEY_FILE", filepath.Join(dir, "other.key"))
			os.WriteFile("s.txt", []byte("abc"), 0o600)
			mustRun(t, "credentials", "set", "--tenant-id", "contoso.onmicrosoft.com", "--client-id", "11111111-2222-3333-4444-555555555555", "--secret-file", "s.txt")
			t.Setenv("CONNECTOR_MASTER_KEY_FILE", filepath.Join(dir, "var", "master.key.bak"))
			_, errOut, code = run(t, "", "credentials", "show")
			if code == 0 || !strings.Contains(errOut, "sealed under a different master key") || strings.Count(errOut, "\n") != 1 {
				t.Errorf("wrong master key: exit %d, stderr %q", code, errOut)
			}
		})
	}
}

func TestErrorsAreOneLineAndNonZero(t *testing.T) {
	setup(t, "sqlite")
	os.WriteFile("bad.json", []byte(`{"customers":[{"id":1,"name":"A","email":"nope"}]}`), 0o600)
	for _, args := range [][]string{
		{"import", "--crm", "missing.json"},
		{"import", "--crm", "bad.json"},
		{"import"},
		{"mailbox", "enable", "nobody@nowhere.de"},
		{"settings", "get", "no_such_setting"},
		{"credentials", "set", "--tenant-id", "t", "--client-id", "c", "--secret-file", "x"},
		{"credentials", "show"},
		{"no-such-command"},
	} {
		_, errOut, code := run(t, "", args...)
		if code == 0 || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "connector: ") {
			t.Errorf("connector %s: exit %d, stderr %q", strings.Join(args, " "), code, errOut)
		}
	}
	if _, errOut, _ := run(t, "", "import", "--crm", "bad.json"); !strings.Contains(errOut, `customers[0] (id 1): email "nope": not an e-mail address`) {
		t.Errorf("bad file: %s", errOut)
	}
	t.Setenv("CONNECTOR_DATABASE_URL", "mysql://x")
	if _, errOut, code := run(t, "", "migrate"); code == 0 || !strings.Contains(errOut, "database_url (CONNECTOR_DATABASE_URL)") {
		t.Errorf("bad config: exit %d, %s", code, errOut)
	}
}
