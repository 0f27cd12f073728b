package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	svc "github.com/dedesales/exchange-connector/internal/app"
)

func (a *app) checkCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Test credentials, token, each mailbox's access, the public notification URL, the document store and SMTP",
		Long: "Prints a verdict per item and exits non-zero if any fails. The notification URL is tested by creating\n" +
			"and deleting a short-lived subscription: Graph sends its validation handshake to CONNECTOR_PUBLIC_URL,\n" +
			"so `connector serve` (web role) must be running there. With SMTP configured, a test mail goes to\n" +
			"the alert_recipients.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.config()
			if err != nil {
				return err
			}
			failures, err := svc.Check(cmd.Context(), cfg, termSafeWriter{a.stdout}, a.log)
			if err != nil {
				return err
			}
			if failures > 0 {
				return fmt.Errorf("check: %d item(s) failed", failures)
			}
			return nil
		},
	}
}
