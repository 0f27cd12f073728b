// Package testenv gives tests the real services they run against. It is
// imported by tests only.
//
// go test runs packages in parallel, so every package that uses Redis gets
// a database of its own, listed here in one place.
package testenv

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis databases, one per test package.
const (
	RedisDBJobs      = 7
	RedisDBCRMHook   = 8
	RedisDBQueue     = 6
	RedisDBAPI       = 9
	RedisDBLoadgen   = 10
	RedisDBOps       = 11
	RedisDBCLI       = 12
	RedisDBApp       = 13
	RedisDBWebhooks  = 14
	RedisDBSemaphore = 15
)

// Redis returns the options of database db on the Redis named by
// TEST_REDIS_URL (default redis://127.0.0.1:6379), emptied for the test.
// It skips the test when Redis does not answer, unless
// REQUIRE_INTEGRATION=1 (set by `make test`), which makes it fail.
func Redis(t testing.TB, db int) *redis.Options {
	t.Helper()
	url := os.Getenv("TEST_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379"
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("TEST_REDIS_URL: %v", err)
	}
	opt.DB = db
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		if os.Getenv("REQUIRE_INTEGRATION") == "1" {
			t.Fatalf("Redis at %s is required but does not answer: %v", opt.Addr, err)
		}
		t.Skipf("Redis does not answer (%v); set REQUIRE_INTEGRATION=1 to fail instead", err)
	}
	return opt
}

// RedisClient is a client on Redis(t, db), closed when the test ends.
func RedisClient(t testing.TB, db int) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(Redis(t, db))
	t.Cleanup(func() { rdb.Close() })
	return rdb
}
