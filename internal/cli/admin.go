package cli

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/dedesales/exchange-connector/internal/crmfile"
	"github.com/dedesales/exchange-connector/internal/queue"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/hibiken/asynq"
	"github.com/spf13/cobra"
)

func (a *app) migrateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Create or update the database schema",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := a.store(cmd.Context()) // opening migrates
			if err != nil {
				return err
			}
			cur, _, err := st.SchemaVersion(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "database schema at version %d (%s)\n", cur, st.Dialect())
			return nil
		},
	}
}

func (a *app) importCommand() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "import --crm FILE",
		Short: "Load employees, customers, contacts, leads, opportunities and settings from a CRM export",
		Long: "Loads the JSON CRM export (DESIGN §4). Rows are matched by ID: new ones are inserted, changed ones\n" +
			"updated, equal ones left alone, so importing the same file twice changes nothing. Rows missing from\n" +
			"the file are kept. An invalid file imports nothing.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := readCRM(path)
			if err != nil {
				return err
			}
			st, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			stats, err := st.ImportCRM(cmd.Context(), f)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			tables := make([]string, 0, len(stats))
			for t := range stats {
				tables = append(tables, t)
			}
			sort.Strings(tables)
			changed := false
			for _, t := range tables {
				s := stats[t]
				fmt.Fprintf(a.stdout, "%-14s %d new, %d updated, %d unchanged\n", t+":", s.Inserted, s.Updated, s.Unchanged)
				changed = changed || s.Inserted+s.Updated > 0
			}
			if changed {
				a.requestRematch(cmd.Context(), "import "+filepath.Base(path))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "crm", "", "the CRM export (JSON)")
	_ = cmd.MarkFlagRequired("crm")
	return cmd
}

// readCRM parses a CRM file without checking references, which the store
// checks against the database as well.
func readCRM(path string) (*crmfile.File, error) {
	f, err := openInput(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	crm, err := crmfile.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return crm, nil
}

func (a *app) mailboxCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "mailbox", Short: "List, enable and disable employees' Exchange mailboxes"}
	var all bool
	list := &cobra.Command{
		Use:   "list",
		Short: "Print one line per enabled mailbox: address, employee ID, name, state (and Graph's error when access_denied or not_found)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			mbs, err := st.Mailboxes(cmd.Context())
			if err != nil {
				return err
			}
			for _, m := range mbs {
				if !all && !m.Syncable() {
					continue
				}
				line := fmt.Sprintf("%s\t%d\t%s\t%s", termSafe(m.Address), m.EmployeeID, termSafe(m.Name), m.State())
				if st := m.State(); (st == store.MailboxAccessDenied || st == store.MailboxNotFound) && m.LastError != "" {
					// Graph's words: why the mailbox is not synced.
					line += "\t" + termSafe(oneLineText(m.LastError))
				}
				fmt.Fprintln(a.stdout, line)
			}
			return nil
		},
	}
	list.Flags().BoolVar(&all, "all", false, "also list disabled, access-denied, not-found and inactive mailboxes")
	cmd.AddCommand(list, a.mailboxSwitch("enable", false), a.mailboxSwitch("disable", true), a.mailboxResyncCommand())
	return cmd
}

func (a *app) mailboxSwitch(verb string, disabled bool) *cobra.Command {
	return &cobra.Command{
		Use:   verb + " MAILBOX|EMPLOYEE-EMAIL|EMPLOYEE-ID",
		Short: strings.ToUpper(verb[:1]) + verb[1:] + " syncing of an employee's mailbox",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			m, err := st.FindMailbox(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if err := st.SetMailboxDisabled(cmd.Context(), m.EmployeeID, disabled); err != nil {
				return err
			}
			m, err = st.MailboxByEmployee(cmd.Context(), m.EmployeeID)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s\t%d\t%s\t%s\n", termSafe(m.Address), m.EmployeeID, termSafe(m.Name), m.State())
			return nil
		},
	}
}

func (a *app) mailboxResyncCommand() *cobra.Command {
	var (
		fresh, wait bool
		timeout     time.Duration
	)
	cmd := &cobra.Command{
		Use:   "resync MAILBOX|EMPLOYEE-EMAIL|EMPLOYEE-ID",
		Short: "Queue a delta sync of a mailbox (--fresh: start over, reaching back backfill_days; --wait: follow it)",
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
				// The next sync is a first sync again, with a record of its own.
				if err := st.ForgetFirstSync(cmd.Context(), mb.EmployeeID); err != nil {
					return err
				}
			}
			opt, err := asynq.ParseRedisURI(a.cfg.RedisURL)
			if err != nil {
				return fmt.Errorf("redis_url: %w", err)
			}
			q := asynq.NewClient(opt)
			defer q.Close()
			t, err := queue.NewSyncMailboxTask(queue.SyncMailboxPayload{EmployeeID: mb.EmployeeID, Reason: "operator"}, timeNow())
			if err != nil {
				return err
			}
			_, err = q.EnqueueContext(cmd.Context(), t)
			switch {
			case errors.Is(err, asynq.ErrTaskIDConflict):
				// Syncs of a mailbox within a minute share a task ID: the one
				// queued will run, as after any other enqueue of it.
				fmt.Fprintf(a.stdout, "sync of %s already queued\n", termSafe(mb.Address))
			case err != nil:
				return fmt.Errorf("queueing the sync: %w", err)
			default:
				fmt.Fprintf(a.stdout, "sync of %s queued\n", termSafe(mb.Address))
			}
			if !wait {
				return nil
			}
			var deadline time.Time
			if timeout > 0 {
				deadline = time.Now().Add(timeout)
			}
			w := &resyncWaiter{st: st, mb: mb, out: a.stdout, tty: isTerminal(a.stdout), now: time.Now, syncedAt: mb.LastSyncAt}
			return w.wait(cmd.Context(), deadline)
		},
	}
	cmd.Flags().BoolVar(&fresh, "fresh", false, "forget the delta links and sync from backfill_days ago")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the sync has completed, showing a first sync's progress (a bar on a terminal)")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "with --wait: give up after this long (0: wait until interrupted)")
	return cmd
}

func (a *app) settingsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "settings", Short: "Read and change the connector's settings"}
	get := &cobra.Command{
		Use:   "get [KEY]",
		Short: "Print one setting's value, or every setting as KEY=VALUE",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			if len(args) == 1 {
				v, err := st.Setting(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				fmt.Fprintln(a.stdout, termSafe(v))
				return nil
			}
			for _, key := range store.SettingKeys() {
				v, err := st.Setting(cmd.Context(), key)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "%s=%s\n", key, termSafe(v))
			}
			return nil
		},
	}
	set := &cobra.Command{
		Use:   "set KEY VALUE",
		Short: "Change a setting (lists: JSON array or comma-separated)",
		Long:  "Known settings:\n" + settingsHelp(),
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			if err := st.SetSetting(cmd.Context(), args[0], args[1]); err != nil {
				return err
			}
			v, err := st.Setting(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s=%s\n", termSafe(args[0]), termSafe(v))
			if rematchKeys[args[0]] {
				a.requestRematch(cmd.Context(), "settings set "+args[0])
			}
			return nil
		},
	}
	cmd.AddCommand(get, set)
	return cmd
}

func settingsHelp() string {
	var b strings.Builder
	for _, k := range store.SettingKeys() {
		fmt.Fprintf(&b, "  %-26s %s\n", k, store.SettingHelp(k))
	}
	return b.String()
}

func (a *app) configCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Inspect the configuration"}
	cmd.AddCommand(&cobra.Command{
		Use:   "show",
		Short: "Print the effective configuration with passwords redacted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.config()
			if err != nil {
				return err
			}
			return cfg.Show(a.stdout)
		},
	})
	return cmd
}
