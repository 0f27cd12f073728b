package crmhook

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/metrics"
	"github.com/dedesales/exchange-connector/internal/secret"
	"github.com/dedesales/exchange-connector/internal/store"
)

// Store is the part of internal/store the webhooks need.
type Store interface {
	Changes(ctx context.Context, after store.Cursor, limit int) ([]store.Change, error)
	WebhookEndpoints(ctx context.Context) ([]store.WebhookEndpoint, error)
	WebhookEndpoint(ctx context.Context, id int64) (store.WebhookEndpoint, error)
	WebhookCursor(ctx context.Context) (store.Cursor, error)
	AdvanceWebhookCursor(ctx context.Context, from, to store.Cursor) (bool, error)
	RecordWebhookSuccess(ctx context.Context, id int64) error
	RecordWebhookFailure(ctx context.Context, id int64, attempt time.Time, cause string) error
}

// Enqueuer enqueues tasks (*asynq.Client).
type Enqueuer interface {
	EnqueueContext(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// Config is what the Service needs. Store, Keys and Queue are required.
type Config struct {
	Store Store
	// Keys open the endpoints' sealed signing secrets: the master key and,
	// while it is rotated, the previous ones.
	Keys secret.Ring
	// Queue enqueues the delivery tasks.
	Queue Enqueuer
	Log   *slog.Logger
	// Metrics, when set, count the deliveries by outcome.
	Metrics *metrics.Metrics
	// Now is the clock of the webhook-timestamp; nil means time.Now.
	Now func() time.Time
	// TaskQueue is the asynq queue of both task types (default "default";
	// it must be one the worker serves).
	TaskQueue string
	// Timeout bounds one delivery attempt (default DefaultTimeout).
	Timeout time.Duration
	// RootCAs verify the endpoints' TLS certificates (nil: the system's).
	RootCAs *x509.CertPool
	// PageSize is how many changes the dispatcher reads at a time (default 500).
	PageSize int
	// Retention keeps a delivered task's ID reserved this long (default 1 h),
	// so that a dispatcher run repeated after a crash does not deliver it again.
	Retention time.Duration
	// EndpointTTL is how long a delivery worker caches an endpoint
	// (default 5 s): a removed endpoint stops receiving within it.
	EndpointTTL time.Duration
}

// Service dispatches and delivers the webhooks; Register wires its task
// handlers into the worker's mux.
type Service struct {
	cfg    Config
	sender *sender

	mu        sync.Mutex
	endpoints map[int64]cachedEndpoint
}

// cachedEndpoint is an endpoint with its opened secret.
type cachedEndpoint struct {
	ep     store.WebhookEndpoint
	key    []byte
	loaded time.Time
}

// New returns a Service with the defaults filled in.
func New(c Config) *Service {
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.TaskQueue == "" {
		c.TaskQueue = "default"
	}
	if c.PageSize == 0 {
		c.PageSize = 500
	}
	if c.Retention == 0 {
		c.Retention = time.Hour
	}
	if c.EndpointTTL == 0 {
		c.EndpointTTL = 5 * time.Second
	}
	return &Service{cfg: c, sender: newSender(c.Timeout, c.RootCAs), endpoints: map[int64]cachedEndpoint{}}
}

// Register adds the dispatcher and the delivery handler to mux.
func (s *Service) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(TypeDispatch, s.HandleDispatch)
	mux.HandleFunc(TypeDeliver, s.HandleDeliver)
}

// endpoint returns an endpoint and its signing key, cached for EndpointTTL.
func (s *Service) endpoint(ctx context.Context, id int64) (cachedEndpoint, error) {
	s.mu.Lock()
	c, ok := s.endpoints[id]
	s.mu.Unlock()
	if ok && time.Since(c.loaded) < s.cfg.EndpointTTL {
		return c, nil
	}
	ep, err := s.cfg.Store.WebhookEndpoint(ctx, id)
	if err != nil {
		s.mu.Lock()
		delete(s.endpoints, id)
		s.mu.Unlock()
		return cachedEndpoint{}, err
	}
	key, _, err := OpenSecret(s.cfg.Keys, ep)
	if err != nil {
		// The endpoint, for recording why it fails (e.g. the master key
		// it was sealed under is not configured).
		return cachedEndpoint{ep: ep}, err
	}
	c = cachedEndpoint{ep: ep, key: key, loaded: time.Now()}
	s.mu.Lock()
	s.endpoints[id] = c
	s.mu.Unlock()
	return c, nil
}

// update changes the cached copy of an endpoint (after a recorded result).
func (s *Service) update(id int64, fn func(*store.WebhookEndpoint)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.endpoints[id]; ok {
		fn(&c.ep)
		s.endpoints[id] = c
	}
}

// SealSecret encrypts a new endpoint's signing secret for the store.
func SealSecret(key *secret.Key, url, signingSecret string) (string, error) {
	if _, err := secretKey(signingSecret); err != nil {
		return "", err
	}
	return key.Seal(signingSecret, store.WebhookSecretContext(url))
}

// OpenSecret decrypts an endpoint's signing secret and returns its HMAC
// key; rotated reports that it was sealed under a previous master key
// (ResealSecrets seals it again under the current one).
func OpenSecret(keys secret.Ring, ep store.WebhookEndpoint) (key []byte, rotated bool, err error) {
	if keys.Current == nil {
		return nil, false, fmt.Errorf("crmhook: webhook %d: no master key to open its secret", ep.ID)
	}
	plain, rotated, err := keys.Open(ep.SecretSealed, store.WebhookSecretContext(ep.URL))
	if err != nil {
		return nil, false, fmt.Errorf("crmhook: webhook %d: opening its secret: %w", ep.ID, err)
	}
	key, err = secretKey(plain)
	return key, rotated, err
}

// ResealStore is what ResealSecrets needs of the store.
type ResealStore interface {
	WebhookEndpoints(ctx context.Context) ([]store.WebhookEndpoint, error)
	ResealWebhookEndpoint(ctx context.Context, id int64, sealed string) error
}

// ResealSecrets seals every endpoint secret that was sealed under a
// previous master key again under the current one (after a master key
// rotation, before the previous key is retired). It returns the IDs of
// the endpoints it resealed.
func ResealSecrets(ctx context.Context, st ResealStore, keys secret.Ring) ([]int64, error) {
	eps, err := st.WebhookEndpoints(ctx)
	if err != nil {
		return nil, err
	}
	var done []int64
	for _, ep := range eps {
		sctx := store.WebhookSecretContext(ep.URL)
		plain, rotated, err := keys.Open(ep.SecretSealed, sctx)
		if err != nil {
			return done, fmt.Errorf("crmhook: webhook %d: opening its secret: %w", ep.ID, err)
		}
		if !rotated {
			continue
		}
		sealed, err := keys.Current.Seal(plain, sctx)
		if err != nil {
			return done, err
		}
		if err := st.ResealWebhookEndpoint(ctx, ep.ID, sealed); err != nil {
			return done, err
		}
		done = append(done, ep.ID)
	}
	return done, nil
}
