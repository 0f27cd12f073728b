package documents

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func newTestLocal(t *testing.T) (*Local, string) {
	dir := t.TempDir()
	l, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, dir
}

func TestLocalStore(t *testing.T) {
	l, dir := newTestLocal(t)
	testStore(t, l)
	// No temporary files are left behind by the failed puts.
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if strings.HasPrefix(d.Name(), ".ecput-") {
			t.Errorf("left behind: %s", p)
		}
		return nil
	})
}

func TestLocalMtime(t *testing.T) {
	l, dir := newTestLocal(t)
	mtime := time.Date(2024, 5, 1, 9, 30, 0, 0, time.UTC)
	if err := l.Put(context.Background(), "a/b.txt", strings.NewReader("hi"), 2, mtime, ""); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "a", "b.txt"))
	if err != nil || !st.ModTime().Equal(mtime) {
		t.Errorf("mtime = %v, %v; want %v", st.ModTime(), err, mtime)
	}
}

func TestLocalTraversal(t *testing.T) {
	l, dir := newTestLocal(t)
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dir, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := l.Put(ctx, "escape/x.txt", strings.NewReader("x"), 1, time.Time{}, ""); err == nil {
		t.Errorf("Put through a symlink out of the root succeeded")
	}
	if _, _, exists, err := l.Stat(ctx, "escape/secret"); err == nil || exists {
		t.Errorf("Stat through a symlink out of the root: exists=%v err=%v", exists, err)
	}
	if err := l.Move(ctx, "escape/secret", "stolen"); err == nil {
		t.Errorf("Move from outside the root succeeded")
	}
	if rc, _, err := l.Open(ctx, "escape/secret"); err == nil {
		rc.Close()
		t.Errorf("Open through a symlink out of the root succeeded")
	}
	if err := l.MkdirAll(ctx, "escape/sub"); err == nil {
		t.Errorf("MkdirAll through a symlink out of the root succeeded")
	}
	if _, err := os.Stat(filepath.Join(outside, "x.txt")); err == nil {
		t.Errorf("a file was written outside the root")
	}
	if _, err := os.Stat(filepath.Join(outside, "sub")); err == nil {
		t.Errorf("a folder was created outside the root")
	}
	// ".." is refused before the file system is touched.
	if err := l.Put(ctx, "../x.txt", strings.NewReader("x"), 1, time.Time{}, ""); !errors.Is(err, ErrPath) {
		t.Errorf("Put(../x.txt): %v, want ErrPath", err)
	}
}

func TestClassifyOSError(t *testing.T) {
	tests := []struct {
		errno syscall.Errno
		want  error
	}{
		{syscall.ENOSPC, ErrQuota},
		{syscall.EDQUOT, ErrQuota},
		{syscall.EACCES, ErrAuth},
		{syscall.EPERM, ErrAuth},
		{syscall.ENOENT, ErrNotFound},
	}
	for _, tt := range tests {
		orig := &fs.PathError{Op: "write", Path: "x", Err: tt.errno}
		got := classifyOSError(orig)
		if !errors.Is(got, tt.want) || !errors.Is(got, tt.errno) {
			t.Errorf("classifyOSError(%v) = %v, want %v wrapping the original", tt.errno, got, tt.want)
		}
	}
	if other := classifyOSError(syscall.EIO); errors.Is(other, ErrQuota) || errors.Is(other, ErrAuth) {
		t.Errorf("EIO classified as %v", other)
	}
}

func TestStatusError(t *testing.T) {
	for code, want := range map[int]error{507: ErrQuota, 401: ErrAuth, 403: ErrAuth, 404: ErrNotFound} {
		if err := error(&StatusError{Method: "PUT", Path: "a", Code: code}); !errors.Is(err, want) {
			t.Errorf("StatusError %d is not %v", code, want)
		}
	}
	if err := error(&StatusError{Code: 500}); errors.Is(err, ErrQuota) || errors.Is(err, ErrAuth) || errors.Is(err, ErrNotFound) {
		t.Errorf("500 classified: %v", err)
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open("file://"+dir, WebDAVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*Local); !ok {
		t.Errorf("Open(file://) = %T", s)
	}
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("secret\n"), 0o600)
	s, err = Open("https://bob@cloud.example/remote.php/dav/files/bob/Kunden?password_file="+pw, WebDAVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w := s.(*WebDAV)
	if w.pass != "secret" || w.user != "bob" || w.base.String() != "https://cloud.example/remote.php/dav/files/bob/Kunden/" ||
		w.uploads.String() != "https://cloud.example/remote.php/dav/uploads/bob/" {
		t.Errorf("WebDAV = user %q base %s uploads %v", w.user, w.base.String(), w.uploads)
	}
	for _, bad := range []string{"ftp://x/y", "http://169.254.169.254/latest", "file://"} {
		if _, err := Open(bad, WebDAVOptions{}); err == nil {
			t.Errorf("Open(%q) succeeded", bad)
		}
	}
}

// Open of a folder is ErrNotFound: only files are served.
func TestLocalOpenFolder(t *testing.T) {
	l, _ := newTestLocal(t)
	ctx := context.Background()
	if err := l.MkdirAll(ctx, "a/b"); err != nil {
		t.Fatal(err)
	}
	if rc, _, err := l.Open(ctx, "a/b"); !errors.Is(err, ErrNotFound) {
		if rc != nil {
			rc.Close()
		}
		t.Errorf("Open(folder) = %v, want ErrNotFound", err)
	}
}
