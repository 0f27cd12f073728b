package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/dedesales/exchange-connector/internal/store"
)

func (a *app) reportCommand() *cobra.Command {
	var (
		top  int
		wait time.Duration
	)
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Print mailboxes with their subscriptions, activities per customer and decisions by reason",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			if wait > 0 {
				if err := waitSynced(cmd.Context(), st, wait); err != nil {
					return err
				}
			}
			return writeReport(cmd.Context(), a.stdout, st, top, time.Now())
		},
	}
	cmd.Flags().IntVar(&top, "top", 15, "customers to list")
	cmd.Flags().DurationVar(&wait, "wait-synced", 0, "first wait up to this long until every enabled mailbox has a subscription and a completed sync")
	return cmd
}

func writeReport(ctx context.Context, out io.Writer, st *store.Store, top int, now time.Time) error {
	mbs, err := st.Mailboxes(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "MAILBOX\tSTATE\tSUBSCRIPTION\tEXPIRES IN\tLAST NOTIFICATION\tLAST SYNC")
	for _, mb := range mbs {
		sub, err := st.SubscriptionOf(ctx, mb.EmployeeID)
		subState, expires, last := "none", "-", "-"
		switch {
		case err == nil:
			subState = sub.Status
			if sub.Status == store.SubscriptionActive {
				expires = sub.ExpiresAt.Sub(now).Round(time.Minute).String()
			} else if sub.LastError != "" {
				subState += ": " + termSafe(shorten(sub.LastError, 60))
			}
			if sub.LastNotificationAt != nil {
				last = ago(now, *sub.LastNotificationAt)
			}
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		synced := "never"
		if mb.LastSyncAt != nil {
			synced = ago(now, *mb.LastSyncAt)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", termSafe(mb.Address), mb.State(), subState, expires, last, synced)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := writeFirstSyncs(ctx, out, st, now); err != nil {
		return err
	}
	activities, links, err := st.ActivityCount(ctx)
	if err != nil {
		return err
	}
	perCustomer, err := st.ActivitiesPerCustomer(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nActivities: %d (linked from %d mailbox copies), at %d customers\n", activities, links, len(perCustomer))
	for i, c := range perCustomer {
		if i == top {
			fmt.Fprintf(out, "  … and %d more customers\n", len(perCustomer)-top)
			break
		}
		fmt.Fprintf(out, "  %4d  %s\n", c.N, termSafe(c.Label))
	}
	docs, size, err := st.DocumentCount(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nAttachments filed: %d (%.1f MB)\n", docs, float64(size)/1e6)
	reasons, err := st.DecisionsByReason(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "\nDecisions by outcome/reason:")
	for _, c := range reasons {
		fmt.Fprintf(out, "  %4d  %s\n", c.N, termSafe(c.Label))
	}
	return nil
}

func ago(now, t time.Time) string {
	return now.Sub(t).Round(time.Second).String() + " ago"
}

func shorten(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// waitSynced waits until every syncable mailbox has an active subscription
// and a completed sync (after setup, when the backfill is done).
func waitSynced(ctx context.Context, st *store.Store, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		done, pending, err := st.SyncProgress(ctx)
		if err != nil {
			return err
		}
		if pending == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %s, %d of %d mailboxes are still without subscription or first sync", limit, pending, done+pending)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
