package cli

import (
	"fmt"
	"io"
	"os"
)

// openInput opens a file named on the command line with an error that names it.
func openInput(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	return f, nil
}
