// Package graph is everything the connector says to Microsoft Graph and
// Entra ID. It is the only package that imports msgraph-sdk-go and MSAL;
// the rest of the connector depends on small interfaces declared where they
// are used, with the plain types of internal/model and the typed errors of
// internal/grapherr.
//
// Requests go through one transport stack: kiota's middleware (retries that
// honour Retry-After, redirects, compression), then ours (the bearer token
// from MSAL, for the Graph host only; Prefer: IdType="ImmutableId"; the
// per-mailbox concurrency limit), then net/http with the configured CAs.
// The credentials come from a SecretSource the client asks again every
// minute (credentials.go), so a Graph call is one method here and nothing
// else: every request is signed with the current secret. Only the request builders
// of the few endpoints used are compiled (users, subscriptions,
// applications(appId=…)), not the whole SDK client.
package graph

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	absauth "github.com/microsoft/kiota-abstractions-go/authentication"
	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	khttp "github.com/microsoft/kiota-http-go"
	jsonser "github.com/microsoft/kiota-serialization-json-go"
	textser "github.com/microsoft/kiota-serialization-text-go"
	core "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/subscriptions"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/dedesales/exchange-connector/internal/capool"
)

// Limiter bounds concurrent requests per mailbox across processes
// (internal/semaphore). Acquire blocks until a slot is free.
type Limiter interface {
	Acquire(ctx context.Context, key string) (release func(), err error)
}

// Config configures a Client.
type Config struct {
	// Credentials supplies the tenant, client ID and secrets; the client
	// asks it again every ReloadEvery (see SecretSource).
	Credentials SecretSource
	// ReloadEvery is how often the credentials are asked for again
	// (default one minute).
	ReloadEvery time.Duration
	// AuthorityURL is the Entra host, e.g. https://login.microsoftonline.com.
	AuthorityURL string
	// GraphURL is the Graph base URL with its version, e.g. https://graph.microsoft.com/v1.0.
	// The bearer token is only ever sent to its scheme and host.
	GraphURL string
	// ExtraCAFile is a PEM file of CAs trusted besides the system's.
	ExtraCAFile string
	// Limiter bounds concurrent requests per mailbox; nil means no bound.
	Limiter Limiter
	// MaxRetryAfter is the longest Retry-After waited out inside a call
	// (default 10 s); longer ones return grapherr.ErrThrottled at once, so
	// that the job is rescheduled instead of holding a worker.
	MaxRetryAfter time.Duration
	// Timeout bounds a whole request except attachment downloads (default 100 s).
	Timeout time.Duration
	// DeltaPageSize is the page size asked of Graph in delta rounds (default 500).
	DeltaPageSize int
	// OnCredential is told whether a secret worked (nil) or why not.
	OnCredential func(secretID int64, err error)
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// OnResponse, when set, is told the status of every Graph response
	// (0 when there was none), for metrics.
	OnResponse func(status int)
}

// Client calls Graph with app-only tokens.
type Client struct {
	cfg      Config
	graphURL string // without trailing slash
	origin   string // scheme and host of graphURL: the only receiver of the token
	adapter  *core.GraphRequestAdapterBase
	http     *http.Client // the same stack, for raw requests ($value)
	download *http.Client // as http, without the overall timeout
	signer   *signer
	log      *slog.Logger
}

var registerSerializers sync.Once

// New builds a client. It does not contact Entra or Graph, and asks
// cfg.Credentials only when the first request needs a token.
func New(cfg Config) (*Client, error) {
	if cfg.Credentials == nil {
		return nil, errors.New("graph: a credentials source is required")
	}
	if cfg.ReloadEvery == 0 {
		cfg.ReloadEvery = time.Minute
	}
	if cfg.MaxRetryAfter == 0 {
		cfg.MaxRetryAfter = 10 * time.Second
	}
	if cfg.DeltaPageSize == 0 {
		cfg.DeltaPageSize = 500
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 100 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	gu, err := url.Parse(cfg.GraphURL)
	if err != nil || gu.Host == "" {
		return nil, fmt.Errorf("graph: graph URL %q is not absolute", cfg.GraphURL)
	}
	base, err := baseTransport(cfg.ExtraCAFile)
	if err != nil {
		return nil, err
	}
	sg := newSigner(cfg, gu.Scheme+"://"+gu.Host+"/.default", &http.Client{Transport: base, Timeout: 30 * time.Second})
	origin := originOf(gu)
	ours := &transport{base: base, origin: origin, token: sg.token, limiter: cfg.Limiter, observe: cfg.OnResponse}
	stack := khttp.NewCustomTransportWithParentTransport(ours, middlewares(cfg.MaxRetryAfter)...)
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	hc := &http.Client{Transport: stack, Timeout: cfg.Timeout, CheckRedirect: noRedirect}

	registerSerializers.Do(func() {
		abs.RegisterDefaultSerializer(func() absser.SerializationWriterFactory { return jsonser.NewJsonSerializationWriterFactory() })
		abs.RegisterDefaultSerializer(func() absser.SerializationWriterFactory { return textser.NewTextSerializationWriterFactory() })
		abs.RegisterDefaultDeserializer(func() absser.ParseNodeFactory { return jsonser.NewJsonParseNodeFactory() })
		abs.RegisterDefaultDeserializer(func() absser.ParseNodeFactory { return textser.NewTextParseNodeFactory() })
	})
	// The token is added by our transport, beneath kiota's retries, so that
	// raw requests get it too.
	adapter, err := core.NewGraphRequestAdapterBaseWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(
		&absauth.AnonymousAuthenticationProvider{}, core.GraphClientOptions{GraphServiceLibraryVersion: "1.89.0"}, nil, nil, hc)
	if err != nil {
		return nil, fmt.Errorf("graph: %w", err)
	}
	graphURL := strings.TrimRight(cfg.GraphURL, "/")
	adapter.SetBaseUrl(graphURL)
	return &Client{
		cfg: cfg, graphURL: graphURL, origin: origin, adapter: adapter, http: hc,
		download: &http.Client{Transport: stack, CheckRedirect: noRedirect},
		signer:   sg, log: log,
	}, nil
}

// middlewares is kiota's default pipeline with a retry policy that waits out
// short Retry-After delays only.
func middlewares(maxWait time.Duration) []khttp.Middleware {
	mw := core.GetDefaultMiddlewaresWithOptions(&core.GraphClientOptions{GraphServiceLibraryVersion: "1.89.0"})
	replaced := false
	for i, m := range mw {
		if _, ok := m.(*khttp.RetryHandler); ok {
			mw[i] = khttp.NewRetryHandlerWithOptions(khttp.RetryHandlerOptions{
				MaxRetries: 3,
				// Waiting happens inside the call, in a worker: the waits
				// together stay within maxWait, or the call returns
				// grapherr.ErrThrottled and the task is rescheduled
				// (jobs.RetryDelay). Without Retry-After, kiota waits its
				// back-off (3 s doubling, plus up to 1 s jitter).
				ShouldRetry: func(waited time.Duration, attempts int, _ *http.Request, resp *http.Response) bool {
					next := retryAfter(resp)
					if next == 0 && resp.Header.Get("Retry-After") == "" {
						next = time.Duration(3*(1<<attempts)+1) * time.Second
					}
					return waited+next <= maxWait
				},
			})
			replaced = true
		}
	}
	if !replaced {
		panic("graph: kiota's retry handler not found in the default middlewares")
	}
	return mw
}

// baseTransport trusts the system's CAs plus those in extraCAFile.
func baseTransport(extraCAFile string) (*http.Transport, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	if extraCAFile == "" {
		return t, nil
	}
	pool, err := capool.Load(extraCAFile)
	if err != nil {
		return nil, fmt.Errorf("graph: %w", err)
	}
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return t, nil
}

// users returns the builder for /users.
func (c *Client) users() *users.UsersRequestBuilder {
	return users.NewUsersRequestBuilderInternal(map[string]string{}, c.adapter)
}

// subscriptions returns the builder for /subscriptions.
func (c *Client) subscriptions() *subscriptions.SubscriptionsRequestBuilder {
	return subscriptions.NewSubscriptionsRequestBuilderInternal(map[string]string{}, c.adapter)
}
