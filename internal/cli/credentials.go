package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/dedesales/exchange-connector/internal/secret"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/spf13/cobra"
)

var (
	guidRE   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	tenantRE = regexp.MustCompile(`^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[a-zA-Z0-9-]+(\.[a-zA-Z0-9-]+)+)$`)
)

func (a *app) credentialsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "credentials", Short: "Store and inspect the Entra app's credentials (secret or certificate key encrypted at rest)"}
	cmd.AddCommand(a.credentialsSetCommand(), a.credentialsRotateCommand(), a.credentialsShowCommand(), a.credentialsRemoveCommand(),
		a.credentialsResealCommand())
	return cmd
}

type credentialFlags struct {
	tenantID, clientID, secretFile, certificateFile, expires string
}

// bind declares the credential flags; idNote is appended to the ID flags' help.
func (f *credentialFlags) bind(cmd *cobra.Command, idNote string) {
	cmd.Flags().StringVar(&f.tenantID, "tenant-id", "", "directory (tenant) ID, a GUID or a verified domain"+idNote)
	cmd.Flags().StringVar(&f.clientID, "client-id", "", "application (client) ID, a GUID"+idNote)
	cmd.Flags().StringVar(&f.secretFile, "secret-file", "", "file holding the client secret value, or - for standard input")
	cmd.Flags().StringVar(&f.certificateFile, "certificate-file", "",
		"PEM file holding the certificate uploaded in Entra and its unencrypted RSA private key, or - for standard input (recommended for production)")
	cmd.Flags().StringVar(&f.expires, "expires", "", "the secret's expiry date as shown in Entra (YYYY-MM-DD); a certificate's own expiry is used")
	cmd.MarkFlagsOneRequired("secret-file", "certificate-file")
	cmd.MarkFlagsMutuallyExclusive("secret-file", "certificate-file")
	cmd.MarkFlagsMutuallyExclusive("certificate-file", "expires")
}

func (a *app) credentialsSetCommand() *cobra.Command {
	var f credentialFlags
	cmd := &cobra.Command{
		Use:   "set --tenant-id T --client-id C (--certificate-file F | --secret-file F [--expires YYYY-MM-DD])",
		Short: "Store the app's credentials, replacing the active ones",
		Long: "Stores tenant ID, client (application) ID and either a certificate or a client secret.\n" +
			"A certificate (Microsoft's advice for production) is a PEM file with the certificate whose public part is\n" +
			"uploaded in Entra and its unencrypted RSA private key; its thumbprint and expiry are shown, the key is stored\n" +
			"encrypted under the master key. A secret is read from a file (or - for standard input), never from the\n" +
			"command line, and stored encrypted likewise.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.addCredential(cmd.Context(), cmd.InOrStdin(), f, true)
		},
	}
	f.bind(cmd, "")
	for _, name := range []string{"tenant-id", "client-id"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

func (a *app) credentialsRotateCommand() *cobra.Command {
	var f credentialFlags
	cmd := &cobra.Command{
		Use:   "rotate (--certificate-file F | --secret-file F [--expires YYYY-MM-DD])",
		Short: "Add a new certificate or client secret of the same app; the old one stays usable until it fails or is removed",
		Long: "Rotation without downtime: upload a second certificate (or create a second secret) in Entra ID, add it\n" +
			"here, and the connector uses the newest one that works. Tenant and client ID are those of the active\n" +
			"credentials unless given. Moving from a secret to a certificate is a rotation too.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.tenantID == "" || f.clientID == "" {
				st, err := a.store(cmd.Context())
				if err != nil {
					return err
				}
				creds, err := st.ActiveCredentials(cmd.Context())
				if err != nil {
					return err
				}
				if len(creds) == 0 {
					return errors.New("no active credentials to rotate; use `connector credentials set`")
				}
				if f.tenantID == "" {
					f.tenantID = creds[0].TenantID
				}
				if f.clientID == "" {
					f.clientID = creds[0].ClientID
				}
			}
			return a.addCredential(cmd.Context(), cmd.InOrStdin(), f, false)
		},
	}
	f.bind(cmd, " (default: that of the active credentials)")
	return cmd
}

func (a *app) addCredential(ctx context.Context, stdin io.Reader, f credentialFlags, replace bool) error {
	if !tenantRE.MatchString(f.tenantID) {
		return fmt.Errorf("--tenant-id %q is neither a GUID nor a domain name", f.tenantID)
	}
	if !guidRE.MatchString(f.clientID) {
		return fmt.Errorf("--client-id %q is not a GUID (the application (client) ID from Entra)", f.clientID)
	}
	c := store.Credential{TenantID: f.tenantID, ClientID: f.clientID, Kind: store.CredentialSecret}
	var (
		value  string
		stored string // what the confirmation says of the credential
	)
	if f.certificateFile != "" {
		data, err := readInput(stdin, f.certificateFile, 1<<20)
		if err != nil {
			return fmt.Errorf("--certificate-file: %w", err)
		}
		info, pemValue, err := secret.ParseCertificate(data, time.Now())
		if err != nil {
			return fmt.Errorf("--certificate-file %s: %w", f.certificateFile, err)
		}
		notAfter := info.NotAfter
		value, c.Kind, c.SecretHint, c.ExpiresAt = pemValue, store.CredentialCertificate, info.Thumbprint, &notAfter
		stored = fmt.Sprintf("certificate %s (%s), expires %s", info.Thumbprint, termSafe(info.Subject), notAfter.Format(time.DateOnly))
	} else {
		if f.expires != "" {
			t, err := time.Parse(time.DateOnly, f.expires)
			if err != nil {
				return fmt.Errorf("--expires %q is not a date YYYY-MM-DD", f.expires)
			}
			// Entra secrets expire at the end of the shown day at the latest; count from its start to be safe.
			c.ExpiresAt = &t
		}
		v, err := readSecret(stdin, f.secretFile)
		if err != nil {
			return err
		}
		value, c.SecretHint = v, secretHint(v)
		stored = "secret " + c.SecretHint
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
		fmt.Fprintf(a.stderr, "connector: created a new master key in %s (back it up; without it the stored secret cannot be read)\n", cfg.MasterKeyFile)
	}
	sealed, err := key.Seal(value, store.SecretContext(f.tenantID, f.clientID))
	if err != nil {
		return err
	}
	st, err := a.store(ctx)
	if err != nil {
		return err
	}
	c.SecretSealed = sealed
	id, err := st.AddCredential(ctx, c, replace)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "stored credential %d for tenant %s, client %s, %s\n", id, f.tenantID, f.clientID, stored)
	return nil
}

// readSecret reads a secret from a file or standard input ("-"), trimming
// the trailing newline an editor or echo adds.
func readSecret(stdin io.Reader, path string) (string, error) {
	data, err := readInput(stdin, path, 64<<10)
	if err != nil {
		return "", fmt.Errorf("--secret-file: %w", err)
	}
	value := strings.TrimRight(string(data), "\r\n")
	if strings.TrimSpace(value) == "" {
		return "", errors.New("--secret-file: the secret is empty")
	}
	if strings.ContainsAny(value, "\r\n") {
		return "", errors.New("--secret-file: the secret spans several lines; the file must hold only the secret value")
	}
	return value, nil
}

// readInput reads a file, or standard input for "-", up to limit bytes.
func readInput(stdin io.Reader, path string, limit int64) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(io.LimitReader(stdin, limit))
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if info.Size() > limit {
		return nil, fmt.Errorf("%s is %d bytes, more than a credential can be", path, info.Size())
	}
	return os.ReadFile(path)
}

// secretHint is what Entra itself shows of a secret: its first three characters.
func secretHint(v string) string {
	r := []rune(v)
	if len(r) > 3 {
		r = r[:3]
	}
	return string(r) + "…"
}

func (a *app) credentialsShowCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "show",
		Short: "Print tenant, client ID, secret hint or certificate thumbprint and expiry of the active credentials (never the secret or key)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			creds, err := st.ActiveCredentials(cmd.Context())
			if err != nil {
				return err
			}
			if len(creds) == 0 {
				return errors.New("no credentials stored; run `connector credentials set`")
			}
			ring, err := a.masterKeys()
			if err != nil {
				return err
			}
			var failed error
			for _, c := range creds {
				state := "decrypts with " + ring.Current.String()
				switch _, rotated, err := ring.Open(c.SecretSealed, store.SecretContext(c.TenantID, c.ClientID)); {
				case err != nil:
					state = "CANNOT BE DECRYPTED: " + err.Error()
					failed = fmt.Errorf("credential %d cannot be decrypted with the master key in %s: %w", c.ID, a.cfg.MasterKeyFile, err)
				case rotated:
					state = "sealed under a previous master key; run `connector credentials reseal`"
				}
				kind, what := "secret:   ", c.SecretHint
				if c.IsCertificate() {
					kind, what = "certificate:", "thumbprint "+c.SecretHint
				}
				fmt.Fprintf(a.stdout, "credential %d\n  tenant:    %s\n  client id: %s\n  %s %s (%s)\n  expires:   %s\n",
					c.ID, termSafe(c.TenantID), termSafe(c.ClientID), kind, termSafe(what), termSafe(state), expiry(c.ExpiresAt, time.Now()))
				if c.LastError != "" {
					fmt.Fprintf(a.stdout, "  last error: %s\n", termSafe(c.LastError))
				}
			}
			return failed
		},
	}
}

// masterKeys loads the master key and the previous ones of the configuration.
func (a *app) masterKeys() (secret.Ring, error) {
	key, err := secret.LoadKey(a.cfg.MasterKeyFile)
	if err != nil {
		return secret.Ring{}, err
	}
	ring, err := secret.LoadRing(key, a.cfg.PreviousMasterKeyFiles)
	if err != nil {
		return secret.Ring{}, fmt.Errorf("previous_master_key_files: %w", err)
	}
	return ring, nil
}

func (a *app) credentialsResealCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "reseal",
		Short: "Seal the stored secrets again under the current master key (after a master key rotation)",
		Long: "Opens every active credential and every CRM webhook's signing secret with the master key or one of\n" +
			"previous_master_key_files and seals those opened with a previous key again under master_key_file, so\n" +
			"that the previous key can be retired.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			st, err := a.store(ctx)
			if err != nil {
				return err
			}
			creds, err := st.ActiveCredentials(ctx)
			if err != nil {
				return err
			}
			ring, err := a.masterKeys()
			if err != nil {
				return err
			}
			resealed := 0
			for _, c := range creds {
				sctx := store.SecretContext(c.TenantID, c.ClientID)
				value, rotated, err := ring.Open(c.SecretSealed, sctx)
				if err != nil {
					return fmt.Errorf("credential %d: %w", c.ID, err)
				}
				if !rotated {
					continue
				}
				sealed, err := ring.Current.Seal(value, sctx)
				if err != nil {
					return err
				}
				if err := st.ResealCredential(ctx, c.ID, sealed); err != nil {
					return err
				}
				resealed++
				fmt.Fprintf(a.stdout, "credential %d sealed under %s\n", c.ID, ring.Current)
			}
			fmt.Fprintf(a.stdout, "%d of %d active credentials resealed\n", resealed, len(creds))
			return a.resealWebhooks(ctx, st, ring)
		},
	}
}

func expiry(t *time.Time, now time.Time) string {
	if t == nil {
		return "unknown (set it with --expires)"
	}
	days := int(t.Sub(now).Hours() / 24)
	switch {
	case t.Before(now):
		return fmt.Sprintf("%s (EXPIRED %d days ago)", t.Format(time.DateOnly), -days)
	default:
		return fmt.Sprintf("%s (%d days left)", t.Format(time.DateOnly), days)
	}
}

func (a *app) credentialsRemoveCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "remove ID",
		Short: "Retire a credential (after rotation, once its secret or certificate is deleted in Entra ID)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("%q is not a credential ID (see `connector credentials show`)", args[0])
			}
			st, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			creds, err := st.ActiveCredentials(cmd.Context())
			if err != nil {
				return err
			}
			if len(creds) == 1 && creds[0].ID == id {
				return errors.New("this is the only active credential; add the new certificate or secret with `connector credentials rotate` first")
			}
			if err := st.DeactivateCredential(cmd.Context(), id); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "credential %d retired\n", id)
			return nil
		},
	}
}
