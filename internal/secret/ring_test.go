package secret

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// During a master key rotation, values sealed under the previous key still
// open (and say so), values under an unknown key do not, and derived keys
// come from every key of the ring.
func TestRingOpensWithPreviousKeys(t *testing.T) {
	dir := t.TempDir()
	oldFile, newFile, otherFile := filepath.Join(dir, "old.key"), filepath.Join(dir, "new.key"), filepath.Join(dir, "other.key")
	old, _, err := LoadOrCreateKey(oldFile)
	if err != nil {
		t.Fatal(err)
	}
	cur, _, _ := LoadOrCreateKey(newFile)
	other, _, _ := LoadOrCreateKey(otherFile)
	sealedOld, _ := old.Seal("old secret", "ctx")
	sealedNew, _ := cur.Seal("new secret", "ctx")
	sealedOther, _ := other.Seal("other secret", "ctx")

	ring, err := LoadRing(cur, []string{oldFile})
	if err != nil {
		t.Fatal(err)
	}
	if v, rotated, err := ring.Open(sealedNew, "ctx"); v != "new secret" || rotated || err != nil {
		t.Errorf("current key: %q, %v, %v", v, rotated, err)
	}
	if v, rotated, err := ring.Open(sealedOld, "ctx"); v != "old secret" || !rotated || err != nil {
		t.Errorf("previous key: %q, %v, %v", v, rotated, err)
	}
	if _, _, err := ring.Open(sealedOld, "another context"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("previous key, wrong context: %v, want ErrCorrupt", err)
	}
	if _, _, err := ring.Open(sealedOther, "ctx"); !errors.Is(err, ErrWrongKey) || !strings.Contains(err.Error(), cur.ID()) {
		t.Errorf("unknown key: %v, want ErrWrongKey naming the current key", err)
	}
	if _, _, err := (Ring{Current: cur}).Open(sealedOld, "ctx"); !errors.Is(err, ErrWrongKey) {
		t.Errorf("without the previous key: %v", err)
	}

	c, prev := ring.Derive("clientstate")
	if !bytes.Equal(c, cur.Derive("clientstate")) || len(prev) != 1 || !bytes.Equal(prev[0], old.Derive("clientstate")) {
		t.Error("Derive does not derive from the current key first, then the previous ones")
	}

	if _, err := LoadRing(cur, []string{newFile}); err == nil || !strings.Contains(err.Error(), "holds the current master key") {
		t.Errorf("the current key as previous: %v", err)
	}
	if _, err := LoadRing(cur, []string{filepath.Join(dir, "missing.key")}); err == nil {
		t.Error("a missing previous key file was accepted")
	}
}
