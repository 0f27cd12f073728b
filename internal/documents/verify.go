package documents

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
)

// verifyReader passes exactly size bytes of r through and checks them
// before handing out the last one: a short or long stream, or one with the
// wrong SHA-256, ends in an ErrChecksum error instead of a clean EOF, so an
// HTTP upload reading from it is aborted and the server discards it.
type verifyReader struct {
	r    io.Reader
	size int64
	n    int64
	want string
	h    hash.Hash
	err  error
	done bool
}

func newVerifyReader(r io.Reader, size int64, want string) *verifyReader {
	return &verifyReader{r: r, size: size, want: want, h: sha256.New()}
}

// Read implements io.Reader.
func (v *verifyReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	if v.n == v.size {
		if !v.done {
			if v.err = v.finish(); v.err != nil {
				return 0, v.err
			}
		}
		return 0, io.EOF
	}
	if rest := v.size - v.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	k, err := v.r.Read(p)
	v.h.Write(p[:k])
	v.n += int64(k)
	if v.n == v.size {
		if v.err = v.finish(); v.err != nil {
			return 0, v.err
		}
		return k, nil
	}
	if errors.Is(err, io.EOF) {
		v.err = fmt.Errorf("%w: stream ended after %d of %d bytes", ErrChecksum, v.n, v.size)
		return 0, v.err
	}
	if err != nil {
		v.err = err
		return 0, err
	}
	return k, nil
}

// finish checks, once all size bytes are in, that nothing follows and that
// the SHA-256 matches.
func (v *verifyReader) finish() error {
	v.done = true
	var one [1]byte
	for range 100 { // a Reader may return 0, nil a few times
		m, err := v.r.Read(one[:])
		if m > 0 {
			return fmt.Errorf("%w: stream is longer than %d bytes", ErrChecksum, v.size)
		}
		if errors.Is(err, io.EOF) {
			return v.check()
		}
		if err != nil {
			return err
		}
	}
	return io.ErrNoProgress
}

// check compares the SHA-256 with the expected one.
func (v *verifyReader) check() error {
	if v.want != "" && v.sum() != v.want {
		return fmt.Errorf("%w: SHA-256 %s, expected %s", ErrChecksum, v.sum(), v.want)
	}
	return nil
}

// sum returns the SHA-256 of what was read so far.
func (v *verifyReader) sum() string { return hex.EncodeToString(v.h.Sum(nil)) }
