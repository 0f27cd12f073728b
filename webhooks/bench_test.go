package webhooks

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/dedesales/exchange-connector/internal/queue"
)

// benchConns is the number of concurrent connections of BenchmarkIntake.
const benchConns = 64

// BenchmarkIntake measures requests/s of POST /graph/notifications with one
// notification each, through the real handler with a real Redis enqueue,
// against a bare echo handler that reads the body and answers 202, side by
// side in one run over benchConns connections: bare, then the handler on a
// plain asynq client, then on an AutoPipeline one. Each request names a new
// message, so every one is enqueued. Run it with a fixed count, e.g.
//
//	go test -run '^$' -bench BenchmarkIntake -benchtime 50000x ./webhooks/
func BenchmarkIntake(b *testing.B) {
	rdb := testRedis(b)
	inspect := asynq.NewInspectorFromRedisClient(rdb)
	// plain: asynq's client as is, one round trip per enqueue.
	plain := newEnvWith(b, asynq.NewClientFromRedisClient(rdb))
	// pipelined: concurrent enqueues share round trips (AutoPipeline).
	opt := rdb.Options()
	piped := redis.NewClient(opt)
	defer piped.Close()
	queue.AutoPipeline(piped, 2)
	pipelined := newEnvWith(b, asynq.NewClientFromRedisClient(piped))

	bare := echo.New()
	bare.POST(PathNotifications, func(c echo.Context) error {
		if _, err := io.Copy(io.Discard, c.Request().Body); err != nil {
			return err
		}
		return c.NoContent(http.StatusAccepted)
	})
	urls := map[string]string{}
	for name, h := range map[string]http.Handler{"bare": bare, "plain": plain.e, "pipelined": pipelined.e} {
		srv := httptest.NewServer(h)
		defer srv.Close()
		urls[name] = srv.URL + PathNotifications
	}
	client := &http.Client{Transport: &http.Transport{
		MaxIdleConns: 4 * benchConns, MaxIdleConnsPerHost: 2 * benchConns, MaxConnsPerHost: benchConns,
	}}
	defer client.CloseIdleConnections()
	body := newBodies(b, fixture(b, "notification-created.json", plain.keys.Generate(42)))

	order := []string{"bare", "plain", "pipelined"}
	for _, name := range order { // warm up connections, pools, the queue's SADD
		loadRun(b, client, urls[name], body, 2000)
	}
	b.ResetTimer()
	stats := map[string]loadStat{}
	for _, name := range order {
		stats[name] = loadRun(b, client, urls[name], body, b.N)
	}
	b.StopTimer()

	b.ReportMetric(0, "ns/op")
	for _, name := range order {
		b.ReportMetric(stats[name].rate, name+"_req/s")
		b.ReportMetric(float64(stats[name].p99.Microseconds())/1000, name+"_p99_ms")
	}
	b.ReportMetric(stats["plain"].rate/stats["bare"].rate, "plain_ratio")
	b.ReportMetric(stats["pipelined"].rate/stats["bare"].rate, "pipelined_ratio")
	if q, err := inspect.GetQueueInfo("critical"); err != nil || q.Pending < 2*b.N {
		b.Errorf("queue holds %v (err %v), want ≥ %d pending", q, err, 2*b.N)
	}
}

// loadStat is the outcome of loadRun.
type loadStat struct {
	rate float64       // requests/s
	p99  time.Duration // 99th percentile latency
}

// loadRun POSTs n notifications to url over benchConns concurrent
// connections and measures them.
func loadRun(b *testing.B, client *http.Client, url string, body *bodies, n int) loadStat {
	var next atomic.Int64
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	start := time.Now()
	for range benchConns {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				resp, err := client.Post(url, "application/json", bytes.NewReader(body.next()))
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat[i] = time.Since(t0)
				if resp.StatusCode != http.StatusAccepted {
					b.Errorf("POST %s: %d", url, resp.StatusCode)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	return loadStat{rate: float64(n) / elapsed.Seconds(), p99: lat[n*99/100]}
}

// bodies makes notification bodies, each naming a new message.
type bodies struct {
	prefix, middle, suffix string
	seq                    atomic.Int64
}

// newBodies splits the sample at its message ID (in resource and
// resourceData.id).
func newBodies(b *testing.B, sample []byte) *bodies {
	const id = "AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0AqVxH3fJ-YkqsV8Dl9aqRcgAAAJ5W2bYAAA="
	parts := strings.Split(string(sample), id)
	// resource, @odata.id and id name it.
	if len(parts) != 4 {
		b.Fatalf("sample names the message %d times", len(parts)-1)
	}
	return &bodies{prefix: parts[0], middle: parts[1] + "%[1]s" + parts[2], suffix: parts[3]}
}

// next returns a body for a new message.
func (bs *bodies) next() []byte {
	id := fmt.Sprintf("AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0AqVxH3fJ-%020d=", bs.seq.Add(1))
	return []byte(bs.prefix + id + fmt.Sprintf(bs.middle, id) + id + bs.suffix)
}

// BenchmarkHandlerCPU is the handler's own cost per notification, without
// HTTP transport or Redis (an in-memory enqueuer).
func BenchmarkHandlerCPU(b *testing.B) {
	enq := &fakeEnqueuer{}
	ev := newEnvWith(b, enq)
	body := fixture(b, "notification-created.json", ev.keys.Generate(42))
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, PathNotifications, bytes.NewReader(body))
		rec := httptest.NewRecorder()
		ev.e.ServeHTTP(rec, req)
		if rec.Code != http.StatusAccepted {
			b.Fatal(rec.Code)
		}
		enq.tasks = enq.tasks[:0]
	}
}
