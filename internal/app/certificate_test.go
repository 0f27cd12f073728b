package app_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dedesales/exchange-connector/internal/app"
	"github.com/dedesales/exchange-connector/internal/cli"
	"github.com/dedesales/exchange-connector/internal/graphsim"
	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/store"
)

// credentialsSet runs `connector credentials set --certificate-file` against
// the stack's database and master key, as an operator would.
func (s *stack) credentialsSet(t *testing.T, file string) (stdout, stderr string, code int) {
	t.Helper()
	t.Setenv("CONNECTOR_DATABASE_URL", s.cfg.DatabaseURL)
	t.Setenv("CONNECTOR_MASTER_KEY_FILE", s.cfg.MasterKeyFile)
	var out, errOut bytes.Buffer
	code = cli.Run([]string{"credentials", "set", "--tenant-id", tenantID, "--client-id", clientID, "--certificate-file", file},
		strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), code
}

// The certificate credential end to end: a self-signed certificate whose
// public part is uploaded for the app (registered in the simulator), stored
// with `connector credentials set --certificate-file`, signs the service in
// (subscriptions, syncs, a new mail imported) and passes `connector check`,
// with the client secret gone at Entra. A certificate that is not uploaded
// fails the check with Entra's AADSTS700027 explained.
func TestCertificateCredentialEndToEnd(t *testing.T) {
	s := newStack(t, store.SQLite)
	ctx := context.Background()
	dir := t.TempDir()
	certPEM, keyPEM, err := graphsim.NewAppCertificate("exchange-connector", time.Now().AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.sim.AddCertificate(graphsim.CertificateInput{PEM: string(certPEM)}); err != nil {
		t.Fatal(err)
	}
	if err := s.sim.RemoveSecret(secretV); err != nil { // only the certificate can sign in now
		t.Fatal(err)
	}
	good := filepath.Join(dir, "connector.pem")
	if err := os.WriteFile(good, append(append([]byte{}, certPEM...), keyPEM...), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := s.credentialsSet(t, good); code != 0 || !strings.Contains(out, "certificate ") {
		t.Fatalf("credentials set --certificate-file: exit %d\n%s%s", code, out, errOut)
	}

	s.start(t) // subscriptions created and first syncs done: signed in with the certificate
	msg, err := s.sim.CreateMessage(graphsim.MessageInput{Mailbox: anna, Folder: "inbox",
		Message: map[string]any{"subject": "Zertifikat funktioniert", "from": from("sabine.schulz@schulz-technik.com"), "toRecipients": to(anna)}})
	if err != nil {
		t.Fatal(err)
	}
	if d := s.decision(t, msg.ID); d.Outcome != match.OutcomeImported {
		t.Errorf("the new mail, read with the certificate's token: %+v", d)
	}
	var out bytes.Buffer
	if _, err := app.Check(ctx, s.cfg, &out, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "ok    token") {
		t.Errorf("connector check with a certificate:\n%s", out.String())
	}
	creds, err := s.st.ActiveCredentials(ctx)
	if err != nil || len(creds) != 1 || !creds[0].IsCertificate() || creds[0].LastOKAt == nil || creds[0].LastError != "" {
		t.Errorf("stored credentials: %+v, %v", creds, err)
	}

	// A certificate that was never uploaded: a clear failure, no token.
	otherCert, otherKey, err := graphsim.NewAppCertificate("not uploaded", time.Now().AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "other.pem")
	if err := os.WriteFile(bad, append(append([]byte{}, otherCert...), otherKey...), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := s.credentialsSet(t, bad); code != 0 {
		t.Fatalf("credentials set (other certificate): %s", errOut)
	}
	out.Reset()
	failures, _ := app.Check(ctx, s.cfg, &out, nil)
	if failures == 0 || !strings.Contains(out.String(), "FAIL  token") || !strings.Contains(out.String(), "AADSTS700027") {
		t.Errorf("connector check with a certificate that is not uploaded:\n%s", out.String())
	}
}
