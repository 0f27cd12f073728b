package documents

import (
	"errors"
	"fmt"
	"net/http"
	"syscall"
)

// Errors of a Store. Backends wrap them with %w, so test with errors.Is.
var (
	// ErrQuota means the store is full: WebDAV 507 Insufficient Storage, or
	// ENOSPC/EDQUOT on a local disk. Retry later, after someone made room.
	ErrQuota = errors.New("documents: storage quota exceeded")
	// ErrAuth means the store refused the credentials (WebDAV 401 or 403).
	// Alert an operator; retrying will not help until the app password or
	// the share is fixed, so back off hard instead of retrying in a storm.
	ErrAuth = errors.New("documents: not authorised")
	// ErrNotFound means the path (or, for Move, the source) does not exist.
	ErrNotFound = errors.New("documents: not found")
	// ErrChecksum means the bytes read did not have the promised size or
	// SHA-256; nothing was stored under the final name.
	ErrChecksum = errors.New("documents: content does not match size or checksum")
	// ErrExists means Move found a different file at the target; the source
	// is left in place.
	ErrExists = errors.New("documents: target exists with different content")
	// ErrPath means a path is not a clean relative path inside the store
	// (absolute, "..", empty segments or a symlink pointing outside).
	ErrPath = errors.New("documents: invalid path")
)

// classifyOSError maps a local file-system error to the package's errors:
// ENOSPC and EDQUOT to ErrQuota, EACCES and EPERM to ErrAuth, a missing file
// to ErrNotFound. Other errors are returned unchanged. The original error
// stays in the chain.
func classifyOSError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return fmt.Errorf("%w: %w", ErrQuota, err)
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return fmt.Errorf("%w: %w", ErrAuth, err)
	case errors.Is(err, syscall.ENOENT):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}

// StatusError is a WebDAV reply with an unexpected status code.
type StatusError struct {
	Method string
	Path   string // relative to the store's base, never with credentials
	Code   int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("documents: webdav %s %s: %d %s", e.Method, e.Path, e.Code, http.StatusText(e.Code))
}

// Unwrap maps the status code to the package's errors: 507 to ErrQuota, 401
// and 403 to ErrAuth, 404 to ErrNotFound.
func (e *StatusError) Unwrap() error {
	switch e.Code {
	case http.StatusInsufficientStorage:
		return ErrQuota
	case http.StatusUnauthorized, http.StatusForbidden:
		return ErrAuth
	case http.StatusNotFound:
		return ErrNotFound
	}
	return nil
}
