package documents

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"time"
)

// Local is a Store in a local directory. Every access goes through an
// os.Root, so no path, ".." or symlink can reach outside the directory.
type Local struct {
	root *os.Root
}

// NewLocal opens (creating it if missing) the directory dir as a Store.
// Close it when done.
func NewLocal(dir string) (*Local, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("documents: create %s: %w", dir, classifyOSError(err))
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("documents: open %s: %w", dir, classifyOSError(err))
	}
	return &Local{root: root}, nil
}

// Close releases the directory.
func (l *Local) Close() error { return l.root.Close() }

// Stat implements Store; it hashes the file to report its SHA-256.
func (l *Local) Stat(ctx context.Context, p string) (int64, string, bool, error) {
	p, err := cleanPath(p)
	if err != nil {
		return 0, "", false, err
	}
	info, err := l.root.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return 0, "", false, nil
	case err != nil:
		return 0, "", false, fmt.Errorf("documents: stat %s: %w", p, classifyOSError(err))
	case info.IsDir():
		return 0, "", true, nil
	}
	sum, err := l.hash(ctx, p)
	if err != nil {
		return 0, "", false, err
	}
	return info.Size(), sum, true, nil
}

// hash returns the SHA-256 of the file p.
func (l *Local) hash(ctx context.Context, p string) (string, error) {
	f, err := l.root.Open(p)
	if err != nil {
		return "", fmt.Errorf("documents: open %s: %w", p, classifyOSError(err))
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, ctxReader{ctx, f}); err != nil {
		return "", fmt.Errorf("documents: read %s: %w", p, classifyOSError(err))
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Put implements Store. It writes to a temporary file next to the target,
// checks size and checksum, syncs it and renames it into place, so the
// final name never holds a partial file, even after a crash.
func (l *Local) Put(ctx context.Context, p string, r io.Reader, size int64, mtime time.Time, sha256hex string) (err error) {
	if p, err = cleanPath(p); err != nil {
		return err
	}
	if err := l.root.MkdirAll(path.Dir(p), 0o750); err != nil {
		return fmt.Errorf("documents: create folder of %s: %w", p, classifyOSError(err))
	}
	tmp := path.Join(path.Dir(p), ".ecput-"+randomHex(8)+".tmp")
	f, err := l.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return fmt.Errorf("documents: create %s: %w", tmp, classifyOSError(err))
	}
	defer func() {
		if err != nil {
			f.Close()
			l.root.Remove(tmp)
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(ctxReader{ctx, r}, size+1))
	if err != nil {
		return fmt.Errorf("documents: write %s: %w", p, classifyOSError(err))
	}
	if err := checkContent(n, size, hex.EncodeToString(h.Sum(nil)), sha256hex); err != nil {
		return fmt.Errorf("documents: put %s: %w", p, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("documents: sync %s: %w", p, classifyOSError(err))
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("documents: close %s: %w", p, classifyOSError(err))
	}
	if !mtime.IsZero() {
		if err := l.root.Chtimes(tmp, mtime, mtime); err != nil {
			return fmt.Errorf("documents: set mtime of %s: %w", p, classifyOSError(err))
		}
	}
	if err := l.root.Rename(tmp, p); err != nil {
		return fmt.Errorf("documents: rename into %s: %w", p, classifyOSError(err))
	}
	return nil
}

// checkContent compares what was read with what was promised.
func checkContent(n, size int64, got, want string) error {
	if n != size {
		return fmt.Errorf("%w: read %d bytes, expected %d", ErrChecksum, n, size)
	}
	if want != "" && got != want {
		return fmt.Errorf("%w: SHA-256 %s, expected %s", ErrChecksum, got, want)
	}
	return nil
}

// Move implements Store. It links the file under the new name (which fails
// if the name exists, so nothing is overwritten) and then removes the old
// name; a crash in between leaves both names, which the next Move resolves.
func (l *Local) Move(ctx context.Context, from, to string) (err error) {
	if from, err = cleanPath(from); err != nil {
		return err
	}
	if to, err = cleanPath(to); err != nil {
		return err
	}
	if _, err := l.root.Lstat(from); errors.Is(err, fs.ErrNotExist) {
		if _, err := l.root.Lstat(to); err == nil {
			return nil
		}
		return fmt.Errorf("documents: move %s: %w", from, ErrNotFound)
	} else if err != nil {
		return fmt.Errorf("documents: move %s: %w", from, classifyOSError(err))
	}
	if err := l.root.MkdirAll(path.Dir(to), 0o750); err != nil {
		return fmt.Errorf("documents: create folder of %s: %w", to, classifyOSError(err))
	}
	err = l.root.Link(from, to)
	if errors.Is(err, fs.ErrExist) {
		return l.resolveExisting(ctx, from, to)
	}
	if err != nil {
		// No hard links here (a folder, or a file system without them):
		// check, then rename. The caller serialises moves in a thread.
		if _, serr := l.root.Lstat(to); serr == nil {
			return l.resolveExisting(ctx, from, to)
		}
		if err := l.root.Rename(from, to); err != nil {
			return fmt.Errorf("documents: move %s to %s: %w", from, to, classifyOSError(err))
		}
		return nil
	}
	if err := l.root.Remove(from); err != nil {
		return fmt.Errorf("documents: remove %s after linking: %w", from, classifyOSError(err))
	}
	return nil
}

// resolveExisting finishes a Move whose target exists: equal content means
// the move already happened (remove the source), else ErrExists.
func (l *Local) resolveExisting(ctx context.Context, from, to string) error {
	a, err := l.hash(ctx, from)
	if err != nil {
		return err
	}
	b, err := l.hash(ctx, to)
	if err != nil {
		return err
	}
	if a != b {
		return fmt.Errorf("documents: move %s to %s: %w", from, to, ErrExists)
	}
	if err := l.root.Remove(from); err != nil {
		return fmt.Errorf("documents: remove %s: %w", from, classifyOSError(err))
	}
	return nil
}

// MkdirAll implements Store.
func (l *Local) MkdirAll(_ context.Context, p string) error {
	p, err := cleanPath(p)
	if err != nil {
		return err
	}
	if err := l.root.MkdirAll(p, 0o750); err != nil {
		return fmt.Errorf("documents: create folder %s: %w", p, classifyOSError(err))
	}
	return nil
}

// ctxReader stops reading once its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Open implements Store: the file, read through the os.Root.
func (l *Local) Open(_ context.Context, p string) (io.ReadCloser, int64, error) {
	p, err := cleanPath(p)
	if err != nil {
		return nil, 0, err
	}
	f, err := l.root.Open(p)
	if err != nil {
		return nil, 0, fmt.Errorf("documents: open %s: %w", p, classifyOSError(err))
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("documents: stat %s: %w", p, classifyOSError(err))
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return nil, 0, fmt.Errorf("documents: open %s: not a file: %w", p, ErrNotFound)
	}
	return f, info.Size(), nil
}
