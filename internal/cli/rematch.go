package cli

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"github.com/spf13/cobra"

	"github.com/dedesales/exchange-connector/jobs"
)

// rematchKeys are the settings whose change can turn ignored mail into
// matches (DESIGN §4 rules 3, 4 and 6).
var rematchKeys = map[string]bool{"ignored_domains": true, "full_match_domains": true, "own_domains": true}

func (a *app) rematchCommand() *cobra.Command {
	var (
		since  time.Duration
		dryRun bool
	)
	cmd := &cobra.Command{
		Use:   "rematch [--since 720h] [--dry-run]",
		Short: "Decide ignored mail again with today's master data and settings, and import what now matches",
		Long: "Decides the ignored decisions (no_match, ignored_domain, internal) made within --since again from the\n" +
			"candidates they stored, prints each that now matches (mailbox, message, subject, old reason → customer,\n" +
			"rule) and, without --dry-run, queues its import: the workers fetch the message and import it like new\n" +
			"mail. The API, `import` and `settings set` request this by themselves; run it by hand after a change\n" +
			"made while Redis was unreachable. Existing activities are never removed or moved.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			st, err := a.store(ctx)
			if err != nil {
				return err
			}
			if since <= 0 {
				settings, err := st.Settings(ctx)
				if err != nil {
					return err
				}
				since = time.Duration(settings.BackfillDays) * 24 * time.Hour
			}
			now := timeNow().UTC()
			var q *asynq.Client
			if !dryRun {
				opt, err := asynq.ParseRedisURI(a.cfg.RedisURL)
				if err != nil {
					return fmt.Errorf("redis_url: %w", err)
				}
				q = asynq.NewClient(opt)
				defer q.Close()
			}
			stats, err := jobs.PlanRematch(ctx, st, now.Add(-since), func(h jobs.RematchHit) error {
				d := h.Now
				fmt.Fprintf(a.stdout, "%s\t%s\t%s\t%s → customer %d (%s, %s)\n", h.Stored.Mailbox, h.Stored.GraphMessageID,
					strconv.Quote(h.Stored.Subject), h.Stored.Reason, *d.CustomerID, d.Rule, d.MatchedAddress)
				if q == nil {
					return nil
				}
				return jobs.EnqueueRematchMessage(ctx, q, h, "operator: connector rematch", now)
			})
			if err != nil {
				return err
			}
			verb := "queued for import"
			if dryRun {
				verb = "would be imported (--dry-run: nothing changed)"
			}
			fmt.Fprintf(a.stderr, "%d of %d ignored decisions since %s now match and %s", stats.Matched, stats.Scanned,
				now.Add(-since).Format(time.DateTime), verb)
			if stats.Unknown > 0 {
				fmt.Fprintf(a.stderr, "; %d internal decisions predate the recording of raw candidates and cannot be decided again", stats.Unknown)
			}
			fmt.Fprintln(a.stderr)
			return nil
		},
	}
	cmd.Flags().DurationVar(&since, "since", 0, "how far back to look, by when the decision was made (default backfill_days)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "only print what would be imported")
	return cmd
}

// requestRematch asks the workers to decide ignored mail again after a
// change. It never fails the command that made the change: without Redis it
// says to run `connector rematch` later.
func (a *app) requestRematch(ctx context.Context, cause string) {
	fail := func(err error) {
		fmt.Fprintf(a.stderr, "retroactive matching not queued (%s); run `connector rematch` once Redis is reachable\n", oneLine(err))
	}
	opt, err := asynq.ParseRedisURI(a.cfg.RedisURL)
	if err != nil {
		fail(fmt.Errorf("redis_url: %w", err))
		return
	}
	q := asynq.NewClient(opt)
	defer q.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	r := &jobs.Rematcher{Enqueuer: q, Now: timeNow}
	if err := r.RequestRematch(ctx, cause); err != nil {
		fail(err)
		return
	}
	fmt.Fprintln(a.stderr, "retroactive matching queued: ignored mail of the last backfill_days is decided again")
}
