package queue

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/dedesales/exchange-connector/internal/testenv"
)

func testRedis(t *testing.T) *redis.Client {
	return testenv.RedisClient(t, testenv.RedisDBQueue)
}

func TestAutoPipelineEnqueues(t *testing.T) {
	rdb := testRedis(t)
	piped := redis.NewClient(rdb.Options())
	t.Cleanup(func() { piped.Close() })
	AutoPipeline(piped, 2)
	c := asynq.NewClientFromRedisClient(piped)
	const n = 400
	var wg sync.WaitGroup
	var mu sync.Mutex
	conflicts := 0
	for i := range 2 * n { // every task twice: the second must conflict
		wg.Go(func() {
			task, err := NewProcessMessageTask(ProcessMessagePayload{EmployeeID: 1, MessageID: fmt.Sprint(i % n)})
			if err != nil {
				t.Error(err)
				return
			}
			_, err = c.EnqueueContext(context.Background(), task)
			if errors.Is(err, asynq.ErrTaskIDConflict) {
				mu.Lock()
				conflicts++
				mu.Unlock()
			} else if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	q, err := asynq.NewInspectorFromRedisClient(rdb).GetQueueInfo(QueueCritical)
	if err != nil {
		t.Fatal(err)
	}
	if q.Pending != n || conflicts != n {
		t.Errorf("%d pending, %d conflicts; want %d and %d", q.Pending, conflicts, n, n)
	}
	// Other commands pass through.
	if err := piped.Ping(context.Background()).Err(); err != nil {
		t.Error(err)
	}
}
