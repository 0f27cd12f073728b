package graph_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dedesales/exchange-connector/internal/graph"
	"github.com/dedesales/exchange-connector/internal/graphsim"
)

// BenchmarkDeltaRound is one full delta round (all pages, through the SDK)
// over a folder of 10,000 messages with 20 ms latency per Graph request,
// the way the backfill of a large mailbox runs. Target: ≤ 10 s per round.
//
//	go test -run '^$' -bench DeltaRound -benchtime 3x ./internal/graph/
func BenchmarkDeltaRound(b *testing.B) {
	e := newEnvB(b)
	no := false
	for i := range 10000 {
		_, err := e.sim.CreateMessage(graphsim.MessageInput{Mailbox: anna, Folder: "inbox", Notify: &no, Message: map[string]any{
			"subject": fmt.Sprintf("Mail %d", i),
			"from":    map[string]any{"emailAddress": map[string]any{"address": fmt.Sprintf("k%d@kunde%d.de", i%7, i%500)}},
			"body":    map[string]any{"contentType": "text", "content": "Sehr geehrte Damen und Herren, anbei das Angebot."},
		}})
		if err != nil {
			b.Fatal(err)
		}
	}
	e.sim.SetFaults(graphsim.Faults{LatencyMS: 20})
	c := e.clientB(b)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		n, pages, link := 0, 0, ""
		for {
			p, err := c.Delta(ctx, anna, "inbox", link, time.Time{})
			if err != nil {
				b.Fatal(err)
			}
			n += len(p.Messages)
			pages++
			if p.DeltaLink != "" {
				break
			}
			link = p.NextLink
		}
		if n != 10000 {
			b.Fatalf("round returned %d messages", n)
		}
		b.ReportMetric(float64(pages), "pages")
		b.ReportMetric(time.Since(start).Seconds(), "s/round")
	}
}

func newEnvB(b *testing.B) *env {
	sim, err := graphsim.Start("", graphsim.Options{TenantID: tenantID, ClientID: clientID, ClientSecret: secret})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sim.Close() })
	caFile := b.TempDir() + "/ca.pem"
	if err := sim.CA.WriteFile(caFile); err != nil {
		b.Fatal(err)
	}
	return &env{sim: sim, caFile: caFile}
}

func (e *env) clientB(b *testing.B) *graph.Client {
	c, err := graph.New(graph.Config{
		Credentials:  graph.Fixed{TenantID: tenantID, ClientID: clientID, Secrets: []graph.Secret{{ID: 1, Value: secret}}},
		AuthorityURL: e.sim.URL, GraphURL: e.sim.GraphURL(), ExtraCAFile: e.caFile,
	})
	if err != nil {
		b.Fatal(err)
	}
	return c
}
