package documents

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults of WebDAVOptions.
const (
	// DefaultChunkThreshold: files above it use Nextcloud's chunked upload.
	DefaultChunkThreshold = 10 << 20
	// DefaultChunkSize is the size of a chunk; Nextcloud wants 5 MB to 5 GB
	// (the last may be smaller).
	DefaultChunkSize = 10 << 20
)

// WebDAVOptions tunes the WebDAV store. The zero value is ready to use.
type WebDAVOptions struct {
	// Client sends the requests; nil means one with connect, TLS and
	// response-header timeouts (no overall timeout, so large uploads are
	// bounded by the context only) that follows no redirects.
	Client *http.Client
	// ChunkThreshold and ChunkSize (bytes) override the defaults.
	ChunkThreshold int64
	ChunkSize      int64
	// Logger receives debug records of uploads; nil means slog.Default().
	Logger *slog.Logger
}

// WebDAV is a Store on a WebDAV server, shaped for Nextcloud: files below
// /remote.php/dav/files/{user}/…, PUT with X-OC-MTime and OC-Checksum, and
// chunked upload v2 through /remote.php/dav/uploads/{user}/ for large files.
// Against another WebDAV server (no "/remote.php/dav/files/" in the URL) it
// uploads to a temporary name and moves it into place, as such servers write
// a PUT straight into the target.
type WebDAV struct {
	base      url.URL  // the folder of the store, ending in "/", no userinfo
	uploads   *url.URL // Nextcloud's uploads folder of the user, or nil
	user      string
	pass      string
	client    *http.Client
	threshold int64
	chunkSize int64
	log       *slog.Logger
	dirs      sync.Map // folders known to exist (relative paths)
}

// NewWebDAV returns a Store for the WebDAV folder u. User and password come
// from u's userinfo; the query parameter password_file names a file with the
// password instead (its first line). Neither is ever logged.
func NewWebDAV(u *url.URL, opts WebDAVOptions) (*WebDAV, error) {
	w := &WebDAV{base: *u, client: opts.Client, threshold: opts.ChunkThreshold, chunkSize: opts.ChunkSize, log: opts.Logger}
	if u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("documents: WebDAV URL needs http(s) and a host: %w", ErrPath)
	}
	if ip := net.ParseIP(u.Hostname()); ip != nil && (ip.IsLinkLocalUnicast() || ip.IsUnspecified() || ip.IsMulticast()) {
		return nil, fmt.Errorf("documents: WebDAV host %s is not allowed: %w", ip, ErrPath)
	}
	if u.User != nil {
		w.user = u.User.Username()
		w.pass, _ = u.User.Password()
	}
	if pf := u.Query().Get("password_file"); pf != "" {
		b, err := os.ReadFile(pf)
		if err != nil {
			return nil, fmt.Errorf("documents: read password_file: %w", err)
		}
		w.pass, _, _ = strings.Cut(strings.TrimRight(string(b), "\r\n"), "\n")
	}
	w.base.User, w.base.RawQuery, w.base.Fragment, w.base.RawPath = nil, "", "", ""
	if !strings.HasSuffix(w.base.Path, "/") {
		w.base.Path += "/"
	}
	if pre, rest, ok := strings.Cut(w.base.Path, "/remote.php/dav/files/"); ok {
		userSeg, _, _ := strings.Cut(rest, "/")
		up := w.base
		up.Path = pre + "/remote.php/dav/uploads/" + userSeg + "/"
		w.uploads = &up
	}
	if w.client == nil {
		w.client = defaultClient()
	}
	if w.threshold <= 0 {
		w.threshold = DefaultChunkThreshold
	}
	if w.chunkSize <= 0 {
		w.chunkSize = DefaultChunkSize
	}
	if w.log == nil {
		w.log = slog.Default()
	}
	return w, nil
}

// defaultClient returns an http.Client with timeouts that refuses
// redirects (they would carry the credentials elsewhere).
func defaultClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 10 * time.Second
	// Nextcloud answers the final MOVE of a chunked upload after
	// assembling the file, which takes a while for large ones.
	t.ResponseHeaderTimeout = 5 * time.Minute
	t.ExpectContinueTimeout = time.Second
	return &http.Client{
		Transport: t,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// fileURL returns the URL of the relative path p (already clean).
func (w *WebDAV) fileURL(p string) *url.URL {
	u := w.base
	u.Path += p
	return &u
}

// request sends one request and returns the response if its status is one
// of ok; otherwise it closes the body and returns a *StatusError.
func (w *WebDAV) request(ctx context.Context, method string, u *url.URL, rel string, body io.Reader, size int64, hdr http.Header, ok ...int) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("documents: webdav %s %s: %w", method, rel, err)
	}
	if body != nil {
		req.ContentLength = size
		if size == 0 {
			req.Body = http.NoBody
		}
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if w.user != "" || w.pass != "" {
		req.SetBasicAuth(w.user, w.pass)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("documents: webdav %s %s: %w", method, rel, err)
	}
	for _, code := range ok {
		if resp.StatusCode == code {
			return resp, nil
		}
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return nil, &StatusError{Method: method, Path: rel, Code: resp.StatusCode}
}

// call is request for replies whose body does not matter.
func (w *WebDAV) call(ctx context.Context, method string, u *url.URL, rel string, body io.Reader, size int64, hdr http.Header, ok ...int) error {
	resp, err := w.request(ctx, method, u, rel, body, size, hdr, ok...)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.Body.Close()
}

// statusIs reports whether err is a *StatusError with code.
func statusIs(err error, code int) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Code == code
}

// propfindBody asks for what Stat needs.
const propfindBody = `<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns"><d:prop>
<d:resourcetype/><d:getcontentlength/><oc:checksums/>
</d:prop></d:propfind>`

// multistatus is the part of a PROPFIND reply that Stat reads.
type multistatus struct {
	Responses []struct {
		Propstats []struct {
			Status string `xml:"DAV: status"`
			Prop   struct {
				Collection *struct{} `xml:"DAV: resourcetype>collection"`
				Length     string    `xml:"DAV: getcontentlength"`
				Checksums  []string  `xml:"checksums>checksum"`
			} `xml:"DAV: prop"`
		} `xml:"DAV: propstat"`
	} `xml:"DAV: response"`
}

// Stat implements Store.
func (w *WebDAV) Stat(ctx context.Context, p string) (int64, string, bool, error) {
	p, err := cleanPath(p)
	if err != nil {
		return 0, "", false, err
	}
	size, sum, dir, err := w.propfind(ctx, p)
	if statusIs(err, http.StatusNotFound) {
		return 0, "", false, nil
	}
	if err != nil || dir {
		return 0, "", err == nil, err
	}
	if sum == "" {
		if sum, err = w.download(ctx, p); err != nil {
			return 0, "", false, err
		}
	}
	return size, sum, true, nil
}

// propfind returns size, SHA-256 (if the server has one) and whether p is
// a folder.
func (w *WebDAV) propfind(ctx context.Context, p string) (size int64, sum string, dir bool, err error) {
	hdr := http.Header{"Depth": {"0"}, "Content-Type": {"application/xml; charset=utf-8"}}
	resp, err := w.request(ctx, "PROPFIND", w.fileURL(p), p, strings.NewReader(propfindBody), int64(len(propfindBody)), hdr, http.StatusMultiStatus)
	if err != nil {
		return 0, "", false, err
	}
	defer resp.Body.Close()
	var ms multistatus
	if err := xml.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&ms); err != nil {
		return 0, "", false, fmt.Errorf("documents: webdav PROPFIND %s: %w", p, err)
	}
	for _, r := range ms.Responses {
		for _, ps := range r.Propstats {
			if !strings.Contains(ps.Status, " 200") {
				continue
			}
			if ps.Prop.Collection != nil {
				dir = true
			}
			if ps.Prop.Length != "" {
				size, _ = strconv.ParseInt(strings.TrimSpace(ps.Prop.Length), 10, 64)
			}
			for _, c := range ps.Prop.Checksums {
				for _, f := range strings.Fields(c) {
					if algo, hexsum, ok := strings.Cut(f, ":"); ok && strings.EqualFold(algo, "SHA256") {
						sum = strings.ToLower(hexsum)
					}
				}
			}
		}
		break // Depth 0: the first response is p itself
	}
	return size, sum, dir, nil
}

// download streams p through SHA-256.
func (w *WebDAV) download(ctx context.Context, p string) (string, error) {
	resp, err := w.request(ctx, http.MethodGet, w.fileURL(p), p, nil, 0, nil, http.StatusOK)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	h := sha256.New()
	if _, err := io.Copy(h, resp.Body); err != nil {
		return "", fmt.Errorf("documents: webdav GET %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// contentSum returns the SHA-256 of file p (from the server or by hashing).
func (w *WebDAV) contentSum(ctx context.Context, p string) (string, error) {
	_, sum, exists, err := w.Stat(ctx, p)
	if err == nil && !exists {
		err = fmt.Errorf("documents: %s: %w", p, ErrNotFound)
	}
	return sum, err
}

// MkdirAll implements Store: MKCOL of each missing level, top down (405
// means it exists). Folders seen are remembered.
func (w *WebDAV) MkdirAll(ctx context.Context, p string) error {
	p, err := cleanPath(p)
	if err != nil {
		return err
	}
	return w.mkdirAll(ctx, p)
}

func (w *WebDAV) mkdirAll(ctx context.Context, p string) error {
	if p == "." || p == "" {
		return w.ensureBase(ctx)
	}
	if _, ok := w.dirs.Load(p); ok {
		return nil
	}
	if err := w.mkdirAll(ctx, path.Dir(p)); err != nil {
		return err
	}
	err := w.call(ctx, "MKCOL", w.fileURL(p), p, nil, 0, nil, http.StatusCreated, http.StatusMethodNotAllowed)
	if err != nil {
		return fmt.Errorf("documents: create folder: %w", err)
	}
	w.dirs.Store(p, true)
	return nil
}

// ensureBase creates the store's own folder and its parents below the
// user's root (Nextcloud) or the server's root, once.
func (w *WebDAV) ensureBase(ctx context.Context) error {
	if _, ok := w.dirs.Load(""); ok {
		return nil
	}
	floor := "/"
	if pre, rest, ok := strings.Cut(w.base.Path, "/remote.php/dav/files/"); ok {
		user, _, _ := strings.Cut(rest, "/")
		floor = pre + "/remote.php/dav/files/" + user + "/"
	}
	rel := strings.Trim(strings.TrimPrefix(w.base.Path, floor), "/")
	if rel != "" {
		u := w.base
		u.Path = floor
		for _, seg := range strings.Split(rel, "/") {
			u.Path += seg + "/"
			if err := w.call(ctx, "MKCOL", &u, "(base) "+seg, nil, 0, nil, http.StatusCreated, http.StatusMethodNotAllowed); err != nil {
				return fmt.Errorf("documents: create the store's folder: %w", err)
			}
		}
	}
	w.dirs.Store("", true)
	return nil
}

// forgetDir drops p and its parents from the folder cache (after a 409).
func (w *WebDAV) forgetDir(p string) {
	for ; p != "." && p != ""; p = path.Dir(p) {
		w.dirs.Delete(p)
	}
	w.dirs.Delete("")
}

// Put implements Store. Files above the chunk threshold on Nextcloud go
// through chunked upload; others are one PUT with X-OC-MTime and (when
// sha256hex is given) OC-Checksum. The body is checked while it streams: a
// short, long or wrong body aborts the request, so the server discards it.
func (w *WebDAV) Put(ctx context.Context, p string, r io.Reader, size int64, mtime time.Time, sha256hex string) error {
	p, err := cleanPath(p)
	if err != nil {
		return err
	}
	if err := w.mkdirAll(ctx, path.Dir(p)); err != nil {
		return err
	}
	vr := newVerifyReader(r, size, sha256hex)
	switch {
	case w.uploads != nil && size > w.threshold:
		err = w.putChunked(ctx, p, vr, size, mtime)
	case w.uploads != nil:
		err = w.putOnce(ctx, w.fileURL(p), p, vr, size, mtime, sha256hex)
	default:
		err = w.putViaTemp(ctx, p, vr, size, mtime, sha256hex)
	}
	if vr.err != nil {
		return fmt.Errorf("documents: put %s: %w", p, vr.err)
	}
	if statusIs(err, http.StatusConflict) {
		w.forgetDir(path.Dir(p))
	}
	return err
}

// putOnce is a single PUT to u.
func (w *WebDAV) putOnce(ctx context.Context, u *url.URL, rel string, r io.Reader, size int64, mtime time.Time, sha256hex string) error {
	hdr := http.Header{"Content-Type": {"application/octet-stream"}}
	if !mtime.IsZero() {
		hdr.Set("X-OC-MTime", strconv.FormatInt(mtime.Unix(), 10))
	}
	if sha256hex != "" {
		hdr.Set("OC-Checksum", "SHA256:"+sha256hex)
	}
	return w.call(ctx, http.MethodPut, u, rel, r, size, hdr, http.StatusCreated, http.StatusNoContent, http.StatusOK)
}

// putViaTemp PUTs to a temporary name in the target folder and moves it
// into place, for servers that write a PUT straight into its target.
func (w *WebDAV) putViaTemp(ctx context.Context, p string, vr *verifyReader, size int64, mtime time.Time, sha256hex string) error {
	tmp := path.Join(path.Dir(p), ".ecput-"+randomHex(8)+".tmp")
	err := w.putOnce(ctx, w.fileURL(tmp), tmp, vr, size, mtime, sha256hex)
	if err == nil && vr.err == nil {
		hdr := http.Header{"Destination": {w.fileURL(p).String()}, "Overwrite": {"T"}}
		if err = w.call(ctx, "MOVE", w.fileURL(tmp), tmp, nil, 0, hdr, http.StatusCreated, http.StatusNoContent); err == nil {
			return nil
		}
	}
	w.cleanup(ctx, w.fileURL(tmp), tmp)
	return err
}

// cleanup deletes u, even when ctx is already done. After an aborted
// upload the server may still be writing the file (or hold its lock), so
// it deletes until the file stays gone.
func (w *WebDAV) cleanup(ctx context.Context, u *url.URL, rel string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	var err error
	for attempt := 1; attempt <= 5; attempt++ {
		err = w.call(ctx, http.MethodDelete, u, rel, nil, 0, nil, http.StatusNoContent, http.StatusOK, http.StatusNotFound)
		if err != nil && !statusIs(err, http.StatusLocked) {
			break
		}
		time.Sleep(time.Duration(attempt) * 100 * time.Millisecond)
		if err == nil {
			if err = w.call(ctx, "PROPFIND", u, rel, nil, 0, http.Header{"Depth": {"0"}}, http.StatusNotFound); err == nil {
				return
			}
			if !statusIs(err, http.StatusMultiStatus) {
				break
			}
		}
	}
	if err != nil {
		w.log.Warn("documents: cleanup failed", slog.String("path", rel), slog.Any("error", err))
	}
}

// Move implements Store with MOVE, Destination and Overwrite: F.
func (w *WebDAV) Move(ctx context.Context, from, to string) (err error) {
	if from, err = cleanPath(from); err != nil {
		return err
	}
	if to, err = cleanPath(to); err != nil {
		return err
	}
	if err := w.mkdirAll(ctx, path.Dir(to)); err != nil {
		return err
	}
	hdr := http.Header{"Destination": {w.fileURL(to).String()}, "Overwrite": {"F"}}
	err = w.call(ctx, "MOVE", w.fileURL(from), from, nil, 0, hdr, http.StatusCreated, http.StatusNoContent)
	switch {
	case err == nil:
		return nil
	case statusIs(err, http.StatusConflict):
		w.forgetDir(path.Dir(to))
		return err
	case !statusIs(err, http.StatusNotFound) && !statusIs(err, http.StatusForbidden) && !statusIs(err, http.StatusPreconditionFailed):
		return err
	}
	// 404 (Nextcloud) or 403 (x/net/webdav) for a missing source, 412
	// for an existing target: find out which.
	_, _, fromExists, serr := w.Stat(ctx, from)
	if serr != nil {
		return serr
	}
	if !fromExists {
		if _, _, toExists, serr := w.Stat(ctx, to); serr != nil {
			return serr
		} else if toExists {
			return nil
		}
		return fmt.Errorf("documents: move %s: %w", from, ErrNotFound)
	}
	if statusIs(err, http.StatusPreconditionFailed) {
		return w.resolveExisting(ctx, from, to)
	}
	return err
}

// resolveExisting finishes a MOVE refused because the target exists.
func (w *WebDAV) resolveExisting(ctx context.Context, from, to string) error {
	a, err := w.contentSum(ctx, from)
	if err != nil {
		return err
	}
	b, err := w.contentSum(ctx, to)
	if err != nil {
		return err
	}
	if a != b {
		return fmt.Errorf("documents: move %s to %s: %w", from, to, ErrExists)
	}
	return w.call(ctx, http.MethodDelete, w.fileURL(from), from, nil, 0, nil, http.StatusNoContent, http.StatusOK, http.StatusNotFound)
}

// Open implements Store with a GET whose body is handed to the caller as it
// arrives. The size is the reply's Content-Length (-1 when it has none).
func (w *WebDAV) Open(ctx context.Context, p string) (io.ReadCloser, int64, error) {
	p, err := cleanPath(p)
	if err != nil {
		return nil, 0, err
	}
	resp, err := w.request(ctx, http.MethodGet, w.fileURL(p), p, nil, 0, nil, http.StatusOK)
	if err != nil {
		return nil, 0, err
	}
	return resp.Body, resp.ContentLength, nil
}
