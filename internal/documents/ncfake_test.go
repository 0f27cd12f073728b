package documents

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/webdav"
)

// ncFake is a thin Nextcloud-shaped WebDAV server for tests: x/net/webdav
// on a temporary directory under /remote.php/dav/files/{user}/, plus what
// x/net/webdav lacks: Basic auth, PUT that honours X-OC-MTime and keeps
// OC-Checksum (served back as oc:checksums), an early quota check (507), and
// chunked upload v2 under /remote.php/dav/uploads/{user}/. It checks what a
// client sends (t.Errorf): the X-OC-MTime and OC-Checksum headers on every
// PUT, the Destination header on every chunk, chunk names and sizes.
type ncFake struct {
	t          testing.TB
	user, pass string
	files      string // directory behind /remote.php/dav/files/{user}/
	uploads    string // directory behind /remote.php/dav/uploads/{user}/
	dav        *webdav.Handler
	srv        *httptest.Server

	mu     sync.Mutex
	quota  int64             // a PUT larger than this gets 507; 0: none
	sums   map[string]string // "/rel/path" → "SHA256:hex"
	chunks []int64           // sizes of all chunks received
	gets   int               // GET requests on files
}

const fakeUser = "alice"

func newNCFake(t testing.TB) *ncFake {
	dir := t.TempDir()
	f := &ncFake{t: t, user: fakeUser, pass: "app-password", files: filepath.Join(dir, "files"), uploads: filepath.Join(dir, "uploads"), sums: map[string]string{}}
	for _, d := range []string{f.files, f.uploads} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			t.Fatal(err)
		}
	}
	f.dav = &webdav.Handler{Prefix: f.filesPrefix(), FileSystem: sumFS{webdav.Dir(f.files), f}, LockSystem: webdav.NewMemLS()}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *ncFake) filesPrefix() string   { return "/remote.php/dav/files/" + f.user }
func (f *ncFake) uploadsPrefix() string { return "/remote.php/dav/uploads/" + f.user }

// url returns the store URL of the fake with credentials and a folder.
func (f *ncFake) url(pass, folder string) string {
	u, _ := url.Parse(f.srv.URL + f.filesPrefix() + "/" + folder)
	u.User = url.UserPassword(f.user, pass)
	return u.String()
}

func (f *ncFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if u, p, ok := r.BasicAuth(); !ok || u != f.user || p != f.pass {
		w.Header().Set("WWW-Authenticate", `Basic realm="Nextcloud"`)
		http.Error(w, "unauthorised", http.StatusUnauthorized)
		return
	}
	switch {
	case strings.HasPrefix(r.URL.Path, f.uploadsPrefix()+"/"):
		f.serveUpload(w, r, strings.TrimPrefix(r.URL.Path, f.uploadsPrefix()+"/"))
	case strings.HasPrefix(r.URL.Path, f.filesPrefix()+"/") && r.Method == http.MethodPut:
		f.servePut(w, r, strings.TrimPrefix(r.URL.Path, f.filesPrefix()))
	case strings.HasPrefix(r.URL.Path, f.filesPrefix()+"/") || r.URL.Path == f.filesPrefix():
		if r.Method == http.MethodGet {
			f.mu.Lock()
			f.gets++
			f.mu.Unlock()
		}
		f.dav.ServeHTTP(w, r)
	default:
		http.NotFound(w, r)
	}
}

// overQuota answers 507 when size is above the quota.
func (f *ncFake) overQuota(w http.ResponseWriter, size int64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.quota > 0 && size > f.quota {
		http.Error(w, "quota exceeded", http.StatusInsufficientStorage)
		return true
	}
	return false
}

// servePut stores a file like Nextcloud: into a part file first, then
// renamed, so an aborted upload leaves nothing.
func (f *ncFake) servePut(w http.ResponseWriter, r *http.Request, rel string) {
	if f.overQuota(w, r.ContentLength) {
		return
	}
	mtime, ok := f.mtime(r)
	if !ok && r.Header.Get("X-OC-MTime") != "" {
		f.t.Errorf("PUT %s without a valid X-OC-MTime: %q", rel, r.Header.Get("X-OC-MTime"))
	}
	target := filepath.Join(f.files, filepath.FromSlash(rel))
	if _, err := os.Stat(filepath.Dir(target)); err != nil {
		http.Error(w, "parent missing", http.StatusConflict)
		return
	}
	sum, err := writeVia(filepath.Dir(target), r.Body, r.ContentLength, func(tmp string) error {
		_, existed := os.Stat(target)
		if !mtime.IsZero() {
			os.Chtimes(tmp, mtime, mtime)
		}
		if err := os.Rename(tmp, target); err != nil {
			return err
		}
		if existed == nil {
			w.WriteHeader(http.StatusNoContent)
		} else {
			w.WriteHeader(http.StatusCreated)
		}
		return nil
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.keepChecksum(r, rel, sum)
}

// keepChecksum records OC-Checksum; unlike Nextcloud it also checks it.
func (f *ncFake) keepChecksum(r *http.Request, rel, sum string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.sums, rel)
	if oc := r.Header.Get("OC-Checksum"); oc != "" {
		if oc != "SHA256:"+sum {
			f.t.Errorf("%s %s: OC-Checksum %q, content has SHA256:%s", r.Method, rel, oc, sum)
		}
		f.sums[rel] = oc
	}
}

// mtime parses X-OC-MTime.
func (f *ncFake) mtime(r *http.Request) (time.Time, bool) {
	s := r.Header.Get("X-OC-MTime")
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}, false
	}
	return time.Unix(n, 0), true
}

// writeVia copies size bytes of body to a temporary file in dir and hands
// it to done; it returns the content's SHA-256.
func writeVia(dir string, body io.Reader, size int64, done func(tmp string) error) (string, error) {
	tmp, err := os.CreateTemp(dir, ".upload-*.part")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil && size >= 0 && n != size {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), done(tmp.Name())
}

// serveUpload implements chunked upload v2.
func (f *ncFake) serveUpload(w http.ResponseWriter, r *http.Request, rel string) {
	id, chunk, _ := strings.Cut(rel, "/")
	dir := filepath.Join(f.uploads, filepath.Base(id))
	dest := r.Header.Get("Destination")
	switch {
	case r.Method == "MKCOL" && chunk == "":
		if dest == "" {
			f.t.Errorf("MKCOL upload %s without Destination", id)
		}
		if err := os.Mkdir(dir, 0o750); err != nil {
			http.Error(w, err.Error(), http.StatusMethodNotAllowed)
			return
		}
		os.WriteFile(filepath.Join(dir, ".destination"), []byte(dest), 0o640)
		w.WriteHeader(http.StatusCreated)
	case r.Method == http.MethodPut && chunk != "":
		f.serveChunk(w, r, dir, chunk)
	case r.Method == "MOVE" && chunk == ".file":
		f.assemble(w, r, dir)
	case r.Method == http.MethodDelete && chunk == "":
		os.RemoveAll(dir)
		w.WriteHeader(http.StatusNoContent)
	default:
		http.Error(w, "unsupported", http.StatusMethodNotAllowed)
	}
}

func (f *ncFake) serveChunk(w http.ResponseWriter, r *http.Request, dir, chunk string) {
	want, err := os.ReadFile(filepath.Join(dir, ".destination"))
	if err != nil {
		http.Error(w, "no such upload", http.StatusNotFound)
		return
	}
	if got := r.Header.Get("Destination"); got != string(want) {
		f.t.Errorf("chunk %s: Destination %q, MKCOL had %q", chunk, got, want)
	}
	if n, err := strconv.Atoi(chunk); err != nil || n < 1 || n > 10000 || len(chunk) != 5 {
		f.t.Errorf("chunk name %q is not 00001…10000", chunk)
	}
	total, _ := strconv.ParseInt(r.Header.Get("OC-Total-Length"), 10, 64)
	if f.overQuota(w, total) {
		return
	}
	_, err = writeVia(dir, r.Body, r.ContentLength, func(tmp string) error {
		return os.Rename(tmp, filepath.Join(dir, chunk))
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.chunks = append(f.chunks, r.ContentLength)
	f.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
}

// assemble joins the chunks in name order into the destination.
func (f *ncFake) assemble(w http.ResponseWriter, r *http.Request, dir string) {
	du, err := url.Parse(r.Header.Get("Destination"))
	if err != nil || !strings.HasPrefix(du.Path, f.filesPrefix()+"/") {
		http.Error(w, "bad Destination", http.StatusBadRequest)
		return
	}
	rel := strings.TrimPrefix(du.Path, f.filesPrefix())
	total, err := strconv.ParseInt(r.Header.Get("OC-Total-Length"), 10, 64)
	if err != nil {
		f.t.Errorf("MOVE .file without OC-Total-Length")
	}
	names, _ := filepath.Glob(filepath.Join(dir, "[0-9][0-9][0-9][0-9][0-9]"))
	sort.Strings(names)
	var readers []io.Reader
	for i, n := range names {
		fh, err := os.Open(n)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer fh.Close()
		if st, _ := fh.Stat(); i < len(names)-1 && st.Size() < 5<<20 {
			f.t.Errorf("chunk %s has %d bytes; Nextcloud wants at least 5 MB", path.Base(n), st.Size())
		}
		readers = append(readers, fh)
	}
	target := filepath.Join(f.files, filepath.FromSlash(rel))
	mtime, _ := f.mtime(r)
	sum, err := writeVia(filepath.Dir(target), io.MultiReader(readers...), total, func(tmp string) error {
		if !mtime.IsZero() {
			os.Chtimes(tmp, mtime, mtime)
		}
		return os.Rename(tmp, target)
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.keepChecksum(r, rel, sum)
	os.RemoveAll(dir)
	w.WriteHeader(http.StatusCreated)
}

// sumFS serves the recorded checksums as the dead property oc:checksums
// and keeps them across MOVE.
type sumFS struct {
	webdav.FileSystem
	f *ncFake
}

var ocChecksums = xml.Name{Space: "http://owncloud.org/ns", Local: "checksums"}

func (s sumFS) OpenFile(ctx context.Context, name string, flag int, perm os.FileMode) (webdav.File, error) {
	file, err := s.FileSystem.OpenFile(ctx, name, flag, perm)
	if err != nil {
		return nil, err
	}
	return sumFile{file, s.f, path.Clean("/" + name)}, nil
}

func (s sumFS) Rename(ctx context.Context, oldName, newName string) error {
	if err := s.FileSystem.Rename(ctx, oldName, newName); err != nil {
		return err
	}
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	oldName, newName = path.Clean("/"+oldName), path.Clean("/"+newName)
	if sum, ok := s.f.sums[oldName]; ok {
		s.f.sums[newName] = sum
	} else {
		delete(s.f.sums, newName)
	}
	delete(s.f.sums, oldName)
	return nil
}

type sumFile struct {
	webdav.File
	f    *ncFake
	name string
}

func (s sumFile) DeadProps() (map[xml.Name]webdav.Property, error) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	sum, ok := s.f.sums[s.name]
	if !ok {
		return nil, nil
	}
	inner := `<oc:checksum xmlns:oc="http://owncloud.org/ns">` + sum + ` MD5:00</oc:checksum>`
	return map[xml.Name]webdav.Property{ocChecksums: {XMLName: ocChecksums, InnerXML: []byte(inner)}}, nil
}

func (s sumFile) Patch([]webdav.Proppatch) ([]webdav.Propstat, error) {
	return nil, webdav.ErrNotImplemented
}
