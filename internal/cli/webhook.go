package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dedesales/exchange-connector/internal/crmhook"
	"github.com/dedesales/exchange-connector/internal/secret"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/spf13/cobra"
)

func (a *app) webhookCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "webhook", Short: "Send signed events about new activities and documents to the CRM (Standard Webhooks)"}
	cmd.AddCommand(a.webhookAddCommand(), a.webhookListCommand(), a.webhookRemoveCommand(), a.webhookTestCommand())
	return cmd
}

func (a *app) webhookAddCommand() *cobra.Command {
	var (
		rawURL, events string
		allowPrivate   bool
	)
	cmd := &cobra.Command{
		Use:   "add --url URL [--events activity.created,activity.updated,document.filed] [--allow-private]",
		Short: "Register a CRM endpoint; prints its signing secret (whsec_…) alone on standard output",
		Long: "Registers an HTTPS endpoint of the CRM that receives a POST per change of the events chosen\n" +
			"(default: all), signed per the Standard Webhooks specification with the secret printed once here.\n" +
			"The endpoint receives the changes made from now on. Private, loopback and link-local addresses and\n" +
			"plain http:// are refused unless --allow-private (a CRM on the same network).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.addWebhook(cmd.Context(), rawURL, events, allowPrivate)
		},
	}
	cmd.Flags().StringVar(&rawURL, "url", "", "the endpoint's URL (https://…)")
	cmd.Flags().StringVar(&events, "events", "", "comma-separated event types (default: "+strings.Join(crmhook.Events, ",")+")")
	cmd.Flags().BoolVar(&allowPrivate, "allow-private", false, "allow private, loopback and link-local addresses and plain http://")
	_ = cmd.MarkFlagRequired("url")
	return cmd
}

func (a *app) addWebhook(ctx context.Context, rawURL, events string, allowPrivate bool) error {
	kinds, err := crmhook.ParseEvents(events)
	if err != nil {
		return fmt.Errorf("--events: %w", err)
	}
	lookup, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	u, err := crmhook.CheckURL(lookup, rawURL, allowPrivate, nil)
	if err != nil {
		return fmt.Errorf("--url: %w", err)
	}
	cfg, err := a.config()
	if err != nil {
		return err
	}
	key, created, err := secret.LoadOrCreateKey(cfg.MasterKeyFile)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(a.stderr, "connector: created a new master key in %s (back it up; without it the stored secrets cannot be read)\n", cfg.MasterKeyFile)
	}
	signing, err := crmhook.NewSecret()
	if err != nil {
		return err
	}
	sealed, err := crmhook.SealSecret(key, u.String(), signing)
	if err != nil {
		return err
	}
	st, err := a.store(ctx)
	if err != nil {
		return err
	}
	id, err := st.AddWebhookEndpoint(ctx, store.WebhookEndpoint{URL: u.String(), SecretSealed: sealed, AllowPrivate: allowPrivate}, kinds)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "added webhook %d: %s for %s%s\n", id, u, strings.Join(kinds, ", "), map[bool]string{true: " (private addresses allowed)"}[allowPrivate])
	fmt.Fprintln(a.stderr, "its signing secret follows on standard output; it is shown only this once: give it to the CRM to verify the webhook-signature header")
	fmt.Fprintln(a.stdout, signing)
	return nil
}

func (a *app) webhookListCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the CRM endpoints: ID, URL, events, state (ok or failing since), last error",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			eps, err := st.WebhookEndpoints(cmd.Context())
			if err != nil {
				return err
			}
			if len(eps) == 0 {
				fmt.Fprintln(a.stderr, "no webhooks; add one with `connector webhook add --url URL`")
				return nil
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tURL\tEVENTS\tSTATE\tLAST ERROR")
			for _, ep := range eps {
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\n", ep.ID, ep.URL, ep.EventsList, webhookState(ep), oneLineText(ep.LastError))
			}
			return w.Flush()
		},
	}
}

// webhookState is "ok", "ok (no delivery yet)" or "failing since …".
func webhookState(ep store.WebhookEndpoint) string {
	state := "ok"
	switch {
	case ep.FailingSince != nil:
		state = "failing since " + ep.FailingSince.UTC().Format(time.RFC3339)
	case ep.LastSuccessAt == nil:
		state = "ok (no delivery yet)"
	}
	if ep.AllowPrivate {
		state += ", private allowed"
	}
	return state
}

func oneLineText(s string) string {
	if s == "" {
		return "-"
	}
	return strings.Join(strings.Fields(s), " ")
}

func (a *app) webhookRemoveCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "remove ID|URL",
		Short: "Remove a CRM endpoint; its pending deliveries are dropped",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, ep, err := a.webhookOf(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if err := st.RemoveWebhookEndpoint(cmd.Context(), ep.ID); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "removed webhook %d: %s\n", ep.ID, ep.URL)
			return nil
		},
	}
}

func (a *app) webhookTestCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "test ID|URL",
		Short: "Send one signed test event (type webhook.test) to a CRM endpoint now and print the answer",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, ep, err := a.webhookOf(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			keys, err := a.masterKeys()
			if err != nil {
				return err
			}
			svc := crmhook.New(crmhook.Config{Store: st, Keys: keys, Log: a.log})
			res, err := svc.Test(cmd.Context(), ep)
			if err != nil {
				return fmt.Errorf("webhook %d: the test event was not accepted: %w", ep.ID, err)
			}
			fmt.Fprintf(a.stdout, "webhook %d: %s answered HTTP %d in %s\n", ep.ID, ep.URL, res.Status, res.Duration.Round(time.Millisecond))
			return nil
		},
	}
}

// webhookOf finds an endpoint by ID or URL.
func (a *app) webhookOf(ctx context.Context, arg string) (*store.Store, store.WebhookEndpoint, error) {
	st, err := a.store(ctx)
	if err != nil {
		return nil, store.WebhookEndpoint{}, err
	}
	var ep store.WebhookEndpoint
	if id, perr := strconv.ParseInt(arg, 10, 64); perr == nil {
		ep, err = st.WebhookEndpoint(ctx, id)
	} else {
		ep, err = st.WebhookEndpointByURL(ctx, arg)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, ep, fmt.Errorf("no webhook %q; `connector webhook list` shows them", arg)
	}
	return st, ep, err
}

// resealWebhooks seals the webhooks' signing secrets sealed under a
// previous master key again under the current one (credentials reseal).
func (a *app) resealWebhooks(ctx context.Context, st *store.Store, ring secret.Ring) error {
	ids, err := crmhook.ResealSecrets(ctx, st, ring)
	for _, id := range ids {
		fmt.Fprintf(a.stdout, "webhook %d secret sealed under %s\n", id, ring.Current)
	}
	return err
}
