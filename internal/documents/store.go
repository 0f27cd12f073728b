package documents

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// Store is where the files are written. Implementations are safe for
// concurrent use; concurrent writes of one path are the caller's to avoid
// (see the package comment).
type Store interface {
	// Stat reports whether path exists and, for a file, its size and
	// SHA-256 (lower-case hex). A WebDAV store takes the SHA-256 from the
	// server's checksum property when it has one and otherwise downloads and
	// hashes the file (streaming); a folder has size 0 and no SHA-256.
	Stat(ctx context.Context, path string) (size int64, sha256 string, exists bool, err error)
	// Put stores size bytes read from r at path, creating missing parent
	// folders and replacing an existing file. It streams: memory use does
	// not grow with size. mtime (if not zero) becomes the file's
	// modification time. If sha256hex is not empty the content must have
	// that SHA-256; otherwise, or if fewer or more than size bytes arrive,
	// Put fails with ErrChecksum and nothing is stored under path. With an
	// empty sha256hex only the size is checked.
	Put(ctx context.Context, path string, r io.Reader, size int64, mtime time.Time, sha256hex string) error
	// Move moves the file from to to, creating the target's missing parent
	// folders. It never overwrites: if to exists with the same content as
	// from, from is removed and Move succeeds; with different content it
	// fails with ErrExists and changes nothing. If from is missing and to
	// exists, Move succeeds (it is idempotent: a repeated or interrupted
	// Move completes); if both are missing it fails with ErrNotFound.
	Move(ctx context.Context, from, to string) error
	// MkdirAll creates the folder path and its missing parents.
	MkdirAll(ctx context.Context, path string) error
	// Open returns a reader of the file at path and its size (-1 when the
	// store does not say). It streams: nothing is read before the caller
	// reads, and memory use does not grow with the file. A missing file (or
	// a folder) is ErrNotFound. The caller closes the reader.
	Open(ctx context.Context, path string) (io.ReadCloser, int64, error)
}

// Open returns the Store for a documents URL (CONNECTOR_DOCUMENTS_URL):
//
//   - file:///abs/dir: NewLocal on /abs/dir. "file://rel/dir" (a host part)
//     is read as the relative directory rel/dir, as the config default
//     file://var/documents means.
//   - http(s)://user:app-password@host/remote.php/dav/files/{user}/dir:
//     NewWebDAV. Instead of a password in the URL, the query parameter
//     password_file names a file holding it.
func Open(raw string, opts WebDAVOptions) (Store, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("documents: invalid documents URL: %w", ErrPath)
	}
	switch u.Scheme {
	case "file":
		dir := u.Path
		if u.Host != "" && u.Host != "localhost" {
			dir = filepath.Join(u.Host, filepath.FromSlash(u.Path))
		}
		if dir == "" {
			return nil, fmt.Errorf("documents: file URL without a directory: %w", ErrPath)
		}
		return NewLocal(dir)
	case "http", "https":
		return NewWebDAV(u, opts)
	}
	return nil, fmt.Errorf("documents: documents URL scheme %q is not file, http or https: %w", u.Scheme, ErrPath)
}

// cleanPath checks a store path and returns it without leading or trailing
// slashes. It refuses "", ".", ".." and empty segments in the middle.
func cleanPath(p string) (string, error) {
	s := strings.Trim(p, "/")
	if s == "" {
		return "", fmt.Errorf("documents: empty path: %w", ErrPath)
	}
	for _, seg := range strings.Split(s, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.ContainsRune(seg, 0) {
			return "", fmt.Errorf("documents: path %q: %w", p, ErrPath)
		}
	}
	if path.Clean(s) != s {
		return "", fmt.Errorf("documents: path %q: %w", p, ErrPath)
	}
	return s, nil
}
