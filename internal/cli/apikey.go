package cli

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// apikeyCommand manages the keys of the CRM API (DESIGN §11).
func (a *app) apikeyCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "apikey", Short: "Manage the keys of the CRM integration API (/api/v1)"}
	var name, scope string
	create := &cobra.Command{
		Use:   "create --name NAME --scope read|write",
		Short: "Create a key; prints the token alone on stdout (it cannot be shown again)",
		Long: "Create a key of the CRM API. The token is printed alone on stdout, so that\n" +
			"  TOKEN=$(connector apikey create --name crm --scope write)\n" +
			"captures it; only its hash is stored. A read key reads the feed and activities;\n" +
			"a write key may also write master data and settings. The API is off until a key exists.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			token, k, err := st.CreateAPIKey(cmd.Context(), name, scope)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, token)
			fmt.Fprintf(a.stderr, "created API key %q (scope %s, prefix %s); send it as \"Authorization: Bearer <token>\" — it is not shown again\n",
				k.Name, k.Scope, k.Prefix)
			return nil
		},
	}
	create.Flags().StringVar(&name, "name", "", "a name for the key, e.g. the system that uses it (required)")
	create.Flags().StringVar(&scope, "scope", "", "read or write (required)")
	_ = create.MarkFlagRequired("name")
	_ = create.MarkFlagRequired("scope")

	list := &cobra.Command{
		Use:   "list",
		Short: "List the keys: name, scope, prefix, created, last used, revoked",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			keys, err := st.APIKeys(cmd.Context())
			if err != nil {
				return err
			}
			if len(keys) == 0 {
				fmt.Fprintln(a.stderr, "no API keys; the API is off (create one with connector apikey create --name NAME --scope read|write)")
				return nil
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tSCOPE\tPREFIX\tCREATED\tLAST USED\tREVOKED")
			for _, k := range keys {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", k.Name, k.Scope, k.Prefix, when(&k.CreatedAt), when(k.LastUsedAt), when(k.RevokedAt))
			}
			return w.Flush()
		},
	}
	revoke := &cobra.Command{
		Use:   "revoke NAME",
		Short: "Revoke a key: requests with it are refused (401) within 5 seconds",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			if err := st.RevokeAPIKey(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(a.stderr, "revoked API key %q; running web processes refuse it within 5 seconds\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}

// when formats a time for the key list; "-" for none.
func when(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04 MST")
}
