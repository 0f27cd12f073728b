package clientstate

import (
	"math"
	"strings"
	"testing"
)

func mustKeys(t testing.TB, current string, previous ...string) Keys {
	t.Helper()
	var prev [][]byte
	for _, p := range previous {
		prev = append(prev, []byte(p))
	}
	k, err := NewKeys([]byte(current), prev...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

const (
	secretA = "master-secret-A-0123456789abcdef"
	secretB = "master-secret-B-0123456789abcdef"
	secretC = "master-secret-C-0123456789abcdef"
)

func TestRoundTrip(t *testing.T) {
	k := mustKeys(t, secretA)
	for _, id := range []int64{0, 1, 42, 1 << 40, math.MaxInt64, math.MinInt64, -7} {
		s := k.Generate(id)
		if len(s) > MaxLen {
			t.Errorf("Generate(%d) is %d characters, want ≤ %d", id, len(s), MaxLen)
		}
		if strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != "" {
			t.Errorf("Generate(%d) = %q has characters that are not URL-safe", id, s)
		}
		got, ok := k.Verify(s)
		if !ok || got != id {
			t.Errorf("Verify(Generate(%d)) = %d, %v", id, got, ok)
		}
	}
	if a, b := k.Generate(1), k.Generate(1); a == b {
		t.Errorf("two states for one employee are equal: %q", a)
	}
}

func TestRejects(t *testing.T) {
	k := mustKeys(t, secretA)
	other := mustKeys(t, secretB)
	good := k.Generate(42)
	i := strings.LastIndexByte(good, '.')
	flip := func(s string, at int) string {
		b := []byte(s)
		if b[at] == 'A' {
			b[at] = 'B'
		} else {
			b[at] = 'A'
		}
		return string(b)
	}
	tests := []struct {
		name  string
		state string
	}{
		{"empty", ""},
		{"placeholder", "REPLACE-WITH-THE-SUBSCRIPTION-CLIENT-STATE"},
		{"other key", other.Generate(42)},
		{"truncated by one", good[:len(good)-1]},
		{"truncated mac", good[:i+5]},
		{"no mac", good[:i]},
		{"mac only", good[i+1:]},
		{"altered mac", flip(good, len(good)-2)},
		{"altered nonce", flip(good, i-3)},
		{"altered employee", strings.Replace(good, ".42.", ".43.", 1)},
		{"leading zero employee", strings.Replace(good, ".42.", ".042.", 1)},
		{"plus employee", strings.Replace(good, ".42.", ".+42.", 1)},
		{"other version", "v2" + good[2:]},
		{"appended", good + "A"},
		{"appended segment", good + ".AAAA"},
		{"too long", good + strings.Repeat("A", MaxLen)},
		{"padded mac", good + "=="},
		{"spaces", " " + good},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if id, ok := k.Verify(tt.state); ok {
				t.Errorf("Verify(%q) = %d, true; want false", tt.state, id)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	old := mustKeys(t, secretA)
	rotated := mustKeys(t, secretB, secretA)
	retired := mustKeys(t, secretB)
	fromOld := old.Generate(7)
	fromNew := rotated.Generate(8)

	if id, ok := rotated.Verify(fromOld); !ok || id != 7 {
		t.Errorf("rotated keys reject a state of the previous key: %d, %v", id, ok)
	}
	if id, ok := rotated.Verify(fromNew); !ok || id != 8 {
		t.Errorf("rotated keys reject their own state: %d, %v", id, ok)
	}
	if _, ok := old.Verify(fromNew); ok {
		t.Error("old keys accept a state of the new key")
	}
	if _, ok := retired.Verify(fromOld); ok {
		t.Error("a key dropped from the previous list is still accepted")
	}
	if _, ok := mustKeys(t, secretC, secretB).Verify(fromOld); ok {
		t.Error("unrelated keys accept the state")
	}
}

func TestNewKeysRejectsShortSecrets(t *testing.T) {
	if _, err := NewKeys([]byte("short")); err == nil {
		t.Error("NewKeys accepted a 5-byte current secret")
	}
	if _, err := NewKeys([]byte(secretA), []byte("short")); err == nil {
		t.Error("NewKeys accepted a 5-byte previous secret")
	}
}

func TestDeriveKeyDiffersFromSecret(t *testing.T) {
	k1, err := DeriveKey([]byte(secretA))
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := DeriveKey([]byte(secretA))
	k3, _ := DeriveKey([]byte(secretB))
	if string(k1) != string(k2) {
		t.Error("DeriveKey is not deterministic")
	}
	if string(k1) == string(k3) || string(k1) == secretA {
		t.Error("DeriveKey does not separate secrets")
	}
}

func TestZeroKeys(t *testing.T) {
	var zero Keys
	if _, ok := zero.Verify(mustKeys(t, secretA).Generate(1)); ok {
		t.Error("zero Keys accepted a state")
	}
	defer func() {
		if recover() == nil {
			t.Error("Generate on zero Keys did not panic")
		}
	}()
	zero.Generate(1)
}

func FuzzVerify(f *testing.F) {
	k := mustKeys(f, secretB, secretA)
	f.Add(k.Generate(1))
	f.Add(mustKeys(f, secretA).Generate(99))
	f.Add("v1.1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA")
	f.Add("")
	f.Add("v1..")
	f.Fuzz(func(t *testing.T, s string) {
		id, ok := k.Verify(s)
		if !ok {
			return
		}
		// Anything accepted must be a state we could have generated.
		if len(s) > MaxLen || !strings.HasPrefix(s, "v1.") {
			t.Fatalf("Verify(%q) = %d, true", s, id)
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	k := mustKeys(b, secretB, secretA)
	s := k.Generate(12345)
	for b.Loop() {
		if _, ok := k.Verify(s); !ok {
			b.Fatal("rejected")
		}
	}
}
