package semaphore

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dedesales/exchange-connector/internal/testenv"

	"github.com/redis/go-redis/v9"
)

func testRedis(t *testing.T) *redis.Client {
	return testenv.RedisClient(t, testenv.RedisDBSemaphore)
}

// All four slots are handed out at once and never a fifth: the first four
// holders keep their slots until four have been admitted (so reaching four
// does not depend on timing), then everyone goes through.
func TestAtMostLimitHolders(t *testing.T) {
	rdb := testRedis(t)
	// Two "processes" sharing Redis.
	a := New(rdb, "sem:", 4, 10*time.Second)
	b := New(redis.NewClient(rdb.Options()), "sem:", 4, 10*time.Second)
	const workers = 24
	var holders, most atomic.Int32
	admitted := make(chan struct{}, workers)
	gate := make(chan struct{}) // closed once four hold a slot together
	openGate := sync.OnceFunc(func() { close(gate) })
	defer openGate() // also when the test fails early
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := a
			if i%2 == 1 {
				s = b
			}
			release, err := s.Acquire(context.Background(), "anna@dedenet.de")
			if err != nil {
				t.Error(err)
				admitted <- struct{}{}
				return
			}
			n := holders.Add(1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			admitted <- struct{}{}
			<-gate
			holders.Add(-1)
			release()
		}()
	}
	deadline := time.After(30 * time.Second) // a failure bound, not a synchronisation
	for range 4 {
		select {
		case <-admitted:
		case <-deadline:
			t.Fatalf("only %d of 4 slots handed out while all were free", holders.Load())
		}
	}
	if n := holders.Load(); n != 4 {
		t.Errorf("%d holders at once, want 4", n)
	}
	openGate()
	wg.Wait()
	if m := most.Load(); m != 4 {
		t.Errorf("at most %d concurrent holders, want 4", m)
	}
	if n, _ := rdb.ZCard(context.Background(), "sem:anna@dedenet.de").Result(); n != 0 {
		t.Errorf("%d leases left after all released", n)
	}
}

func TestKeysAreIndependent(t *testing.T) {
	rdb := testRedis(t)
	s := New(rdb, "sem:", 1, 10*time.Second)
	r1, err := s.Acquire(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	defer r1()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r2, err := s.Acquire(ctx, "b")
	if err != nil {
		t.Fatalf("other key blocked: %v", err)
	}
	r2()
}

func TestAcquireGivesUpWithContext(t *testing.T) {
	rdb := testRedis(t)
	s := New(rdb, "sem:", 1, 10*time.Second)
	r1, err := s.Acquire(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	defer r1()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.Acquire(ctx, "k"); err == nil {
		t.Fatal("second holder admitted at limit 1")
	}
}

// A holder that dies without releasing (no renewal) frees its slot when the
// lease runs out; a living holder keeps its slot past the lease by renewing.
func TestLeasesOfDeadHoldersExpire(t *testing.T) {
	rdb := testRedis(t)
	s := New(rdb, "sem:", 1, 300*time.Millisecond)
	if _, err := s.acquire(context.Background(), "dead", false); err != nil { // never released, never renewed
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	release, err := s.Acquire(ctx, "dead")
	if err != nil {
		t.Fatalf("slot of the dead holder never freed: %v", err)
	}
	defer release()

	// The living holder renews: after several lease periods a newcomer is still refused.
	ctx2, cancel2 := context.WithTimeout(context.Background(), time.Second)
	defer cancel2()
	if _, err := s.Acquire(ctx2, "dead"); err == nil {
		t.Error("a renewed lease was taken over")
	}
}
