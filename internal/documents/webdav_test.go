package documents

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// newFakeStore returns a WebDAV store on a fresh ncFake.
func newFakeStore(t testing.TB, opts WebDAVOptions) (*WebDAV, *ncFake) {
	f := newNCFake(t)
	s, err := Open(f.url(f.pass, "Kunden"), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s.(*WebDAV), f
}

func TestWebDAVNextcloudFake(t *testing.T) {
	s, _ := newFakeStore(t, WebDAVOptions{})
	testStore(t, s)
}

func TestWebDAVRclone(t *testing.T) {
	base := rcloneURL(t)
	s, err := Open(base, WebDAVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	testStore(t, s)
}

func TestWebDAVMtimeAndChecksum(t *testing.T) {
	s, f := newFakeStore(t, WebDAVOptions{})
	ctx := context.Background()
	content := []byte("%PDF-1.7 …")
	mtime := time.Date(2024, 5, 1, 9, 30, 0, 0, time.UTC)
	if err := s.Put(ctx, "10001/a.pdf", bytes.NewReader(content), int64(len(content)), mtime, sha(content)); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(f.files, "Kunden", "10001", "a.pdf"))
	if err != nil || !st.ModTime().Equal(mtime) {
		t.Errorf("mtime on the server = %v, %v; want %v", st.ModTime(), err, mtime)
	}
	wantFile(t, s, "10001/a.pdf", content)
	if f.gets != 0 {
		t.Errorf("Stat downloaded the file %d times; the server has its checksum", f.gets)
	}
	// Without a known checksum, Stat hashes the download.
	if err := s.Put(ctx, "10001/b.pdf", bytes.NewReader(content), int64(len(content)), mtime, ""); err != nil {
		t.Fatal(err)
	}
	wantFile(t, s, "10001/b.pdf", content)
	if f.gets != 1 {
		t.Errorf("GETs = %d, want 1", f.gets)
	}
}

// genReader yields n pseudo-random bytes without holding them.
type genReader struct {
	n, off int64
	state  uint64
}

func newGenReader(n int64) *genReader { return &genReader{n: n, state: 0x9E3779B97F4A7C15} }

func (g *genReader) Read(p []byte) (int, error) {
	if g.off >= g.n {
		return 0, io.EOF
	}
	if rest := g.n - g.off; int64(len(p)) > rest {
		p = p[:rest]
	}
	for i := range p {
		if i%8 == 0 {
			g.state ^= g.state << 13
			g.state ^= g.state >> 7
			g.state ^= g.state << 17
		}
		p[i] = byte(g.state >> (8 * (i % 8)))
	}
	g.off += int64(len(p))
	return len(p), nil
}

// genSum is the SHA-256 of newGenReader(n).
func genSum(n int64) string {
	h := sha256.New()
	io.Copy(h, newGenReader(n))
	return hex.EncodeToString(h.Sum(nil))
}

func TestWebDAVChunked(t *testing.T) {
	s, f := newFakeStore(t, WebDAVOptions{})
	ctx := context.Background()
	const size = 25_000_000
	sum := genSum(size)
	mtime := time.Unix(1714550000, 0)
	if err := s.Put(ctx, "big/25MB.bin", newGenReader(size), size, mtime, sum); err != nil {
		t.Fatal(err)
	}
	size2, sum2, exists, err := s.Stat(ctx, "big/25MB.bin")
	if err != nil || !exists || size2 != size || sum2 != sum {
		t.Errorf("Stat = %d %s %v %v", size2, sum2, exists, err)
	}
	want := []int64{DefaultChunkSize, DefaultChunkSize, size - 2*DefaultChunkSize}
	if fmt.Sprint(f.chunks) != fmt.Sprint(want) {
		t.Errorf("chunks = %v, want %v", f.chunks, want)
	}
	if st, _ := os.Stat(filepath.Join(f.files, "Kunden", "big", "25MB.bin")); st == nil || !st.ModTime().Equal(mtime) {
		t.Errorf("mtime not applied: %v", st)
	}
	// A wrong checksum aborts the upload: no file, no upload folder left.
	err = s.Put(ctx, "big/bad.bin", newGenReader(size), size, mtime, sha(nil))
	if !errors.Is(err, ErrChecksum) {
		t.Errorf("chunked Put with wrong checksum: %v", err)
	}
	wantMissing(t, s, "big/bad.bin")
	if left, _ := os.ReadDir(f.uploads); len(left) != 0 {
		t.Errorf("upload folders left: %v", left)
	}
	// A short stream too.
	err = s.Put(ctx, "big/short.bin", newGenReader(size-1), size, mtime, "")
	if !errors.Is(err, ErrChecksum) {
		t.Errorf("chunked Put of a short stream: %v", err)
	}
	wantMissing(t, s, "big/short.bin")
}

func TestWebDAVQuota(t *testing.T) {
	s, f := newFakeStore(t, WebDAVOptions{})
	f.quota = 1 << 20
	ctx := context.Background()
	err := s.Put(ctx, "q/small-but-over.bin", newGenReader(2<<20), 2<<20, time.Now(), "")
	if !errors.Is(err, ErrQuota) {
		t.Errorf("PUT over quota: %v, want ErrQuota", err)
	}
	err = s.Put(ctx, "q/chunked.bin", newGenReader(12<<20), 12<<20, time.Now(), "")
	if !errors.Is(err, ErrQuota) {
		t.Errorf("chunked PUT over quota: %v, want ErrQuota", err)
	}
	wantMissing(t, s, "q/chunked.bin")
}

func TestWebDAVAuth(t *testing.T) {
	f := newNCFake(t)
	s, err := Open(f.url("wrong", "Kunden"), WebDAVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Put(ctx, "a.txt", strings.NewReader("x"), 1, time.Now(), ""); !errors.Is(err, ErrAuth) {
		t.Errorf("Put with a wrong password: %v, want ErrAuth", err)
	}
	if _, _, _, err := s.Stat(ctx, "a.txt"); !errors.Is(err, ErrAuth) {
		t.Errorf("Stat with a wrong password: %v, want ErrAuth", err)
	}
	if strings.Contains(fmt.Sprint(s.Put(ctx, "a.txt", strings.NewReader("x"), 1, time.Now(), "")), "wrong") {
		t.Errorf("an error shows the password")
	}
	// The password from a file.
	pw := filepath.Join(t.TempDir(), "app-password")
	os.WriteFile(pw, []byte(f.pass+"\n"), 0o600)
	u, _ := url.Parse(f.srv.URL + f.filesPrefix() + "/Kunden")
	u.User = url.User(f.user)
	u.RawQuery = url.Values{"password_file": {pw}}.Encode()
	s, err = Open(u.String(), WebDAVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "a.txt", strings.NewReader("x"), 1, time.Now(), ""); err != nil {
		t.Errorf("Put with password_file: %v", err)
	}
}

// rcloneURL returns the URL of a real WebDAV server, `rclone serve webdav`:
// TEST_WEBDAV_URL when set (deploy/local/webdav.sh start), else one started
// here when rclone is on PATH. Without either the test is skipped, or fails
// when REQUIRE_INTEGRATION=1. Each test gets its own folder.
func rcloneURL(t *testing.T) string {
	t.Helper()
	folder := strings.ReplaceAll(t.Name(), "/", "-") + "-" + randomHex(4)
	if u := os.Getenv("TEST_WEBDAV_URL"); u != "" {
		return strings.TrimSuffix(u, "/") + "/" + folder
	}
	bin, err := exec.LookPath("rclone")
	if err != nil {
		if os.Getenv("REQUIRE_INTEGRATION") == "1" {
			t.Fatalf("rclone is not installed (deploy/local/webdav.sh install) and REQUIRE_INTEGRATION=1")
		}
		t.Skip("rclone not on PATH and TEST_WEBDAV_URL unset; run deploy/local/webdav.sh install")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	conf := filepath.Join(dir, "rclone.conf")
	os.WriteFile(conf, nil, 0o600)
	os.Mkdir(filepath.Join(dir, "data"), 0o750)
	cmd := exec.Command(bin, "serve", "webdav", filepath.Join(dir, "data"), "--addr", addr, "--user", "u", "--pass", "p", "--log-file", filepath.Join(dir, "rclone.log"))
	cmd.Env = append(os.Environ(), "RCLONE_CONFIG="+conf)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	base := "http://u:p@" + addr + "/"
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		req, _ := http.NewRequest("PROPFIND", "http://"+addr+"/", nil)
		req.SetBasicAuth("u", "p")
		req.Header.Set("Depth", "0")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "rclone.log"))
			t.Fatalf("rclone serve webdav did not start:\n%s", log)
		}
	}
	return base + folder
}
