// Package semaphore is a counting semaphore in Redis, shared by every worker
// process: at most Limit holders per key (the connector keys it by mailbox,
// because Exchange allows 4 concurrent Graph requests per mailbox).
//
// A holder takes a lease: a member of a sorted set scored by its expiry in
// Redis's own clock. A living holder renews its lease; the lease of a
// process that died expires and its slot frees itself.
package semaphore

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/redis/go-redis/v9"
)

// Semaphore hands out at most Limit leases per key.
type Semaphore struct {
	rdb    redis.UniversalClient
	limit  int
	lease  time.Duration
	prefix string
}

// New returns a semaphore. lease is how long a slot stays taken after its
// holder stopped renewing it (a crashed process); holders renew it every lease/3.
func New(rdb redis.UniversalClient, prefix string, limit int, lease time.Duration) *Semaphore {
	return &Semaphore{rdb: rdb, limit: limit, lease: lease, prefix: prefix}
}

// acquireScript drops expired leases and adds ours when a slot is free.
// KEYS[1] the set; ARGV: token, lease ms, limit.
var acquireScript = redis.NewScript(`
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], 2 * tonumber(ARGV[2]))
  return 1
end
return 0`)

// renewScript extends a lease that is still held. KEYS[1]; ARGV: token, lease ms.
var renewScript = redis.NewScript(`
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local n = redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], 2 * tonumber(ARGV[2]))
return n`)

// Acquire waits for a slot of key and returns the function that gives it
// back. It fails only when ctx ends or Redis fails.
func (s *Semaphore) Acquire(ctx context.Context, key string) (release func(), err error) {
	return s.acquire(ctx, key, true)
}

func (s *Semaphore) acquire(ctx context.Context, key string, renew bool) (func(), error) {
	token := newToken()
	k := s.prefix + key
	wait := 5 * time.Millisecond
	for {
		ok, err := acquireScript.Run(ctx, s.rdb, []string{k}, token, s.lease.Milliseconds(), s.limit).Int()
		if err != nil {
			return nil, fmt.Errorf("semaphore %s: %w", key, err)
		}
		if ok == 1 {
			break
		}
		// Back off with jitter so that waiters do not poll in step.
		t := time.NewTimer(wait/2 + rand.N(wait))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("semaphore %s: %w", key, ctx.Err())
		case <-t.C:
		}
		wait = min(wait*2, 200*time.Millisecond)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		if renew {
			s.renew(k, token, stop)
		}
	}()
	return func() {
		close(stop)
		<-done
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		// A failed release is harmless: the lease expires by itself.
		_ = s.rdb.ZRem(ctx, k, token).Err()
	}, nil
}

// renew keeps the lease alive until stop is closed.
func (s *Semaphore) renew(key, token string, stop <-chan struct{}) {
	tick := time.NewTicker(s.lease / 3)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			ctx, cancel := context.WithTimeout(context.Background(), s.lease/3)
			err := renewScript.Run(ctx, s.rdb, []string{key}, token, s.lease.Milliseconds()).Err()
			cancel()
			if err != nil && !errors.Is(err, context.DeadlineExceeded) {
				continue // Redis hiccup: try again on the next tick; the lease has slack
			}
		}
	}
}

func newToken() string {
	b := make([]byte, 12)
	_, _ = crand.Read(b)
	return hex.EncodeToString(b)
}
