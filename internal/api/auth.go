package api

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/labstack/echo/v4"

	"github.com/dedesales/exchange-connector/internal/store"
)

// keyStore is what authentication needs of the database.
type keyStore interface {
	AuthenticateAPIKey(ctx context.Context, token string) (store.APIKey, error)
	HasAPIKeys(ctx context.Context) (bool, error)
	TouchAPIKey(ctx context.Context, id int64, now time.Time) error
}

// ctxKey is where the request's API key is kept in the echo context.
const ctxKey = "api.key"

// touchEvery bounds how often a key's last_used_at is written.
const touchEvery = time.Minute

// apiOff is the answer while no API key exists.
func apiOff() *Problem {
	return problem(http.StatusNotFound, "the API is off: no API key exists; create one with connector apikey create --name NAME --scope read|write")
}

// authenticate checks the bearer key: none or a wrong or revoked one is
// 401, a read key writing is 403; while no key exists at all the API is off
// (404). The key is kept in the context for the rate limit.
func (h *Handler) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		token, ok := bearerToken(c.Request().Header.Get(echo.HeaderAuthorization))
		var key store.APIKey
		var err error
		if ok {
			key, err = h.lookupKey(ctx, token)
		}
		if !ok || err != nil {
			if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrRevoked) {
				return fmt.Errorf("api: authenticate: %w", err)
			}
			on, herr := h.d.Store.HasAPIKeys(ctx)
			if herr != nil {
				return fmt.Errorf("api: authenticate: %w", herr)
			}
			if !on {
				return apiOff()
			}
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="connector"`)
			detail := "send Authorization: Bearer with an API key (connector apikey create)"
			switch {
			case errors.Is(err, store.ErrRevoked):
				detail = "the API key " + key.Name + " was revoked"
			case ok:
				detail = "the API key is not known"
			}
			h.log.WarnContext(ctx, "api: request refused", "path", c.Request().URL.Path, "remote", c.RealIP(), "reason", detail)
			return problem(http.StatusUnauthorized, detail, FieldError{Field: "Authorization", Detail: detail})
		}
		if isWrite(c.Request().Method) && key.Scope != store.ScopeWrite {
			return problem(http.StatusForbidden, "the API key "+key.Name+" may only read; writing needs a key with --scope write")
		}
		c.Set(ctxKey, key)
		h.touch(ctx, key.ID)
		return next(c)
	}
}

func isWrite(method string) bool {
	return method != http.MethodGet && method != http.MethodHead && method != http.MethodOptions
}

// bearerToken returns the token of an "Authorization: Bearer TOKEN" header.
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// keyCacheTTL is how long a key that authenticated is trusted without
// asking the database again: a revocation takes effect within it.
const keyCacheTTL = 5 * time.Second

type cachedKey struct {
	key   store.APIKey
	until time.Time
}

// lookupKey authenticates token, from the cache when it authenticated less
// than keyCacheTTL ago. Only successes are cached, by the token's SHA-256.
func (h *Handler) lookupKey(ctx context.Context, token string) (store.APIKey, error) {
	sum := sha256.Sum256([]byte(token))
	now := h.now()
	h.keyMu.Lock()
	c, hit := h.keys[sum]
	h.keyMu.Unlock()
	if hit && now.Before(c.until) {
		return c.key, nil
	}
	key, err := h.d.Store.AuthenticateAPIKey(ctx, token)
	if err != nil {
		return key, err
	}
	h.keyMu.Lock()
	if len(h.keys) > 10000 { // many keys or a flood of them: start afresh
		clear(h.keys)
	}
	h.keys[sum] = cachedKey{key: key, until: now.Add(keyCacheTTL)}
	h.keyMu.Unlock()
	return key, nil
}

// touch records a key's use, at most once a minute per key and process.
func (h *Handler) touch(ctx context.Context, id int64) {
	now := h.now()
	h.touchMu.Lock()
	last, seen := h.touched[id]
	if seen && now.Sub(last) < touchEvery {
		h.touchMu.Unlock()
		return
	}
	h.touched[id] = now
	h.touchMu.Unlock()
	if err := h.d.Store.TouchAPIKey(ctx, id, now); err != nil {
		h.log.WarnContext(ctx, "api: recording a key's use", "key_id", id, "error", err)
	}
}

// touchState is embedded in Handler: when each key was last recorded as
// used, and the keys that authenticated recently.
type touchState struct {
	touchMu sync.Mutex
	touched map[int64]time.Time
	keyMu   sync.Mutex
	keys    map[[32]byte]cachedKey
}

// limitRate applies the key's rate limit (GCRA in Redis, shared by every
// web process): beyond it, 429 with Retry-After. Without Redis, or when
// Redis fails, requests pass (logged): the limit protects, it must not take
// the API down.
func (h *Handler) limitRate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		key, ok := c.Get(ctxKey).(store.APIKey)
		if !ok || h.limiter == nil {
			return next(c)
		}
		ctx := c.Request().Context()
		res, err := h.limiter.Allow(ctx, "api:rate:"+strconv.FormatInt(key.ID, 10),
			redis_rate.Limit{Rate: h.d.RatePerSecond, Burst: h.d.Burst, Period: time.Second})
		if err != nil {
			h.log.WarnContext(ctx, "api: rate limit unavailable; request let through", "error", err)
			return next(c)
		}
		c.Response().Header().Set("RateLimit-Remaining", strconv.Itoa(res.Remaining))
		if res.Allowed == 0 {
			secs := max(1, int(math.Ceil(res.RetryAfter.Seconds())))
			c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
			return problem(http.StatusTooManyRequests,
				fmt.Sprintf("the API key %s made more than %d requests a second; retry after %d s", key.Name, h.d.RatePerSecond, secs))
		}
		return next(c)
	}
}
