package app

import (
	"errors"
	"fmt"

	"github.com/dedesales/exchange-connector/internal/clientstate"
	"github.com/dedesales/exchange-connector/internal/config"
	"github.com/dedesales/exchange-connector/internal/secret"
)

// masterKeys are the configured master key and the previous ones still
// accepted while it is rotated (previous_master_key_files).
type masterKeys struct {
	current  *secret.Key
	previous []*secret.Key
}

// loadPreviousKeys reads the previous master keys of the configuration.
func loadPreviousKeys(cfg *config.Config, current *secret.Key) (masterKeys, error) {
	mk := masterKeys{current: current}
	for _, f := range cfg.PreviousMasterKeyFiles {
		k, err := secret.LoadKey(f)
		if err != nil {
			return masterKeys{}, fmt.Errorf("previous_master_key_files: %w", err)
		}
		if k.ID() == current.ID() {
			return masterKeys{}, fmt.Errorf("previous_master_key_files: %s holds the current master key (%s)", f, k.ID())
		}
		mk.previous = append(mk.previous, k)
	}
	return mk, nil
}

// open decrypts a sealed secret with whichever key sealed it.
func (mk masterKeys) open(sealed, context string) (string, error) {
	v, err := mk.current.Open(sealed, context)
	if !errors.Is(err, secret.ErrWrongKey) {
		return v, err
	}
	for _, k := range mk.previous {
		if v, perr := k.Open(sealed, context); !errors.Is(perr, secret.ErrWrongKey) {
			return v, perr
		}
	}
	return "", err
}

// clientState signs new subscriptions' clientState with the current key
// and accepts those signed with a previous one.
func (mk masterKeys) clientState() (clientstate.Keys, error) {
	var prev [][]byte
	for _, k := range mk.previous {
		prev = append(prev, k.Derive("clientstate"))
	}
	return clientstate.NewKeys(mk.current.Derive("clientstate"), prev...)
}
