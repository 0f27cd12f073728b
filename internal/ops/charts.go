package ops

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"time"

	"github.com/dedesales/exchange-connector/internal/chart"
	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/store"
)

// chartDays is how far back the status page's charts go.
const chartDays = 7

// chartSource reads the hourly decision counts; *store.Store is one.
// Optional, so that the Store interface (and its fakes) need not change.
type chartSource interface {
	DecisionHours(ctx context.Context, since time.Time) (store.DecisionHours, error)
}

// latencyTop is where the latency axis ends: latencies above an hour (the
// largest bucket) are drawn there.
const latencyTop = 7200.0

// charts is the data of _charts.html.
type charts struct {
	Err       string
	From, To  time.Time
	Decisions chart.Chart
	Latency   chart.Chart
	Series    []string // the decision series, in the table's column order
	Days      []dayRow // the table behind the charts, one row per day
	Total     int64    // decisions in the window
	P50, P95  string   // over the window; "-" without notified decisions
	Notified  int64    // decisions with a notification time
}

// dayRow is one day of the table fallback.
type dayRow struct {
	Day      string
	Counts   []int64 // per Series
	P50, P95 string
}

// decisionSeries is the order and colour of the stacked bars: the outcomes,
// then the reasons mails were ignored for.
var decisionSeries = []struct{ outcome, reason, name, class string }{
	{match.OutcomeImported, "", "imported", "c-imported"},
	{match.OutcomeDuplicate, "", "duplicate", "c-duplicate"},
	{match.OutcomeIgnored, match.ReasonNoMatch, "ignored: no_match", "c-no-match"},
	{match.OutcomeIgnored, match.ReasonInternal, "ignored: internal", "c-internal"},
	{match.OutcomeIgnored, match.ReasonIgnoredDomain, "ignored: ignored_domain", "c-ignored-domain"},
	{match.OutcomeIgnored, match.ReasonExcludedFolder, "ignored: excluded_folder", "c-excluded"},
	{match.OutcomeIgnored, match.ReasonDraft, "ignored: draft", "c-draft"},
	{"", "", "other", "c-other"},
}

func seriesOf(outcome, reason string) int {
	for i, s := range decisionSeries {
		if s.outcome == outcome && (s.reason == "" || s.reason == reason) {
			return i
		}
	}
	return len(decisionSeries) - 1
}

// buildCharts lays out the week up to now from the hourly rows.
func buildCharts(now time.Time, rows store.DecisionHours) charts {
	loc := now.Location()
	end := now.UTC().Truncate(time.Hour)
	slots := chartDays * 24
	start := end.Add(-time.Duration(slots-1) * time.Hour)
	c := charts{From: start.In(loc), To: end.Add(time.Hour).In(loc)}
	counts := make([][]float64, len(decisionSeries))
	for i := range counts {
		counts[i] = make([]float64, slots)
	}
	nb := len(store.LatencyBoundsMs) + 1 // the bounds and "over"
	hist := make([][]int64, slots)
	for i := range hist {
		hist[i] = make([]int64, nb)
	}
	week := make([]int64, nb)
	slotOf := func(t time.Time) (int, bool) {
		i := int(t.Sub(start) / time.Hour)
		return i, i >= 0 && i < slots
	}
	for _, r := range rows.Verdicts {
		if i, ok := slotOf(r.Hour); ok {
			counts[seriesOf(r.Outcome, r.Reason)][i] += float64(r.N)
			c.Total += r.N
		}
	}
	for _, r := range rows.Latencies {
		i, ok := slotOf(r.Hour)
		if !ok || r.LatencyLeMs == store.LatencyNone {
			continue
		}
		b := slices.Index(store.LatencyBoundsMs, r.LatencyLeMs)
		if b < 0 {
			b = nb - 1
		}
		hist[i][b] += r.N
		week[b] += r.N
		c.Notified += r.N
	}
	// X ticks at local midnights, and the days of the table.
	labels := map[int]string{}
	type day struct {
		label    string
		from, to int
	}
	var days []day
	for i := 0; i < slots; i++ {
		t := start.Add(time.Duration(i) * time.Hour).In(loc)
		if i == 0 || t.Hour() == 0 {
			if t.Hour() == 0 {
				labels[i] = t.Format("Mon 2 Jan")
			}
			if len(days) > 0 {
				days[len(days)-1].to = i
			}
			days = append(days, day{label: t.Format("Mon 2 Jan 2006"), from: i})
		}
	}
	days[len(days)-1].to = slots
	frame := chart.Frame{Width: 960, Height: 220, Slots: slots, XLabels: labels}

	var series []chart.Series
	for i, s := range decisionSeries {
		series = append(series, chart.Series{Name: s.name, Class: s.class, Values: counts[i]})
		c.Series = append(c.Series, s.name)
	}
	c.Decisions = chart.StackedBars(frame, series)

	p50, p95 := make([]float64, slots), make([]float64, slots)
	for i := range hist {
		p50[i], p95[i] = quantile(hist[i], 0.5), quantile(hist[i], 0.95)
	}
	c.Latency = chart.Lines(frame, []chart.Series{
		{Name: "p50", Class: "l-p50", Values: p50},
		{Name: "p95", Class: "l-p95", Values: p95},
	}, 0.5, latencyTop, []chart.Tick{{Pos: 1, Label: "1 s"}, {Pos: 10, Label: "10 s"}, {Pos: 60, Label: "1 min"},
		{Pos: 600, Label: "10 min"}, {Pos: 3600, Label: "1 h"}})
	c.P50, c.P95 = latencyText(quantile(week, 0.5)), latencyText(quantile(week, 0.95))

	for _, d := range slices.Backward(days) {
		row := dayRow{Day: d.label, Counts: make([]int64, len(decisionSeries))}
		h := make([]int64, nb)
		for i := d.from; i < d.to; i++ {
			for s := range decisionSeries {
				row.Counts[s] += int64(counts[s][i])
			}
			for b := range h {
				h[b] += hist[i][b]
			}
		}
		row.P50, row.P95 = latencyText(quantile(h, 0.5)), latencyText(quantile(h, 0.95))
		c.Days = append(c.Days, row)
	}
	return c
}

// quantile is the upper bound, in seconds, of the bucket holding the q-th
// quantile of hist (latencyTop for the last, "over", bucket); NaN when hist
// is empty.
func quantile(hist []int64, q float64) float64 {
	var total int64
	for _, n := range hist {
		total += n
	}
	if total == 0 {
		return math.NaN()
	}
	rank := int64(math.Ceil(q * float64(total)))
	var seen int64
	for b, n := range hist {
		seen += n
		if seen >= max(rank, 1) {
			if b < len(store.LatencyBoundsMs) {
				return float64(store.LatencyBoundsMs[b]) / 1000
			}
			break
		}
	}
	return latencyTop
}

// latencyText writes a bucket bound for people: "≤ 2 s", "> 1 h".
func latencyText(s float64) string {
	switch {
	case math.IsNaN(s):
		return "-"
	case s >= latencyTop:
		return "> 1 h"
	case s >= 3600:
		return fmt.Sprintf("≤ %g h", s/3600)
	case s >= 60:
		return fmt.Sprintf("≤ %g min", s/60)
	default:
		return fmt.Sprintf("≤ %g s", s)
	}
}

// charts reads and lays out the status page's charts; an error is shown on
// the page rather than failing it.
func (h *Handler) charts(ctx context.Context, now time.Time) *charts {
	src, ok := h.deps.Store.(chartSource)
	if !ok {
		return nil
	}
	rows, err := src.DecisionHours(ctx, now.Add(-chartDays*24*time.Hour))
	if err != nil {
		h.log.Error("ops: charts", slog.Any("error", err))
		return &charts{Err: err.Error()}
	}
	c := buildCharts(now, rows)
	return &c
}
