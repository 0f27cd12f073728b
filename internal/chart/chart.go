// Package chart lays out small charts for server-rendered SVG: stacked bars
// and lines over equally spaced slots (e.g. the hours of a week), with axis
// ticks and a legend. It computes geometry only; the template that draws it
// (internal/ops/templates/_charts.html) needs no script and no inline style,
// so the charts render under /ops's strict Content-Security-Policy.
package chart

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Margins of the plot area inside the SVG, in SVG units.
const (
	MarginLeft   = 48
	MarginRight  = 12
	MarginTop    = 10
	MarginBottom = 24
)

// Series is one named row of values, one per slot. Class names its colour
// in the stylesheet.
type Series struct {
	Name   string
	Class  string
	Values []float64 // NaN: no value (a gap in a line)
}

// Tick is a labelled position on an axis.
type Tick struct {
	Pos   float64 // x for the x axis, y for the y axis
	Label string
}

// Rect is one bar segment.
type Rect struct {
	X, Y, W, H float64
}

// Layer is the drawing of one series: its bar segments (Path draws them all)
// or its line (Points, one polyline per run without gaps).
type Layer struct {
	Name, Class string
	Rects       []Rect
	Path        string   // SVG path data of Rects
	Lines       []string // polyline points, "x,y x,y …"
	Total       float64  // sum of the series' values
}

// Chart is a laid-out chart.
type Chart struct {
	Width, Height  int
	Plot           Rect // the plot area
	Layers         []Layer
	XTicks, YTicks []Tick
	Max            float64 // the value at the top of the y axis
	Empty          bool    // no value above zero: nothing to draw
}

// Frame is what every chart needs: its size and the labels of x-axis ticks
// (slot index → label; slots without one get no tick).
type Frame struct {
	Width, Height int
	Slots         int
	XLabels       map[int]string
}

func (f Frame) plot() Rect {
	return Rect{X: MarginLeft, Y: MarginTop, W: float64(f.Width - MarginLeft - MarginRight), H: float64(f.Height - MarginTop - MarginBottom)}
}

func (f Frame) xTicks(p Rect) []Tick {
	var out []Tick
	for i := 0; i <= f.Slots; i++ {
		if l, ok := f.XLabels[i]; ok {
			out = append(out, Tick{Pos: round(p.X + p.W*float64(i)/float64(max(f.Slots, 1))), Label: l})
		}
	}
	return out
}

// StackedBars lays out one bar per slot, the series stacked bottom-up in
// their order. Missing or negative values count as zero.
func StackedBars(f Frame, series []Series) Chart {
	c := Chart{Width: f.Width, Height: f.Height, Plot: f.plot()}
	p := c.Plot
	tops := make([]float64, f.Slots)
	for _, s := range series {
		for i := 0; i < f.Slots && i < len(s.Values); i++ {
			tops[i] += pos(s.Values[i])
		}
	}
	top := 0.0
	for _, t := range tops {
		top = max(top, t)
	}
	c.Empty = top == 0
	c.Max, c.YTicks = linearTicks(top, p)
	c.XTicks = f.xTicks(p)
	slot := p.W / float64(max(f.Slots, 1))
	gap := min(1, slot/4)
	base := make([]float64, f.Slots)
	for _, s := range series {
		l := Layer{Name: s.Name, Class: s.Class}
		for i := 0; i < f.Slots && i < len(s.Values); i++ {
			v := pos(s.Values[i])
			l.Total += v
			if v == 0 {
				continue
			}
			y0 := p.Y + p.H - base[i]/c.Max*p.H
			y1 := p.Y + p.H - (base[i]+v)/c.Max*p.H
			base[i] += v
			l.Rects = append(l.Rects, Rect{X: round(p.X + float64(i)*slot + gap/2), Y: round(y1), W: round(slot - gap), H: round(y0 - y1)})
		}
		l.Path = rectsPath(l.Rects)
		c.Layers = append(c.Layers, l)
	}
	return c
}

// Lines lays out one line per series over the slots, on a logarithmic y
// axis from lo to hi (values are clamped into it) with ticks at the given
// values and labels. A NaN value breaks the line.
func Lines(f Frame, series []Series, lo, hi float64, ticks []Tick) Chart {
	c := Chart{Width: f.Width, Height: f.Height, Plot: f.plot(), Max: hi, Empty: true}
	p := c.Plot
	y := func(v float64) float64 {
		v = math.Min(math.Max(v, lo), hi)
		return round(p.Y + p.H - (math.Log(v)-math.Log(lo))/(math.Log(hi)-math.Log(lo))*p.H)
	}
	for _, t := range ticks {
		c.YTicks = append(c.YTicks, Tick{Pos: y(t.Pos), Label: t.Label})
	}
	c.XTicks = f.xTicks(p)
	slot := p.W / float64(max(f.Slots, 1))
	for _, s := range series {
		l := Layer{Name: s.Name, Class: s.Class}
		var run []string
		flush := func() {
			if len(run) == 1 { // a lone point: a short flat line, so that it shows
				xy := strings.Split(run[0], ",")
				x, _ := strconv.ParseFloat(xy[0], 64)
				run = []string{fmtNum(x-slot/3) + "," + xy[1], fmtNum(x+slot/3) + "," + xy[1]}
			}
			if len(run) > 0 {
				l.Lines = append(l.Lines, strings.Join(run, " "))
			}
			run = nil
		}
		for i := 0; i < f.Slots && i < len(s.Values); i++ {
			v := s.Values[i]
			if math.IsNaN(v) {
				flush()
				continue
			}
			c.Empty = false
			l.Total++
			run = append(run, fmtNum(round(p.X+(float64(i)+0.5)*slot))+","+fmtNum(y(v)))
		}
		flush()
		c.Layers = append(c.Layers, l)
	}
	return c
}

// linearTicks returns a "nice" top of the axis at or above top, and four or
// five ticks from zero to it.
func linearTicks(top float64, p Rect) (float64, []Tick) {
	if top <= 0 {
		top = 1
	}
	raw := top / 4
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	step = math.Max(step, 1) // counts: whole numbers
	n := math.Ceil(top / step)
	hi := n * step
	var ticks []Tick
	for i := 0.0; i <= n; i++ {
		ticks = append(ticks, Tick{Pos: round(p.Y + p.H - i*step/hi*p.H), Label: fmtNum(i * step)})
	}
	return hi, ticks
}

// rectsPath draws rectangles as one SVG path: fewer bytes than a <rect> each.
func rectsPath(rs []Rect) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "M%s %sh%sv%sh-%sz", fmtNum(r.X), fmtNum(r.Y), fmtNum(r.W), fmtNum(r.H), fmtNum(r.W))
	}
	return b.String()
}

func pos(v float64) float64 {
	if math.IsNaN(v) || v < 0 {
		return 0
	}
	return v
}

// round keeps one decimal: enough for the eye, short in the page.
func round(v float64) float64 { return math.Round(v*10) / 10 }

// fmtNum writes a number without trailing zeros.
func fmtNum(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
