package ops

import (
	"bytes"
	"cmp"
	"strings"
	"testing"
	"time"

	"github.com/dedesales/exchange-connector/internal/store"
)

// The week's hours land in their slots, the days' table adds them up and
// the latency quantiles are the bounds of their buckets.
func TestBuildCharts(t *testing.T) {
	now := time.Date(2026, 11, 29, 15, 30, 0, 0, time.UTC)
	h := now.Truncate(time.Hour)
	rows := store.DecisionHours{
		Verdicts: []store.HourCount{
			{Hour: h.Add(-8 * 24 * time.Hour), Outcome: "imported", Reason: "matched", N: 99}, // before the window
			{Hour: h.Add(-2 * time.Hour), Outcome: "imported", Reason: "matched", N: 10},
			{Hour: h, Outcome: "ignored", Reason: "no_match", N: 4},
			{Hour: h, Outcome: "ignored", Reason: "something_new", N: 2},
		},
		Latencies: []store.HourLatency{
			{Hour: h.Add(-8 * 24 * time.Hour), LatencyLeMs: 1000, N: 99},
			{Hour: h.Add(-2 * time.Hour), LatencyLeMs: 1000, N: 9},
			{Hour: h.Add(-2 * time.Hour), LatencyLeMs: 60_000, N: 1},
			{Hour: h, LatencyLeMs: store.LatencyOverMs, N: 2},
		},
	}
	c := buildCharts(now, rows)
	if c.Total != 16 || c.Notified != 12 {
		t.Errorf("total %d, notified %d; want 16, 12", c.Total, c.Notified)
	}
	if c.P50 != "≤ 1 s" || c.P95 != "> 1 h" {
		t.Errorf("week p50 %q, p95 %q", c.P50, c.P95)
	}
	layers := c.Decisions.Layers
	if layers[0].Name != "imported" || layers[0].Total != 10 || len(layers[0].Rects) != 1 ||
		layers[2].Name != "ignored: no_match" || layers[2].Total != 4 || layers[len(layers)-1].Total != 2 {
		t.Errorf("layers: %+v", layers)
	}
	// The newest hour is the last slot.
	if r := layers[2].Rects[0]; r.X+r.W < c.Decisions.Plot.X+c.Decisions.Plot.W-2*c.Decisions.Plot.W/(7*24) {
		t.Errorf("the current hour's bar %+v is not at the right end of %+v", r, c.Decisions.Plot)
	}
	if len(c.Days) != 8 || c.Days[0].Day != "Sun 29 Nov 2026" || c.Days[0].Counts[0] != 10 || c.Days[0].P95 != "> 1 h" {
		t.Errorf("days: %+v", c.Days)
	}
	if l := c.Latency.Layers; len(l) != 2 || len(l[0].Lines) != 2 {
		t.Errorf("latency lines: %+v (want two runs: the hour two ago and the current one)", l)
	}
}

// denseWeek is the most rows the pipeline makes in a week: every series in
// every latency bucket every hour.
func denseWeek(now time.Time) store.DecisionHours {
	var rows store.DecisionHours
	end := now.Truncate(time.Hour)
	for h := range chartDays * 24 {
		at := end.Add(-time.Duration(h) * time.Hour)
		for _, s := range decisionSeries {
			outcome := cmp.Or(s.outcome, "something_new") // the "other" series
			rows.Verdicts = append(rows.Verdicts, store.HourCount{Hour: at, Outcome: outcome, Reason: s.reason, N: int64(1 + h%17)})
		}
		for _, le := range append(store.LatencyBoundsMs, store.LatencyOverMs) {
			rows.Latencies = append(rows.Latencies, store.HourLatency{Hour: at, LatencyLeMs: le, N: int64(1 + h%5)})
		}
	}
	return rows
}

// The charts of the busiest week stay a small part of the page's 300 KB.
func TestChartsSizeBounded(t *testing.T) {
	now := time.Date(2026, 11, 29, 15, 30, 0, 0, time.UTC)
	c := buildCharts(now, denseWeek(now))
	var buf bytes.Buffer
	if err := templates["status.html"].ExecuteTemplate(&buf, "charts", &c); err != nil {
		t.Fatal(err)
	}
	if n := buf.Len(); n > 80_000 || !strings.Contains(buf.String(), `<svg id="chart-decisions"`) {
		t.Errorf("charts are %d bytes, want at most 80,000", n)
	}
	t.Logf("charts of a dense week: %d bytes", buf.Len())
}

func BenchmarkCharts(b *testing.B) {
	now := time.Date(2026, 11, 29, 15, 30, 0, 0, time.UTC)
	rows := denseWeek(now)
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		c := buildCharts(now, rows)
		if err := templates["status.html"].ExecuteTemplate(&buf, "charts", &c); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes/page")
}
