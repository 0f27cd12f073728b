package app_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dedesales/exchange-connector/internal/graphsim"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// benchMailboxes receive the benchmark's mail, so that Exchange's limit of
// 4 concurrent requests per mailbox is not what is measured.
var benchMailboxes = []string{anna, peter}

// BenchmarkPipeline measures DESIGN §9's pipeline targets against the
// simulator: sustained e-mails/s from notification to activity (target ≥ 300/s
// on PostgreSQL), and the notification-to-activity latency at a steady 50
// e-mails/s (target p50 ≤ 250 ms). Run it with
//
//	go test -run '^$' -bench Pipeline -benchtime 1x ./internal/app/
func BenchmarkPipeline(b *testing.B) {
	for _, dialect := range storetest.Dialects {
		b.Run(dialect+"/throughput", func(b *testing.B) { benchThroughput(b, dialect, 3000) })
		b.Run(dialect+"/latency-at-50-per-s", func(b *testing.B) { benchLatency(b, dialect, 50, 15*time.Second) })
	}
}

func benchStack(b *testing.B, dialect string) *stack {
	s := newStack(b, dialect)
	s.start(b)
	return s
}

func benchThroughput(b *testing.B, dialect string, n int) {
	for range b.N {
		s := benchStack(b, dialect)
		start := time.Now()
		for i := range n {
			s.mailB(b, benchMailboxes[i%len(benchMailboxes)], fmt.Sprintf("tp-%d", i))
		}
		injected := time.Since(start)
		waitActivities(b, s, n, 5*time.Minute)
		elapsed := time.Since(start)
		b.ReportMetric(float64(n)/elapsed.Seconds(), "mails/s")
		b.ReportMetric(float64(n)/injected.Seconds(), "injected/s")
	}
}

func benchLatency(b *testing.B, dialect string, rate int, d time.Duration) {
	for range b.N {
		s := benchStack(b, dialect)
		n := rate * int(d.Seconds())
		sent := make(map[string]time.Time, n)
		tick := time.NewTicker(time.Second / time.Duration(rate))
		for i := range n {
			<-tick.C
			subject := fmt.Sprintf("lat-%d", i)
			sent[subject] = time.Now()
			s.mailB(b, benchMailboxes[i%len(benchMailboxes)], subject)
		}
		tick.Stop()
		waitActivities(b, s, n, 2*time.Minute)
		var lat []time.Duration
		rows, err := s.st.ActivityTimes(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		for subject, created := range rows {
			if at, ok := sent[subject]; ok {
				lat = append(lat, created.Sub(at))
			}
		}
		slices.Sort(lat)
		pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Milliseconds()) }
		b.ReportMetric(pct(0.50), "p50-ms")
		b.ReportMetric(pct(0.95), "p95-ms")
		b.ReportMetric(pct(0.99), "p99-ms")
	}
}

func (s *stack) mailB(b *testing.B, mailbox, subject string) {
	_, err := s.sim.CreateMessage(graphsim.MessageInput{Mailbox: mailbox, Folder: "inbox", Message: map[string]any{
		"subject": subject, "from": from("sabine.schulz@schulz-technik.com"), "toRecipients": to(mailbox),
		"body": map[string]any{"contentType": "text", "content": "Guten Tag, anbei die Unterlagen."},
	}})
	if err != nil {
		b.Fatal(err)
	}
}

func waitActivities(b *testing.B, s *stack, n int, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for {
		a, _, err := s.st.ActivityCount(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if a >= n {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d activities after %s", a, n, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// BenchmarkLargeAttachment files a 100 MB attachment end to end (Graph
// $value → spool file → document store) and reports how much the process's
// peak RSS grew while doing it (target ≤ 32 MB; the in-process simulator's
// own buffers count too, so this is an upper bound).
//
//	go test -run '^$' -bench LargeAttachment -benchtime 1x ./internal/app/
func BenchmarkLargeAttachment(b *testing.B) {
	for range b.N {
		s := newStack(b, "sqlite")
		s.start(b)
		runtime.GC()
		base := rssKB(b, "VmRSS")
		if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
			b.Skipf("cannot reset the peak RSS: %v", err)
		}
		start := time.Now()
		_, err := s.sim.CreateMessage(graphsim.MessageInput{Mailbox: anna, Folder: "inbox", Message: map[string]any{
			"subject": "Baustellenfotos", "from": from("t.mueller@mueller-bau.de")},
			Attachments: []graphsim.AttachmentInput{{Name: "Fotos.zip", ContentType: "application/zip", Size: 100 << 20}}})
		if err != nil {
			b.Fatal(err)
		}
		s.waitFor(b, "the filed 100 MB file", func() bool {
			n, size, _ := s.st.DocumentCount(context.Background())
			return n == 1 && size == 100<<20
		})
		elapsed := time.Since(start)
		peak := rssKB(b, "VmHWM")
		b.ReportMetric(float64(peak-base)/1024, "rss-growth-MB")
		b.ReportMetric(100/elapsed.Seconds(), "MB/s")
	}
}

// rssKB reads a memory figure of this process from /proc/self/status.
func rssKB(b *testing.B, field string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, field+":") {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(line, field+":")), "%d", &kb)
			return kb
		}
	}
	b.Fatalf("%s not in /proc/self/status", field)
	return 0
}
