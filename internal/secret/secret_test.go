package secret

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadOrCreateKeyCreatesPrivateFileOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "var", "master.key")
	k1, created, err := LoadOrCreateKey(path)
	if err != nil || !created {
		t.Fatalf("first LoadOrCreateKey: created=%v err=%v", created, err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode = %o, want 600", perm)
	}
	k2, created, err := LoadOrCreateKey(path)
	if err != nil || created {
		t.Fatalf("second LoadOrCreateKey: created=%v err=%v", created, err)
	}
	if k1.ID() != k2.ID() {
		t.Errorf("reloaded key ID %s, want %s", k2.ID(), k1.ID())
	}
}

func TestSealOpenRoundTrip(t *testing.T) {
	k := newTestKey(t, 1)
	sealed, err := k.Seal("s3cr3t~value", "tenant/client")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "s3cr3t") {
		t.Fatalf("sealed value contains the plaintext: %s", sealed)
	}
	got, err := k.Open(sealed, "tenant/client")
	if err != nil || got != "s3cr3t~value" {
		t.Fatalf("Open = %q, %v", got, err)
	}
}

func TestOpenErrors(t *testing.T) {
	k := newTestKey(t, 1)
	sealed, err := k.Seal("value", "ctx")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newTestKey(t, 2).Open(sealed, "ctx"); !errors.Is(err, ErrWrongKey) {
		t.Errorf("Open with another key: err = %v, want ErrWrongKey", err)
	}
	if _, err := k.Open(sealed, "other ctx"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Open with another context: err = %v, want ErrCorrupt", err)
	}
	tampered := sealed[:len(sealed)-4] + "AAA="
	if _, err := k.Open(tampered, "ctx"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Open tampered: err = %v, want ErrCorrupt", err)
	}
	for _, bad := range []string{"", "v1", "v2:x:y", "v1:" + k.ID() + ":!!"} {
		if _, err := k.Open(bad, "ctx"); err == nil {
			t.Errorf("Open(%q) succeeded", bad)
		}
	}
}

func TestKeyFileErrors(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"notbase64": "!!!", "short": "AAAA"} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, err := LoadOrCreateKey(path); err == nil {
			t.Errorf("%s: LoadOrCreateKey succeeded", name)
		}
	}
}

func TestKeyStringHidesKey(t *testing.T) {
	k := newTestKey(t, 7)
	if s := k.String(); !strings.HasPrefix(s, "master key ") || strings.Contains(s, "0707") {
		t.Errorf("String() = %q", s)
	}
}

func newTestKey(t *testing.T, fill byte) *Key {
	t.Helper()
	raw := make([]byte, KeySize)
	for i := range raw {
		raw[i] = fill
	}
	k, err := NewKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestDerive(t *testing.T) {
	a, b := newTestKey(t, 1), newTestKey(t, 2)
	if string(a.Derive("x")) == string(a.Derive("y")) || string(a.Derive("x")) == string(b.Derive("x")) || len(a.Derive("x")) != 32 {
		t.Error("derived keys do not depend on label and key")
	}
	if string(a.Derive("x")) != string(newTestKey(t, 1).Derive("x")) {
		t.Error("derivation is not deterministic")
	}
}

// Processes starting at once agree on one key.
func TestConcurrentCreationAgreesOnOneKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	ids := make(chan string, 16)
	for range 16 {
		go func() {
			k, _, err := LoadOrCreateKey(path)
			if err != nil {
				t.Error(err)
				ids <- ""
				return
			}
			ids <- k.ID()
		}()
	}
	first := <-ids
	for range 15 {
		if id := <-ids; id != first {
			t.Fatalf("two keys: %s and %s", first, id)
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}

// A master key readable by group or others is reported (security review,
// issue 14); the file the connector creates is not.
func TestCheckKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	if err := CheckKeyFile(path); err != nil {
		t.Errorf("missing file: %v", err)
	}
	if _, _, err := LoadOrCreateKey(path); err != nil {
		t.Fatal(err)
	}
	if err := CheckKeyFile(path); err != nil {
		t.Errorf("created file: %v", err)
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o660} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		err := CheckKeyFile(path)
		if !errors.Is(err, ErrKeyFileOpen) || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("mode %04o: %v", mode, err)
		}
	}
}
