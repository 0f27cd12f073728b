package cli

import (
	"encoding/json"
	"fmt"

	"github.com/hibiken/asynq"
	"github.com/spf13/cobra"

	"github.com/dedesales/exchange-connector/internal/ops"
	"github.com/dedesales/exchange-connector/jobs"
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
				fmt.Fprint(a.stdout, ops.ExplainDecision(d))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the decisions as JSON")
	return cmd
}

func (a *app) mailboxResyncCommand() *cobra.Command {
	var fresh bool
	cmd := &cobra.Command{
		Use:   "resync MAILBOX|EMPLOYEE-EMAIL|EMPLOYEE-ID",
		Short: "Queue a delta sync of a mailbox (--fresh: start over, reaching back backfill_days)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			mb, err := st.FindMailbox(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if fresh {
				folders, err := st.Folders(cmd.Context(), mb.EmployeeID)
				if err != nil {
					return err
				}
				for _, f := range folders {
					if err := st.SetDeltaLink(cmd.Context(), mb.EmployeeID, f.ID, ""); err != nil {
						return err
					}
				}
			}
			opt, err := asynq.ParseRedisURI(a.cfg.RedisURL)
			if err != nil {
				return fmt.Errorf("redis_url: %w", err)
			}
			q := asynq.NewClient(opt)
			defer q.Close()
			t, err := jobs.NewSyncMailboxTask(jobs.SyncMailboxPayload{EmployeeID: mb.EmployeeID, Reason: "operator"}, timeNow())
			if err != nil {
				return err
			}
			if _, err := q.EnqueueContext(cmd.Context(), t); err != nil {
				return fmt.Errorf("queueing the sync: %w", err)
			}
			fmt.Fprintf(a.stdout, "sync of %s queued\n", mb.Address)
			return nil
		},
	}
	cmd.Flags().BoolVar(&fresh, "fresh", false, "forget the delta links and sync from backfill_days ago")
	return cmd
}
