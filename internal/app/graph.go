package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/dedesales/exchange-connector/internal/config"
	"github.com/dedesales/exchange-connector/internal/graph"
	"github.com/dedesales/exchange-connector/internal/grapherr"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/secret"
	"github.com/dedesales/exchange-connector/internal/store"
)

// credentialsCheckEvery is how often the stored credentials are re-read, so
// that `connector credentials set|rotate` takes effect without a restart.
const credentialsCheckEvery = time.Minute

// graphProvider builds the Graph client from the stored credentials and
// rebuilds it when they change. It satisfies jobs.Graph.
type graphProvider struct {
	cfg     *config.Config
	st      *store.Store
	key     *secret.Key
	limiter graph.Limiter
	log     *slog.Logger
	onAuth  func(secretID int64, err error) // alerts
	// onResponse counts Graph responses by status (metrics).
	onResponse func(status int)

	mu      sync.Mutex
	client  *graph.Client
	ids     string
	checked time.Time
}

func (g *graphProvider) get(ctx context.Context) (*graph.Client, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.client != nil && time.Since(g.checked) < credentialsCheckEvery {
		return g.client, nil
	}
	creds, err := g.st.ActiveCredentials(ctx)
	if err != nil {
		return nil, err
	}
	g.checked = time.Now()
	if len(creds) == 0 {
		return nil, &grapherr.Error{Kind: grapherr.ErrAuth, Op: "credentials", Message: "no credentials stored; run `connector credentials set`"}
	}
	var ids []string
	for _, c := range creds {
		ids = append(ids, fmt.Sprint(c.ID))
	}
	if key := strings.Join(ids, ","); g.client == nil || key != g.ids {
		client, err := g.build(creds)
		if err != nil {
			return nil, err
		}
		g.client, g.ids = client, key
	}
	return g.client, nil
}

func (g *graphProvider) build(creds []store.Credential) (*graph.Client, error) {
	var secrets []graph.Secret
	for _, c := range creds {
		v, err := g.key.Open(c.SecretSealed, store.SecretContext(c.TenantID, c.ClientID))
		if err != nil {
			return nil, fmt.Errorf("credential %d cannot be decrypted with the master key: %w", c.ID, err)
		}
		secrets = append(secrets, graph.Secret{ID: c.ID, Value: v})
	}
	// All active credentials belong to one app registration; the newest names it.
	return graph.New(graph.Config{
		TenantID: creds[0].TenantID, ClientID: creds[0].ClientID, Secrets: secrets,
		AuthorityURL: g.cfg.AuthorityURL, GraphURL: g.cfg.GraphURL, ExtraCAFile: g.cfg.ExtraCAFile,
		Limiter: g.limiter, Logger: g.log, OnResponse: g.onResponse,
		OnCredential: func(id int64, err error) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if rerr := g.st.RecordCredentialResult(ctx, id, err); rerr != nil {
				g.log.Warn("recording a credential's result failed", slog.Any("error", rerr))
			}
			if err != nil {
				g.log.Error("client secret rejected", "credential_id", id, slog.Any("error", err))
			}
			if g.onAuth != nil {
				g.onAuth(id, err)
			}
		},
	})
}

func (g *graphProvider) Message(ctx context.Context, mailbox, id string) (*model.Message, error) {
	c, err := g.get(ctx)
	if err != nil {
		return nil, err
	}
	return c.Message(ctx, mailbox, id)
}

func (g *graphProvider) FolderTree(ctx context.Context, mailbox string) ([]model.MailFolder, error) {
	c, err := g.get(ctx)
	if err != nil {
		return nil, err
	}
	return c.FolderTree(ctx, mailbox)
}

func (g *graphProvider) Delta(ctx context.Context, mailbox, folderID, link string, since time.Time) (model.DeltaPage, error) {
	c, err := g.get(ctx)
	if err != nil {
		return model.DeltaPage{}, err
	}
	return c.Delta(ctx, mailbox, folderID, link, since)
}

func (g *graphProvider) CreateSubscription(ctx context.Context, s model.Subscription) (model.Subscription, error) {
	c, err := g.get(ctx)
	if err != nil {
		return model.Subscription{}, err
	}
	return c.CreateSubscription(ctx, s)
}

func (g *graphProvider) RenewSubscription(ctx context.Context, id string, expires time.Time) (model.Subscription, error) {
	c, err := g.get(ctx)
	if err != nil {
		return model.Subscription{}, err
	}
	return c.RenewSubscription(ctx, id, expires)
}

func (g *graphProvider) ReauthorizeSubscription(ctx context.Context, id string) error {
	c, err := g.get(ctx)
	if err != nil {
		return err
	}
	return c.ReauthorizeSubscription(ctx, id)
}

func (g *graphProvider) DeleteSubscription(ctx context.Context, id string) error {
	c, err := g.get(ctx)
	if err != nil {
		return err
	}
	return c.DeleteSubscription(ctx, id)
}

func (g *graphProvider) Attachments(ctx context.Context, mailbox, messageID string) ([]model.Attachment, error) {
	c, err := g.get(ctx)
	if err != nil {
		return nil, err
	}
	return c.Attachments(ctx, mailbox, messageID)
}

func (g *graphProvider) OpenAttachment(ctx context.Context, mailbox, messageID, attachmentID string) (io.ReadCloser, error) {
	c, err := g.get(ctx)
	if err != nil {
		return nil, err
	}
	return c.OpenAttachment(ctx, mailbox, messageID, attachmentID)
}

func (g *graphProvider) PasswordCredentials(ctx context.Context) ([]model.PasswordCredential, error) {
	c, err := g.get(ctx)
	if err != nil {
		return nil, err
	}
	return c.PasswordCredentials(ctx)
}
