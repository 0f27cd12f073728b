package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/alert"
	"github.com/dedesales/exchange-connector/internal/capool"
	"github.com/dedesales/exchange-connector/internal/config"
	"github.com/dedesales/exchange-connector/internal/grapherr"
	"github.com/dedesales/exchange-connector/internal/store"
)

// errNoSMTP keeps alerts unsent (visible on /ops/) when no mail server is configured.
var errNoSMTP = errors.New("smtp_host is not configured; the alert is shown on /ops/ only")

type noSMTP struct{}

func (noSMTP) Send(context.Context, []string, string, string) error { return errNoSMTP }

// newAlerter sends alert mails through the configured SMTP server.
func newAlerter(cfg *config.Config, st *store.Store, log *slog.Logger) (*alert.Alerter, error) {
	if cfg.SMTPHost == "" {
		return alert.NewAlerter(st, noSMTP{}, log), nil
	}
	m, err := newMailer(cfg)
	if err != nil {
		return nil, err
	}
	return alert.NewAlerter(st, m, log), nil
}

// newMailer is the SMTP client of the configuration.
func newMailer(cfg *config.Config) (*alert.Mailer, error) {
	sc := alert.SMTPConfig{Host: cfg.SMTPHost, Port: cfg.SMTPPort, TLS: cfg.SMTPTLS, Username: cfg.SMTPUsername,
		PasswordFile: cfg.SMTPPasswordFile, From: cfg.SMTPFrom, Timeout: cfg.SMTPTimeout}
	if cfg.ExtraCAFile != "" {
		pool, err := capool.Load(cfg.ExtraCAFile)
		if err != nil {
			return nil, fmt.Errorf("extra_ca_file: %w", err)
		}
		sc.RootCAs = pool
	}
	return alert.NewMailer(sc)
}

// authAlerts raises an alert at once when Entra rejects a secret, and
// clears it when the secret works again.
func authAlerts(a *alert.Alerter, st *store.Store, log *slog.Logger) func(id int64, err error) {
	return func(id int64, err error) {
		ctx := context.Background()
		key := strconv.FormatInt(id, 10)
		if err == nil {
			if cerr := a.Clear(ctx, alert.KindAuthFailed, key); cerr != nil {
				log.Warn("recovery not sent", slog.Any("error", cerr))
			}
			return
		}
		var ge *grapherr.Error
		data := alert.AuthFailed{Description: err.Error()}
		if errors.As(err, &ge) {
			data.Code, data.Description = ge.AADSTS, ge.Message
		}
		if creds, cerr := st.ActiveCredentials(ctx); cerr == nil {
			for _, c := range creds {
				if c.ID == id {
					data.TenantID, data.ClientID = c.TenantID, c.ClientID
				}
			}
		}
		if rerr := a.Raise(ctx, alert.Alert{Kind: alert.KindAuthFailed, Key: key, Data: data}); rerr != nil {
			log.Warn("alert not sent", slog.Any("error", rerr))
		}
	}
}

// deadTasks reads the archive of every queue.
type deadTasks struct{ insp *asynq.Inspector }

func (d deadTasks) DeadTasks(context.Context) ([]alert.TasksDead, error) {
	queues, err := d.insp.Queues()
	if err != nil {
		return nil, err
	}
	byType := map[string]*alert.TasksDead{}
	var order []string
	for _, q := range queues {
		tasks, err := d.insp.ListArchivedTasks(q, asynq.PageSize(500))
		if err != nil {
			return nil, err
		}
		for _, t := range tasks {
			td, ok := byType[t.Type]
			if !ok {
				td = &alert.TasksDead{TaskType: t.Type, Queue: q}
				byType[t.Type] = td
				order = append(order, t.Type)
			}
			td.Count++
			if td.LastError == "" {
				td.LastError = t.LastErr
			}
		}
	}
	out := make([]alert.TasksDead, 0, len(order))
	for _, t := range order {
		out = append(out, *byType[t])
	}
	return out, nil
}
