package documents

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// put stores content at p or fails the test.
func put(t *testing.T, s Store, p string, content []byte) {
	t.Helper()
	if err := s.Put(context.Background(), p, bytes.NewReader(content), int64(len(content)), time.Unix(1700000000, 0), sha(content)); err != nil {
		t.Fatalf("Put(%q): %v", p, err)
	}
}

// wantFile checks that p holds content.
func wantFile(t *testing.T, s Store, p string, content []byte) {
	t.Helper()
	size, sum, exists, err := s.Stat(context.Background(), p)
	if err != nil || !exists || size != int64(len(content)) || sum != sha(content) {
		t.Errorf("Stat(%q) = %d, %s, %v, %v; want %d, %s, true", p, size, sum, exists, err, len(content), sha(content))
	}
}

// wantMissing checks that nothing is at p.
func wantMissing(t *testing.T, s Store, p string) {
	t.Helper()
	if _, _, exists, err := s.Stat(context.Background(), p); err != nil || exists {
		t.Errorf("Stat(%q): exists=%v err=%v; want missing", p, exists, err)
	}
}

// testStore is the behaviour every Store shares.
func testStore(t *testing.T, s Store) {
	ctx := context.Background()
	a, b := []byte("first content"), []byte("second, different content")
	t.Run("PutStat", func(t *testing.T) {
		p := "Kunde 1/E-Mail Attachments/2024-05-01 Angebot 100% #1/ä ö ü.pdf"
		put(t, s, p, a)
		wantFile(t, s, p, a)
		put(t, s, p, b) // overwrite
		wantFile(t, s, p, b)
		wantMissing(t, s, "Kunde 1/nope.pdf")
		if _, _, exists, err := s.Stat(ctx, "Kunde 1"); err != nil || !exists {
			t.Errorf("Stat(folder) = %v, %v", exists, err)
		}
	})
	t.Run("EmptyFile", func(t *testing.T) {
		put(t, s, "empty/zero.txt", nil)
		wantFile(t, s, "empty/zero.txt", nil)
	})
	t.Run("ChecksumMismatch", func(t *testing.T) {
		err := s.Put(ctx, "bad/sum.bin", bytes.NewReader(a), int64(len(a)), time.Time{}, sha(b))
		if !errors.Is(err, ErrChecksum) {
			t.Errorf("Put with wrong checksum: %v, want ErrChecksum", err)
		}
		wantMissing(t, s, "bad/sum.bin")
	})
	t.Run("ShortAndLong", func(t *testing.T) {
		err := s.Put(ctx, "bad/short.bin", bytes.NewReader(a), int64(len(a))+5, time.Time{}, "")
		if !errors.Is(err, ErrChecksum) {
			t.Errorf("Put of a short stream: %v, want ErrChecksum", err)
		}
		wantMissing(t, s, "bad/short.bin")
		err = s.Put(ctx, "bad/long.bin", bytes.NewReader(a), int64(len(a))-1, time.Time{}, "")
		if !errors.Is(err, ErrChecksum) {
			t.Errorf("Put of a long stream: %v, want ErrChecksum", err)
		}
		wantMissing(t, s, "bad/long.bin")
	})
	t.Run("FailingReader", func(t *testing.T) {
		boom := errors.New("graph went away")
		r := io.MultiReader(strings.NewReader("abc"), errReader{boom})
		if err := s.Put(ctx, "bad/fail.bin", r, 10, time.Time{}, ""); !errors.Is(err, boom) {
			t.Errorf("Put: %v, want %v", err, boom)
		}
		wantMissing(t, s, "bad/fail.bin")
	})
	t.Run("Move", func(t *testing.T) {
		put(t, s, "t/a.pdf", a)
		to := "t/2024-05-01 09.00 Anna/a.pdf"
		if err := s.Move(ctx, "t/a.pdf", to); err != nil {
			t.Fatalf("Move: %v", err)
		}
		wantMissing(t, s, "t/a.pdf")
		wantFile(t, s, to, a)
		if err := s.Move(ctx, "t/a.pdf", to); err != nil {
			t.Errorf("repeated Move: %v, want nil", err)
		}
		if err := s.Move(ctx, "t/none.pdf", "t/x/none.pdf"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Move of nothing: %v, want ErrNotFound", err)
		}
		// Interrupted after the copy: both exist with equal content.
		put(t, s, "t/a.pdf", a)
		if err := s.Move(ctx, "t/a.pdf", to); err != nil {
			t.Errorf("Move onto an equal file: %v", err)
		}
		wantMissing(t, s, "t/a.pdf")
		// A different file at the target is never overwritten.
		put(t, s, "t/b.pdf", b)
		if err := s.Move(ctx, "t/b.pdf", to); !errors.Is(err, ErrExists) {
			t.Errorf("Move onto a different file: %v, want ErrExists", err)
		}
		wantFile(t, s, "t/b.pdf", b)
		wantFile(t, s, to, a)
	})
	t.Run("MkdirAll", func(t *testing.T) {
		for range 2 {
			if err := s.MkdirAll(ctx, "x/y/z"); err != nil {
				t.Fatalf("MkdirAll: %v", err)
			}
		}
		if _, _, exists, err := s.Stat(ctx, "x/y/z"); err != nil || !exists {
			t.Errorf("Stat after MkdirAll = %v, %v", exists, err)
		}
	})
	t.Run("Open", func(t *testing.T) {
		p := "open/Angebot 100% ä.pdf"
		put(t, s, p, b)
		rc, size, err := s.Open(ctx, p)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		var got bytes.Buffer
		if _, err := io.Copy(&got, rc); err != nil {
			t.Fatalf("reading: %v", err)
		}
		if err := rc.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if !bytes.Equal(got.Bytes(), b) || (size != int64(len(b)) && size != -1) {
			t.Errorf("Open = %q (size %d), want %q (%d)", got.Bytes(), size, b, len(b))
		}
		if _, _, err := s.Open(ctx, "open/none.pdf"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Open of a missing file: %v, want ErrNotFound", err)
		}
		if _, _, err := s.Open(ctx, "../open/x.pdf"); !errors.Is(err, ErrPath) {
			t.Errorf("Open outside the store: %v, want ErrPath", err)
		}
	})
	t.Run("BadPaths", func(t *testing.T) {
		for _, p := range []string{"", "/", "../x", "a/../../x", "a/./b", "a//b", "..", "a/.."} {
			if err := s.Put(ctx, p, strings.NewReader("x"), 1, time.Time{}, ""); !errors.Is(err, ErrPath) {
				t.Errorf("Put(%q): %v, want ErrPath", p, err)
			}
			if _, _, _, err := s.Stat(ctx, p); !errors.Is(err, ErrPath) {
				t.Errorf("Stat(%q): %v, want ErrPath", p, err)
			}
			if err := s.Move(ctx, "a", p); !errors.Is(err, ErrPath) {
				t.Errorf("Move(a, %q): %v, want ErrPath", p, err)
			}
		}
	})
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
