package documents

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkPutLarge streams a generated 100 MB reader through the local and
// the WebDAV backend (the Nextcloud fake on x/net/webdav, chunked upload) and
// reports MB/s and heap-MB: the peak growth of the Go heap (HeapInuse,
// sampled every 5 ms, server included) over the heap before the upload.
// Streaming keeps it far below the 32 MB budget.
func BenchmarkPutLarge(b *testing.B) {
	const size = 100_000_000
	sum := genSum(size)
	local, err := NewLocal(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer local.Close()
	dav, _ := newFakeStore(b, WebDAVOptions{})
	for _, bc := range []struct {
		name  string
		store Store
	}{{"local", local}, {"webdav-xnet", dav}} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			b.SetBytes(size)
			peak := watchHeap(b)
			for i := 0; b.Loop(); i++ {
				if err := bc.store.Put(ctx, fmt.Sprintf("bench/%d.bin", i%2), newGenReader(size), size, time.Now(), sum); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(peak(), "heap-MB")
		})
	}
}

// watchHeap samples the heap until the returned function is called, which
// reports the peak growth in MB.
func watchHeap(b *testing.B) func() float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.HeapInuse
	var max atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > max.Load() {
				max.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	})
	return func() float64 {
		close(stop)
		wg.Wait()
		if max.Load() < before {
			return 0
		}
		return float64(max.Load()-before) / 1e6
	}
}
