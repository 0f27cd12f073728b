package loadgen

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/dedesales/exchange-connector/internal/queue"
	"github.com/dedesales/exchange-connector/internal/testenv"
	"github.com/dedesales/exchange-connector/webhooks"
)

// serveBare starts ServeBare on a loopback port and returns its notification URL.
func serveBare(t *testing.T, enq webhooks.Enqueuer) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeBare(ctx, ln, enq) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeBare: %v", err)
		}
	})
	return "http://" + ln.Addr().String() + webhooks.PathNotifications
}

func post(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(`{"value":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestServeBareAnswers202(t *testing.T) {
	if code := post(t, serveBare(t, nil)); code != http.StatusAccepted {
		t.Errorf("bare: %d, want 202", code)
	}
}

func TestServeFloorEnqueuesOneTaskPerRequest(t *testing.T) {
	rdb := redis.NewClient(testenv.Redis(t, testenv.RedisDBLoadgen))
	t.Cleanup(func() { rdb.Close() })
	url := serveBare(t, queue.NewPipelinedClient(rdb))
	for range 3 {
		if code := post(t, url); code != http.StatusAccepted {
			t.Fatalf("floor: %d, want 202", code)
		}
	}
	info, err := asynq.NewInspectorFromRedisClient(rdb).GetQueueInfo(FloorQueue)
	if err != nil {
		t.Fatal(err)
	}
	if info.Pending != 3 {
		t.Errorf("%d pending tasks in %s, want 3 (one per request, each under its own ID)", info.Pending, FloorQueue)
	}
}

func TestServeFloorAnswers503WithoutRedis(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	if code := post(t, serveBare(t, asynq.NewClientFromRedisClient(rdb))); code != http.StatusServiceUnavailable {
		t.Errorf("floor without Redis: %d, want 503", code)
	}
}
