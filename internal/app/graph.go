package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/dedesales/exchange-connector/internal/config"
	"github.com/dedesales/exchange-connector/internal/graph"
	"github.com/dedesales/exchange-connector/internal/grapherr"
	"github.com/dedesales/exchange-connector/internal/secret"
	"github.com/dedesales/exchange-connector/internal/store"
)

// storeSecrets is the Graph client's graph.SecretSource: the store's active
// credentials, opened with the master key (or a previous one while it is
// rotated). The client asks it again every minute, so `connector
// credentials set|rotate` take effect without a restart.
type storeSecrets struct {
	st   *store.Store
	keys secret.Ring
}

func (s storeSecrets) Credentials(ctx context.Context) (graph.Credentials, error) {
	creds, err := s.st.ActiveCredentials(ctx)
	if err != nil {
		return graph.Credentials{}, err
	}
	if len(creds) == 0 {
		return graph.Credentials{}, &grapherr.Error{Kind: grapherr.ErrAuth, Op: "credentials", Message: "no credentials stored; run `connector credentials set`"}
	}
	// All active credentials belong to one app registration; the newest names it.
	out := graph.Credentials{TenantID: creds[0].TenantID, ClientID: creds[0].ClientID}
	for _, c := range creds {
		v, _, err := s.keys.Open(c.SecretSealed, store.SecretContext(c.TenantID, c.ClientID))
		if err != nil {
			return graph.Credentials{}, fmt.Errorf("credential %d cannot be decrypted with the master key: %w", c.ID, err)
		}
		out.Secrets = append(out.Secrets, graph.Secret{ID: c.ID, Value: v, Certificate: c.IsCertificate()})
	}
	return out, nil
}

// graphOptions are the optional parts of the Graph client.
type graphOptions struct {
	limiter graph.Limiter
	// onAuth is told whether a secret worked (alerts).
	onAuth func(secretID int64, err error)
	// onResponse counts Graph responses by status (metrics).
	onResponse func(status int)
}

// newGraph builds the Graph client of the configuration, signed in with the
// stored credentials. Each secret's result is recorded on its credential.
func newGraph(cfg *config.Config, src storeSecrets, log *slog.Logger, o graphOptions) (*graph.Client, error) {
	return graph.New(graph.Config{
		Credentials:  src,
		AuthorityURL: cfg.AuthorityURL, GraphURL: cfg.GraphURL, ExtraCAFile: cfg.ExtraCAFile,
		Limiter: o.limiter, Logger: log, OnResponse: o.onResponse,
		OnCredential: func(id int64, err error) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if rerr := src.st.RecordCredentialResult(ctx, id, err); rerr != nil {
				log.Warn("recording a credential's result failed", slog.Any("error", rerr))
			}
			if err != nil {
				log.Error("credential rejected (client secret or certificate)", "credential_id", id, slog.Any("error", err))
			}
			if o.onAuth != nil {
				o.onAuth(id, err)
			}
		},
	})
}
