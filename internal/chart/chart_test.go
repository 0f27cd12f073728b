package chart

import (
	"math"
	"strings"
	"testing"
)

func frame(slots int) Frame {
	return Frame{Width: 400, Height: 200, Slots: slots, XLabels: map[int]string{0: "Mon", slots: "now"}}
}

// Bars stack bottom-up without gaps or overlaps, heights are proportional to
// the values, and every bar lies inside the plot area.
func TestStackedBarsGeometry(t *testing.T) {
	c := StackedBars(frame(4), []Series{
		{Name: "a", Class: "s0", Values: []float64{1, 0, 3, 2}},
		{Name: "b", Class: "s1", Values: []float64{1, 2, 0, math.NaN()}},
	})
	p := c.Plot
	if c.Empty || c.Max < 3 {
		t.Fatalf("max %v, empty %v", c.Max, c.Empty)
	}
	if len(c.Layers) != 2 || len(c.Layers[0].Rects) != 3 || len(c.Layers[1].Rects) != 2 {
		t.Fatalf("layers: %+v", c.Layers)
	}
	unit := p.H / c.Max // SVG units per count
	a, b := c.Layers[0].Rects, c.Layers[1].Rects
	near := func(x, y float64) bool { return math.Abs(x-y) <= 0.15 }
	// Slot 0: a (1) at the bottom, b (1) right on top of it.
	if !near(a[0].Y+a[0].H, p.Y+p.H) || !near(a[0].H, unit) || !near(b[0].Y+b[0].H, a[0].Y) || !near(b[0].H, unit) {
		t.Errorf("slot 0: a %+v, b %+v (unit %v, plot %+v)", a[0], b[0], unit, p)
	}
	// Slot 2: a alone, three units high.
	if !near(a[1].H, 3*unit) || a[1].X <= b[1].X {
		t.Errorf("slot 2: %+v after slot 1's %+v", a[1], b[1])
	}
	for _, l := range c.Layers {
		for _, r := range l.Rects {
			if r.X < p.X || r.X+r.W > p.X+p.W+0.1 || r.Y < p.Y-0.1 || r.Y+r.H > p.Y+p.H+0.1 || r.W <= 0 || r.H <= 0 {
				t.Errorf("%s: %+v outside the plot %+v", l.Name, r, p)
			}
		}
		if strings.Count(l.Path, "M") != len(l.Rects) {
			t.Errorf("%s: path %q for %d rects", l.Name, l.Path, len(l.Rects))
		}
	}
	if c.Layers[0].Total != 6 || c.Layers[1].Total != 3 {
		t.Errorf("totals %v, %v", c.Layers[0].Total, c.Layers[1].Total)
	}
	if len(c.XTicks) != 2 || c.XTicks[0].Pos != p.X || c.XTicks[1].Pos != p.X+p.W {
		t.Errorf("x ticks %+v for plot %+v", c.XTicks, p)
	}
}

func TestLinearTicksAreNiceAndCoverTheTop(t *testing.T) {
	p := Rect{X: 0, Y: 0, W: 100, H: 100}
	for _, c := range []struct {
		top  float64
		want float64
	}{{0, 1}, {1, 1}, {3, 3}, {7, 8}, {9, 10}, {37, 40}, {120, 150}, {999, 1000}, {1234, 1500}} {
		hi, ticks := linearTicks(c.top, p)
		if hi != c.want {
			t.Errorf("top %v: axis to %v, want %v", c.top, hi, c.want)
		}
		if len(ticks) < 2 || len(ticks) > 6 || ticks[0].Label != "0" || ticks[0].Pos != 100 || ticks[len(ticks)-1].Pos != 0 {
			t.Errorf("top %v: ticks %+v", c.top, ticks)
		}
	}
}

func TestStackedBarsEmpty(t *testing.T) {
	c := StackedBars(frame(3), []Series{{Name: "a", Values: []float64{0, 0, 0}}})
	if !c.Empty || len(c.Layers[0].Rects) != 0 || c.Layers[0].Path != "" {
		t.Errorf("empty chart: %+v", c)
	}
}

// Lines break at missing values, lie on a log scale and stay in the plot.
func TestLinesGeometry(t *testing.T) {
	nan := math.NaN()
	c := Lines(frame(5), []Series{{Name: "p50", Class: "l0", Values: []float64{1, 10, nan, 100, 100000}}}, 1, 1000,
		[]Tick{{Pos: 1, Label: "1s"}, {Pos: 1000, Label: "1000s"}})
	p := c.Plot
	if c.Empty || len(c.Layers) != 1 {
		t.Fatalf("%+v", c)
	}
	lines := c.Layers[0].Lines
	if len(lines) != 2 {
		t.Fatalf("lines %q: want two runs around the gap", lines)
	}
	y := func(pt string) string { return strings.Split(pt, ",")[1] }
	first := strings.Fields(lines[0])
	// 1 at the bottom, 10 a third of the way up (log scale from 1 to 1000).
	if y(first[0]) != fmtNum(p.Y+p.H) || y(first[1]) != fmtNum(round(p.Y+p.H-p.H/3)) {
		t.Errorf("first run %q (plot %+v)", lines[0], p)
	}
	// 100000 is clamped to the top.
	second := strings.Fields(lines[1])
	if y(second[1]) != fmtNum(p.Y) {
		t.Errorf("second run %q: the value above the axis is not at its top %v", lines[1], p.Y)
	}
	if c.YTicks[0].Pos != p.Y+p.H || c.YTicks[1].Pos != p.Y {
		t.Errorf("y ticks %+v", c.YTicks)
	}
}

func TestLinesLonePointShows(t *testing.T) {
	nan := math.NaN()
	c := Lines(frame(3), []Series{{Name: "p95", Values: []float64{nan, 5, nan}}}, 1, 10, nil)
	if l := c.Layers[0].Lines; len(l) != 1 || len(strings.Fields(l[0])) != 2 {
		t.Errorf("lone point drawn as %q", l)
	}
	if c := Lines(frame(3), []Series{{Name: "p95", Values: []float64{nan, nan, nan}}}, 1, 10, nil); !c.Empty {
		t.Error("a chart without values is not empty")
	}
}
