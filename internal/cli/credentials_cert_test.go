package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dedesales/exchange-connector/internal/graphsim"
)

// keyBody is a line from the middle of a PEM private key: if it shows up
// anywhere, the key leaked.
func keyBody(t *testing.T, keyPEM []byte) string {
	t.Helper()
	lines := strings.Split(string(keyPEM), "\n")
	if len(lines) < 5 {
		t.Fatalf("short key PEM")
	}
	return lines[3]
}

func TestCredentialsSetCertificate(t *testing.T) {
	dir := setup(t, "sqlite")
	mustRun(t, "migrate")
	notAfter := time.Now().AddDate(1, 0, 0).UTC()
	certPEM, keyPEM, err := graphsim.NewAppCertificate("exchange-connector", notAfter)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile("connector.pem", append(append([]byte{}, certPEM...), keyPEM...), 0o600)
	os.WriteFile("cert-only.pem", certPEM, 0o600)
	os.WriteFile("s.txt", []byte("Abc~first.secret"), 0o600)
	const tenant, client = "84bd8158-6d4d-4958-8b9f-9d6445542f95", "11111111-2222-3333-4444-555555555555"

	// Start with a secret, then rotate to a certificate (the move the guides recommend).
	mustRun(t, "credentials", "set", "--tenant-id", tenant, "--client-id", client, "--secret-file", "s.txt", "--expires", "2027-03-01")
	out := mustRun(t, "credentials", "rotate", "--certificate-file", "connector.pem")
	if !strings.Contains(out, "stored credential 2") || !strings.Contains(out, "certificate ") || !strings.Contains(out, notAfter.Format(time.DateOnly)) {
		t.Errorf("rotate to a certificate: %s", out)
	}
	show := mustRun(t, "credentials", "show")
	if !strings.Contains(show, "certificate: thumbprint ") || !strings.Contains(show, "secret:    Abc…") ||
		strings.Index(show, "certificate:") > strings.Index(show, "secret:") || !strings.Contains(show, notAfter.Format(time.DateOnly)) {
		t.Errorf("credentials show:\n%s", show)
	}
	secret := keyBody(t, keyPEM)
	for _, leaked := range []string{out, show} {
		if strings.Contains(leaked, secret) || strings.Contains(leaked, "PRIVATE KEY") {
			t.Errorf("the private key was printed:\n%s", leaked)
		}
	}
	db, _ := os.ReadFile(filepath.Join(dir, "var", "connector.db"))
	if bytes.Contains(db, []byte(secret)) || bytes.Contains(db, []byte("PRIVATE KEY")) {
		t.Error("the private key is stored in clear text")
	}
	// set with a certificate replaces everything; standard input works too.
	out, errOut, code := run(t, string(certPEM)+string(keyPEM), "credentials", "set", "--tenant-id", tenant, "--client-id", client, "--certificate-file", "-")
	if code != 0 || !strings.Contains(out, "certificate ") {
		t.Fatalf("set from standard input: %d %s %s", code, out, errOut)
	}
	if show := mustRun(t, "credentials", "show"); strings.Count(show, "credential ") != 1 || strings.Contains(show, "secret:") {
		t.Errorf("after set:\n%s", show)
	}

	// Bad input: one clear line, nothing stored.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--certificate-file", "cert-only.pem"}, "no private key"},
		{[]string{"--certificate-file", "missing.pem"}, "missing.pem"},
		{[]string{"--certificate-file", "connector.pem", "--secret-file", "s.txt"}, "secret-file"},
		{[]string{"--certificate-file", "connector.pem", "--expires", "2027-01-01"}, "expires"},
		{[]string{}, "certificate-file"},
	} {
		args := append([]string{"credentials", "set", "--tenant-id", tenant, "--client-id", client}, tc.args...)
		_, errOut, code := run(t, "", args...)
		if code == 0 || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("connector %s: exit %d, stderr %q, want it to name %q", strings.Join(args, " "), code, errOut, tc.want)
		}
	}
	if show := mustRun(t, "credentials", "show"); strings.Count(show, "credential ") != 1 {
		t.Errorf("a refused credential was stored:\n%s", show)
	}
}
