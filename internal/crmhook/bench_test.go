package crmhook_test

import (
	"context"
	"testing"
	"time"

	"github.com/dedesales/exchange-connector/internal/crmhook"
	"github.com/dedesales/exchange-connector/internal/secret"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// BenchmarkDelivery measures webhook throughput end to end: b.N changes in
// the log are dispatched and delivered by an asynq worker (concurrency 20,
// as in production) through real Redis to a loopback receiver that
// verifies every signature with the Standard Webhooks library. The target
// is 500 events/s (issue 12). Run it with a fixed count, e.g.
//
//	go test -run '^$' -bench BenchmarkDelivery -benchtime 3000x ./internal/crmhook/
func BenchmarkDelivery(b *testing.B) {
	for _, dialect := range storetest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			ctx := context.Background()
			st := storetest.Open(b, dialect)
			seedCRM(b, st)
			key := testKey(b)
			rcv := newReceiver(b)
			_, sec := addEndpoint(b, st, key, rcv.srv.URL+"/hooks", true)
			rcv.setSecret(sec)
			for i := range b.N {
				recordMail(b, st, 1, i)
			}
			awaitChanges(b, st, store.Cursor{}, b.N)
			opt := redisOpt(b)
			svc := crmhook.New(crmhook.Config{Store: st, Keys: secret.Ring{Current: key}, Queue: newQueue(b, opt), Log: testLog(b)})
			startWorker(b, opt, svc, time.Second, 20)

			b.ResetTimer()
			start := time.Now()
			if n, err := svc.Dispatch(ctx); err != nil || n != b.N {
				b.Fatalf("Dispatch = %d, %v; want %d", n, err, b.N)
			}
			rcv.await(b.N, 5*time.Minute)
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
			rcv.check()
		})
	}
}
