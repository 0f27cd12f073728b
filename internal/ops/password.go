package ops

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// HashCost is the bcrypt cost of HashPassword: about a quarter of a second
// per login on a small machine, which the login rate limit bounds.
const HashCost = 12

// HashPassword returns the bcrypt hash of an operator password, the line to
// put into CONNECTOR_OPS_PASSWORD_FILE (`connector ops password` prints it).
func HashPassword(password string) (string, error) {
	if password == "" {
		return "", errors.New("ops: the password is empty")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), HashCost)
	if err != nil {
		return "", fmt.Errorf("ops: hashing the password: %w", err)
	}
	return string(h), nil
}

// passwordSource reads the password file, again whenever it changes.
type passwordSource struct {
	path string
	log  *slog.Logger

	mu      sync.Mutex
	modTime time.Time
	size    int64
	content []byte // trimmed; a bcrypt hash or the password
	plain   bool
}

func newPasswordSource(path string, log *slog.Logger) (*passwordSource, error) {
	p := &passwordSource{path: path, log: log}
	if _, _, err := p.current(); err != nil {
		return nil, err
	}
	return p, nil
}

// current returns the file's content, re-reading it when its size or
// modification time changed.
func (p *passwordSource) current() (content []byte, plain bool, err error) {
	fi, err := os.Stat(p.path)
	if err != nil {
		return nil, false, fmt.Errorf("ops: password file (CONNECTOR_OPS_PASSWORD_FILE): %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.content != nil && fi.ModTime().Equal(p.modTime) && fi.Size() == p.size {
		return p.content, p.plain, nil
	}
	b, err := os.ReadFile(p.path)
	if err != nil {
		return nil, false, fmt.Errorf("ops: password file (CONNECTOR_OPS_PASSWORD_FILE): %w", err)
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil, false, fmt.Errorf("ops: password file %s (CONNECTOR_OPS_PASSWORD_FILE) is empty", p.path)
	}
	_, costErr := bcrypt.Cost(b)
	p.content, p.plain, p.modTime, p.size = b, costErr != nil, fi.ModTime(), fi.Size()
	if p.plain {
		p.log.Warn("the ops password file holds a plain password; a bcrypt hash is recommended (connector ops password)", "file", p.path)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		p.log.Warn("the ops password file is readable by other users; chmod 600 it", "file", p.path, "mode", fi.Mode().Perm().String())
	}
	return p.content, p.plain, nil
}

// verify reports whether password is the operator password.
func (p *passwordSource) verify(password string) (bool, error) {
	content, plain, err := p.current()
	if err != nil {
		return false, err
	}
	if plain {
		a, b := sha256.Sum256([]byte(password)), sha256.Sum256(content)
		return subtle.ConstantTimeCompare(a[:], b[:]) == 1, nil
	}
	err = bcrypt.CompareHashAndPassword(content, []byte(password))
	if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) || errors.Is(err, bcrypt.ErrPasswordTooLong) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("ops: password file %s: %w", p.path, err)
	}
	return true, nil
}
