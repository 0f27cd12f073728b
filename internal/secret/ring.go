package secret

import (
	"errors"
	"fmt"
)

// Ring is the master key and the previous ones still accepted while it is
// rotated (the configuration's previous_master_key_files). New values are
// sealed under Current only; Open finds the key a value was sealed under.
type Ring struct {
	Current  *Key
	Previous []*Key
}

// LoadRing reads the previous master key files for current. A missing file
// is an error, and so is a file holding the current key itself.
func LoadRing(current *Key, previousFiles []string) (Ring, error) {
	r := Ring{Current: current}
	for _, f := range previousFiles {
		k, err := LoadKey(f)
		if err != nil {
			return Ring{}, fmt.Errorf("previous master key: %w", err)
		}
		if k.ID() == current.ID() {
			return Ring{}, fmt.Errorf("secret: previous master key file %s holds the current master key (%s)", f, k.ID())
		}
		r.Previous = append(r.Previous, k)
	}
	return r, nil
}

// Open decrypts a value sealed under any key of the ring. rotated reports
// that it was a previous key: the value should be sealed again under
// Current before that key is retired.
func (r Ring) Open(sealed, context string) (plaintext string, rotated bool, err error) {
	v, err := r.Current.Open(sealed, context)
	if !errors.Is(err, ErrWrongKey) {
		return v, false, err
	}
	for _, k := range r.Previous {
		if v, perr := k.Open(sealed, context); !errors.Is(perr, ErrWrongKey) {
			return v, perr == nil, perr
		}
	}
	return "", false, err
}

// Derive derives a key for one purpose (Key.Derive) from every key of the
// ring: the current key's first, then the previous keys'.
func (r Ring) Derive(label string) (current []byte, previous [][]byte) {
	for _, k := range r.Previous {
		previous = append(previous, k.Derive(label))
	}
	return r.Current.Derive(label), previous
}
