package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dedesales/exchange-connector/internal/explain"
)

func (a *app) explainCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "explain ID",
		Short: "Why is this mail (not) in the CRM? ID: the Graph message ID or the internetMessageId",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			ds, err := st.DecisionsFor(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if len(ds) == 0 {
				return fmt.Errorf("no decision about %q: the connector has not seen this message (not in a synced mailbox, or not yet processed)", args[0])
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(ds)
			}
			for _, d := range ds {
				fmt.Fprint(a.stdout, termSafeText(explain.Decision(d)))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the decisions as JSON")
	return cmd
}
