package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/webdav"

	"github.com/dedesales/exchange-connector/internal/documents"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// fileDocument puts content into docs at path and records it as a document
// of the first mail's activity; it returns the document's ID.
func fileDocument(t testing.TB, st *store.Store, docs documents.Store, activityID int64, key, path, name string, content []byte) int64 {
	t.Helper()
	ctx := context.Background()
	if docs != nil {
		if err := docs.Put(ctx, path, bytes.NewReader(content), int64(len(content)), time.Time{}, sum(content)); err != nil {
			t.Fatal(err)
		}
	}
	d := store.Document{CustomerID: 10, ActivityID: activityID, SourceKey: key, Path: path, Name: name,
		Size: int64(len(content)), SHA256: sum(content), ContentType: "application/pdf"}
	if err := st.RecordDocument(ctx, d); err != nil {
		t.Fatal(err)
	}
	a, err := st.FeedActivityByID(ctx, activityID)
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range a.Documents {
		if fd.Path == path {
			return fd.ID
		}
	}
	t.Fatalf("document %s not recorded", path)
	return 0
}

// testDownload checks GET /documents/{id}/content against one document store.
func testDownload(t *testing.T, st *store.Store, docs documents.Store) {
	ctx := context.Background()
	seedReadCRM(t, st)
	res, err := st.RecordMessage(ctx, mail(1, "AAMk-1", "<m1@schulz-technik.com>", "Angebot"))
	if err != nil {
		t.Fatal(err)
	}
	content := make([]byte, 300_000)
	rand.Read(content)
	name := `Angebot 100% ä "final".pdf`
	id := fileDocument(t, st, docs, res.ActivityID, "a:1", "10001/E-Mail Attachments/2026-10-01 Angebot/"+name, name, content)
	missingID := fileDocument(t, st, nil, res.ActivityID, "a:2", "10001/E-Mail Attachments/gone.pdf", "gone.pdf", []byte("gone"))

	env := newReadEnv(t, st, docs)
	path := fmt.Sprintf("%s/documents/%d/content", Prefix, id)
	for _, token := range []string{env.read, env.write} {
		a := env.get(path, token)
		if a.status != http.StatusOK || !bytes.Equal(a.body, content) {
			t.Fatalf("download: %d, %d bytes (want %d): %.200s", a.status, len(a.body), len(content), a.body)
		}
		h := a.header
		if h.Get("Content-Type") != "application/pdf" || h.Get("Content-Length") != strconv.Itoa(len(content)) ||
			h.Get("ETag") != `"`+sum(content)+`"` || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("headers %v", h)
		}
		disp, params, err := mime.ParseMediaType(h.Get("Content-Disposition"))
		if err != nil || disp != "attachment" || params["filename"] != name {
			t.Errorf("Content-Disposition %q → %s %v %v; want attachment with %q", h.Get("Content-Disposition"), disp, params, err, name)
		}
		if !strings.Contains(h.Get("Content-Disposition"), `filename="Angebot 100% _ _final_.pdf"`) {
			t.Errorf("no ASCII fallback name: %q", h.Get("Content-Disposition"))
		}
	}
	// The client's copy is current: 304 without a body.
	if a := env.get(path, env.read, "If-None-Match", `"`+sum(content)+`"`); a.status != http.StatusNotModified || len(a.body) != 0 {
		t.Errorf("If-None-Match with the ETag: %d %d bytes", a.status, len(a.body))
	}
	if a := env.get(path, env.read, "If-None-Match", `"0000"`); a.status != http.StatusOK {
		t.Errorf("If-None-Match with another ETag: %d", a.status)
	}
	// No such document; a row whose file is gone from the store.
	for _, p := range []string{Prefix + "/documents/999999/content", fmt.Sprintf("%s/documents/%d/content", Prefix, missingID)} {
		if a := env.get(p, env.read); a.status != http.StatusNotFound || !a.problem(t).hasField("id") {
			t.Errorf("%s: %d %s", p, a.status, a.body)
		}
	}
	if a := env.get(Prefix+"/documents/x/content", env.read); a.status != http.StatusBadRequest || !a.problem(t).hasField("id") {
		t.Errorf("document x: %d %s", a.status, a.body)
	}
}

func TestDocumentDownloadLocal(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		l, err := documents.NewLocal(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		testDownload(t, st, l)
	})
}

// TestDocumentDownloadWebDAV runs against the WebDAV server of
// TEST_WEBDAV_URL (rclone, as deploy/local/webdav.sh starts it), or else
// against golang.org/x/net/webdav served here.
func TestDocumentDownloadWebDAV(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		base := os.Getenv("TEST_WEBDAV_URL")
		if base == "" {
			srv := httptest.NewServer(&webdav.Handler{FileSystem: webdav.Dir(t.TempDir()), LockSystem: webdav.NewMemLS()})
			t.Cleanup(srv.Close)
			base = srv.URL
		}
		b := make([]byte, 4)
		rand.Read(b)
		docs, err := documents.Open(strings.TrimSuffix(base, "/")+"/api-download-"+hex.EncodeToString(b), documents.WebDAVOptions{})
		if err != nil {
			t.Fatal(err)
		}
		testDownload(t, st, docs)
	})
}

// Without a document store the download is 503, not a crash.
func TestDocumentDownloadWithoutStore(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	seedReadCRM(t, st)
	res, err := st.RecordMessage(context.Background(), mail(1, "AAMk-1", "<m1@schulz-technik.com>", "Angebot"))
	if err != nil {
		t.Fatal(err)
	}
	id := fileDocument(t, st, nil, res.ActivityID, "a:1", "10001/x.pdf", "x.pdf", []byte("x"))
	env := newReadEnv(t, st, nil)
	if a := env.get(fmt.Sprintf("%s/documents/%d/content", Prefix, id), env.read); a.status != http.StatusServiceUnavailable {
		t.Errorf("without a document store: %d %s", a.status, a.body)
	} else {
		a.problem(t)
	}
}

// pipeDocs serves one file whose bytes the test writes while it is sent.
type pipeDocs struct {
	r    *io.PipeReader
	size int64
}

func (p pipeDocs) Open(context.Context, string) (io.ReadCloser, int64, error) {
	return p.r, p.size, nil
}

// TestDocumentDownloadStreams: the client receives the first half of a file
// before the document store has produced the second half, so the handler
// copies as it reads and never holds the whole file.
func TestDocumentDownloadStreams(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	seedReadCRM(t, st)
	res, err := st.RecordMessage(context.Background(), mail(1, "AAMk-1", "<m1@schulz-technik.com>", "Angebot"))
	if err != nil {
		t.Fatal(err)
	}
	const half = 1 << 20
	content := make([]byte, 2*half)
	rand.Read(content)
	id := fileDocument(t, st, nil, res.ActivityID, "a:1", "10001/big.pdf", "big.pdf", content)
	pr, pw := io.Pipe()
	env := newReadEnv(t, st, pipeDocs{r: pr, size: int64(len(content))})
	t.Cleanup(func() { pw.CloseWithError(io.ErrClosedPipe) })

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s%s/documents/%d/content", env.srv.URL, Prefix, id), nil)
	req.Header.Set("Authorization", "Bearer "+env.read)
	firstHalf := make(chan error, 1)
	result := make(chan []byte, 1)
	go func() {
		resp, err := env.srv.Client().Do(req)
		if err != nil {
			firstHalf <- err
			return
		}
		defer resp.Body.Close()
		got := make([]byte, half/2)
		if _, err := io.ReadFull(resp.Body, got); err != nil {
			firstHalf <- err
			return
		}
		firstHalf <- nil
		rest, _ := io.ReadAll(resp.Body)
		result <- append(got, rest...)
	}()
	if _, err := pw.Write(content[:half]); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-firstHalf:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("the client got nothing while the store had sent half the file: the handler does not stream")
	}
	if _, err := pw.Write(content[half:]); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	select {
	case got := <-result:
		if !bytes.Equal(got, content) {
			t.Errorf("received %d bytes, not the file's %d", len(got), len(content))
		}
	case <-ctx.Done():
		t.Fatal("the download did not finish")
	}
}

// TestDocumentDownloadMemory: a 32 MiB file from the local store costs the
// process a small, fixed amount of allocation, not the file's size.
func TestDocumentDownloadMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 32 MiB")
	}
	st := storetest.Open(t, store.SQLite)
	seedReadCRM(t, st)
	res, err := st.RecordMessage(context.Background(), mail(1, "AAMk-1", "<m1@schulz-technik.com>", "Angebot"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := documents.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	content := make([]byte, 32<<20)
	rand.Read(content)
	id := fileDocument(t, st, l, res.ActivityID, "a:1", "10001/big.bin", "big.bin", content)
	want := sum(content)
	content = nil
	env := newReadEnv(t, st, l)
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s%s/documents/%d/content", env.srv.URL, Prefix, id), nil)
	req.Header.Set("Authorization", "Bearer "+env.read)

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	resp, err := env.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	resp.Body.Close()
	runtime.ReadMemStats(&after)
	if err != nil || n != 32<<20 || hex.EncodeToString(h.Sum(nil)) != want {
		t.Fatalf("download: %d bytes, %v", n, err)
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %d KiB to send 32 MiB", allocated>>10)
	if allocated > 8<<20 {
		t.Errorf("sending 32 MiB allocated %d MiB: the file is held in memory", allocated>>20)
	}
}
