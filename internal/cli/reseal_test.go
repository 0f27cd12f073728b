package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dedesales/exchange-connector/internal/secret"
)

// A master key rotation: the old key becomes a previous key, the stored
// secret still opens, `credentials reseal` moves it to the new key, and
// then the old key can go.
func TestMasterKeyRotation(t *testing.T) {
	dir := setup(t, "sqlite")
	mustRun(t, "migrate")
	out, errOut, code := run(t, "Xy8Q~very.secret-value_123\n", "credentials", "set", "--tenant-id", "84bd8158-6d4d-4958-8b9f-9d6445542f95",
		"--client-id", "11111111-2222-3333-4444-555555555555", "--secret-file", "-")
	if code != 0 {
		t.Fatalf("credentials set: %s%s", out, errOut)
	}
	keyFile, oldFile := filepath.Join(dir, "var", "master.key"), filepath.Join(dir, "var", "master.key.old")
	if err := os.Rename(keyFile, oldFile); err != nil {
		t.Fatal(err)
	}
	if _, _, err := secret.LoadOrCreateKey(keyFile); err != nil {
		t.Fatal(err)
	}

	if out, _, code := run(t, "", "credentials", "show"); code == 0 || !strings.Contains(out, "CANNOT BE DECRYPTED") {
		t.Errorf("without the previous key: exit %d\n%s", code, out)
	}
	t.Setenv("CONNECTOR_PREVIOUS_MASTER_KEY_FILES", oldFile)
	if out := mustRun(t, "credentials", "show"); !strings.Contains(out, "sealed under a previous master key; run `connector credentials reseal`") {
		t.Errorf("with the previous key:\n%s", out)
	}
	if out := mustRun(t, "credentials", "reseal"); !strings.Contains(out, "1 of 1 active credentials resealed") {
		t.Errorf("reseal:\n%s", out)
	}
	if out := mustRun(t, "credentials", "reseal"); !strings.Contains(out, "0 of 1 active credentials resealed") {
		t.Errorf("second reseal:\n%s", out)
	}
	t.Setenv("CONNECTOR_PREVIOUS_MASTER_KEY_FILES", "")
	if out := mustRun(t, "credentials", "show"); !strings.Contains(out, "decrypts with master key") || strings.Contains(out, "previous") {
		t.Errorf("after reseal, without the previous key:\n%s", out)
	}
}
