// Package cli implements the `connector` command line: one cobra command
// per operator task. cmd/connector only calls Run.
package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/dedesales/exchange-connector/internal/config"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/spf13/cobra"
)

// app carries what every command needs; config and store are opened lazily
// so that commands such as `subject` work without either.
type app struct {
	configPath string
	environ    func() []string
	stdout     io.Writer
	stderr     io.Writer
	cfg        *config.Config
	st         *store.Store
	log        *slog.Logger
}

// Run executes the command line args and returns the process exit status.
// Errors are printed to stderr as one line.
func Run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := &app{environ: os.Environ, stdout: stdout, stderr: stderr}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if a.st != nil {
		a.st.Close()
	}
	if err != nil {
		fmt.Fprintf(stderr, "connector: %s\n", termSafe(oneLine(err)))
		return 1
	}
	return 0
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "connector",
		Short:         "Captures employees' Exchange Online e-mail into the DeDeSales CRM",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&a.configPath, "config", "", "YAML configuration file (default "+config.DefaultFile+" when present)")
	root.AddCommand(
		a.migrateCommand(),
		a.importCommand(),
		a.mailboxCommand(),
		a.settingsCommand(),
		a.credentialsCommand(),
		a.configCommand(),
		a.matchCommand(),
		a.subjectCommand(),
		a.serveCommand(),
		a.reportCommand(),
		a.explainCommand(),
		a.checkCommand(),
		a.opsCommand(),
		a.apikeyCommand(),
	)
	return root
}

// timeNow is the clock of the commands.
var timeNow = time.Now

// config loads and validates the configuration once.
func (a *app) config() (*config.Config, error) {
	if a.cfg != nil {
		return a.cfg, nil
	}
	cfg, err := config.Load(a.configPath, a.environ)
	if err != nil {
		return nil, err
	}
	a.cfg = cfg
	a.log = newLogger(cfg, a.stderr)
	return cfg, nil
}

// store opens the database and brings its schema up to date.
func (a *app) store(ctx context.Context) (*store.Store, error) {
	if a.st != nil {
		return a.st, nil
	}
	cfg, err := a.config()
	if err != nil {
		return nil, err
	}
	dialect, dsn, err := cfg.Database()
	if err != nil {
		return nil, fmt.Errorf("database_url: %w", err)
	}
	st, err := store.Open(ctx, dialect, dsn)
	if err != nil {
		return nil, err
	}
	if _, err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	a.st = st
	return st, nil
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
