package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/dedesales/exchange-connector/internal/config"
	"github.com/dedesales/exchange-connector/internal/documents"
	"github.com/dedesales/exchange-connector/internal/graph"
	"github.com/dedesales/exchange-connector/internal/grapherr"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/secret"
	"github.com/dedesales/exchange-connector/internal/store"
)

// Check tests what the connector depends on, like the old product's "Test &
// Enable": the stored credentials, a token from Entra ID, read access to
// every enabled mailbox, the public notification URL (by creating and
// deleting a short-lived subscription, whose validation handshake Graph
// sends to it), the document store and SMTP. It writes a verdict line per
// item and returns the number of failures.
func Check(ctx context.Context, cfg *config.Config, out io.Writer, log *slog.Logger) (failures int, err error) {
	verdict := func(ok bool, item, detail string) {
		state := "ok  "
		if !ok {
			state = "FAIL"
			failures++
		}
		fmt.Fprintf(out, "%s  %-22s %s\n", state, item, detail)
	}
	warn := func(item, detail string) { fmt.Fprintf(out, "WARN  %-22s %s\n", item, detail) }
	dialect, dsn, err := cfg.Database()
	if err != nil {
		return 0, err
	}
	st, err := store.Open(ctx, dialect, dsn)
	if err != nil {
		verdict(false, "database", err.Error())
		return failures, nil
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		verdict(false, "database", err.Error())
		return failures, nil
	}
	verdict(true, "database", dialect)

	key, err := secret.LoadKey(cfg.MasterKeyFile)
	if err != nil {
		verdict(false, "master key", err.Error())
		return failures, nil
	}
	if err := secret.CheckKeyFile(cfg.MasterKeyFile); err != nil {
		warn("master key", err.Error())
	}
	master, err := secret.LoadRing(key, cfg.PreviousMasterKeyFiles)
	if err != nil {
		verdict(false, "master key", err.Error())
		return failures, nil
	}
	src := storeSecrets{st: st, keys: master}
	creds, err := src.Credentials(ctx)
	if err != nil {
		verdict(false, "credentials", err.Error())
		return failures, nil
	}
	verdict(true, "credentials", fmt.Sprintf("%d active, tenant %s, client %s", len(creds.Secrets), creds.TenantID, creds.ClientID))
	client, err := newGraph(cfg, src, log, graphOptions{})
	if err != nil {
		verdict(false, "Graph client", err.Error())
		return failures, nil
	}
	id, err := client.CheckToken(ctx)
	if err != nil {
		verdict(false, "token", err.Error())
		return failures, nil
	}
	verdict(true, "token", fmt.Sprintf("issued for credential %d", id))

	mbs, err := st.Mailboxes(ctx)
	if err != nil {
		return failures, err
	}
	var readable []store.Mailbox
	for _, mb := range mbs {
		if mb.State() == store.MailboxDisabled || mb.State() == store.MailboxInactive {
			continue
		}
		mb, detail, err := checkMailbox(ctx, client, mb)
		if err != nil {
			verdict(false, "mailbox "+mb.Address, detail)
			continue
		}
		readable = append(readable, mb)
		verdict(true, "mailbox "+mb.Address, detail)
	}
	checkNotificationURL(ctx, cfg, client, readable, verdict)
	checkDocuments(ctx, cfg, verdict)
	checkSMTP(ctx, cfg, st, verdict)
	return failures, nil
}

// checkMailbox reads the mailbox as the connector does (Mailbox.GraphRef).
// A user Graph does not know (404 ErrorInvalidUser) is reported in Graph's
// words, after looking the address up as a mail address that is not the
// UPN, which the connector does too (jobs: subscriber.resolveUser).
func checkMailbox(ctx context.Context, client *graph.Client, mb store.Mailbox) (store.Mailbox, string, error) {
	err := client.CheckMailbox(ctx, mb.GraphRef())
	if err == nil {
		return mb, "readable", nil
	}
	if !errors.Is(err, grapherr.ErrUserNotFound) {
		return mb, err.Error(), err
	}
	id, lookupErr := client.ResolveUser(ctx, mb.Address)
	if lookupErr == nil && id != "" && id != mb.GraphRef() {
		if rerr := client.CheckMailbox(ctx, id); rerr == nil {
			mb.GraphUser, mb.GraphUserFor = id, mb.Address
			return mb, "readable (user " + id + ": the address is a mail address, not the UPN)", nil
		}
	}
	words := err.Error()
	var ge *grapherr.Error
	if errors.As(err, &ge) && ge.Message != "" {
		words = ge.Message
	}
	detail := "not found in Microsoft 365: Graph says \"" + words + "\"; check the employee's exchange_mailbox (the user's UPN or mail address)"
	if lookupErr != nil {
		detail += "; looking the address up in the directory failed: " + lookupErr.Error()
	}
	return mb, detail, err
}

func checkNotificationURL(ctx context.Context, cfg *config.Config, gp *graph.Client, readable []store.Mailbox, verdict func(bool, string, string)) {
	const item = "notification URL"
	switch {
	case cfg.PublicURL == "":
		verdict(false, item, "public_url (CONNECTOR_PUBLIC_URL) is not set")
		return
	case len(readable) == 0:
		verdict(false, item, "no readable mailbox to subscribe to")
		return
	}
	base := strings.TrimRight(cfg.PublicURL, "/")
	sub, err := gp.CreateSubscription(ctx, model.Subscription{
		Resource: "/users/" + readable[0].GraphRef() + "/messages", ChangeType: "created",
		NotificationURL: base + "/graph/notifications", LifecycleNotificationURL: base + "/graph/lifecycle",
		ClientState: "connector-check", ExpiresAt: time.Now().Add(time.Hour),
	})
	if err != nil {
		verdict(false, item, base+": "+err.Error())
		return
	}
	if err := gp.DeleteSubscription(ctx, sub.ID); err != nil {
		verdict(false, item, "handshake ok, but the test subscription could not be deleted: "+err.Error())
		return
	}
	verdict(true, item, base+" answered Graph's validation handshake")
}

func checkDocuments(ctx context.Context, cfg *config.Config, verdict func(bool, string, string)) {
	const item = "document store"
	docs, err := documents.Open(cfg.DocumentsURL, documents.WebDAVOptions{})
	if err != nil {
		verdict(false, item, err.Error())
		return
	}
	probe := fmt.Sprintf("connector check %s\n", time.Now().UTC().Format(time.RFC3339))
	if err := docs.Put(ctx, ".connector-check", strings.NewReader(probe), int64(len(probe)), time.Now(), ""); err != nil {
		verdict(false, item, err.Error())
		return
	}
	if _, _, ok, err := docs.Stat(ctx, ".connector-check"); err != nil || !ok {
		verdict(false, item, fmt.Sprintf("written file not found: %v", err))
		return
	}
	verdict(true, item, "writable ("+config.RedactURL(cfg.DocumentsURL)+")")
}

func checkSMTP(ctx context.Context, cfg *config.Config, st *store.Store, verdict func(bool, string, string)) {
	const item = "SMTP"
	if cfg.SMTPHost == "" {
		verdict(false, item, "smtp_host is not set: alerts are shown on /ops/ only")
		return
	}
	raw, _ := st.Setting(ctx, "alert_recipients")
	var to []string
	_ = json.Unmarshal([]byte(raw), &to)
	if len(to) == 0 {
		verdict(false, item, "no alert_recipients (connector settings set alert_recipients ops@example.com)")
		return
	}
	m, err := newMailer(cfg)
	if err != nil {
		verdict(false, item, err.Error())
		return
	}
	if err := m.Send(ctx, to, "[exchange-connector] connector check", "This test mail shows that alert e-mails reach you.\n"); err != nil {
		verdict(false, item, err.Error())
		return
	}
	verdict(true, item, "test mail sent to "+strings.Join(to, ", "))
}
