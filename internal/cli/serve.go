package cli

import (
	"github.com/spf13/cobra"

	svc "github.com/dedesales/exchange-connector/internal/app"
)

func (a *app) serveCommand() *cobra.Command {
	var role string
	cmd := &cobra.Command{
		Use:   "serve [--role=all|web|worker]",
		Short: "Run the service: Graph's webhooks (web), the jobs (worker), or both (all)",
		Long: "web answers Microsoft Graph's notifications and enqueues jobs; worker runs the jobs (fetch, match,\n" +
			"store, subscriptions, syncs). Both are stateless: run several behind a load balancer and against\n" +
			"the same Redis and PostgreSQL. SIGINT/SIGTERM shut down gracefully.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.config()
			if err != nil {
				return err
			}
			return svc.Serve(cmd.Context(), svc.Options{Config: cfg, Role: role, Log: a.log})
		},
	}
	cmd.Flags().StringVar(&role, "role", svc.RoleAll, "all, web or worker")
	return cmd
}
