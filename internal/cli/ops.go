package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/dedesales/exchange-connector/internal/ops"
)

func (a *app) opsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "ops", Short: "Operator access to the /ops status page and queue dashboard"}
	var out string
	password := &cobra.Command{
		Use:   "password --out FILE",
		Short: "Read a password from standard input and write its bcrypt hash to FILE (mode 0600), for CONNECTOR_OPS_PASSWORD_FILE",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pw, err := readSecret(cmd.InOrStdin(), "-")
			if err != nil {
				return errors.New("the password is read from standard input and must not be empty")
			}
			if len(pw) < 12 {
				return errors.New("use a password of at least 12 characters")
			}
			hash, err := ops.HashPassword(pw)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(out), 0o700); err != nil {
				return err
			}
			if err := os.WriteFile(out, []byte(hash+"\n"), 0o600); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "wrote the bcrypt hash to %s; set CONNECTOR_OPS_PASSWORD_FILE=%s\n", out, out)
			return nil
		},
	}
	password.Flags().StringVar(&out, "out", "var/ops-password", "file to write the hash to")
	cmd.AddCommand(password)
	return cmd
}
