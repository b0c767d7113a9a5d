package report

import (
	"fmt"
	"math"
)

// The KPI charts of the HTML report are inline SVG computed here: plain geometry that the
// template writes as elements, so the page needs no script and prints as it shows.

// svgChart is one chart's geometry in its viewBox coordinates.
type svgChart struct {
	ID, Title     string
	Width, Height float64
	// Plot is the plotting area inside the axes.
	Plot   svgRect
	YTicks []svgTick
	XTicks []svgTick
	// Line and Dots draw a series as a line (compliance); Bars as bars (Findings).
	Line   string
	Dots   []svgDot
	Bars   []svgBar
	Legend []svgLegend
	// Empty says the period has no weeks to draw.
	Empty bool
}

type svgRect struct{ X, Y, W, H float64 }

// svgTick is an axis label at X (x axis) or Y (y axis).
type svgTick struct {
	X, Y  float64
	Label string
}

// svgDot is a data point with its value as a tooltip (the browser shows <title>).
type svgDot struct {
	X, Y  float64
	Label string
}

type svgBar struct {
	X, Y, W, H float64
	Class      string
	Label      string
}

type svgLegend struct {
	X, Y  float64
	Class string
	Label string
}

const (
	chartWidth  = 720
	chartHeight = 260
	chartLeft   = 48
	chartRight  = 12
	chartTop    = 28
	chartBottom = 40
	// maxXLabels keeps the week labels of a year-long period from overlapping.
	maxXLabels = 9
)

func newChart(id, title string, weeks []WeekKPI) svgChart {
	return svgChart{
		ID: id, Title: title, Width: chartWidth, Height: chartHeight,
		Plot: svgRect{X: chartLeft, Y: chartTop,
			W: chartWidth - chartLeft - chartRight, H: chartHeight - chartTop - chartBottom},
		XTicks: weekTicks(weeks),
		Empty:  len(weeks) == 0,
	}
}

// slotX is the centre of week i of n in the plot.
func (c svgChart) slotX(i, n int) float64 {
	return c.Plot.X + c.Plot.W*(float64(i)+0.5)/float64(n)
}

// valueY is the y of value v on a 0..maxValue axis.
func (c svgChart) valueY(v, maxValue float64) float64 {
	if maxValue <= 0 {
		return c.Plot.Y + c.Plot.H
	}
	return c.Plot.Y + c.Plot.H*(1-v/maxValue)
}

// weekTicks labels at most maxXLabels weeks, evenly spread, with their start dates.
func weekTicks(weeks []WeekKPI) []svgTick {
	n := len(weeks)
	if n == 0 {
		return nil
	}
	step := (n + maxXLabels - 1) / maxXLabels
	c := svgChart{Plot: svgRect{X: chartLeft, W: chartWidth - chartLeft - chartRight}}
	var ticks []svgTick
	for i := 0; i < n; i += step {
		ticks = append(ticks, svgTick{X: c.slotX(i, n), Y: chartHeight - chartBottom + 16,
			Label: weeks[i].From.UTC().Format("Jan 2")})
	}
	return ticks
}

// complianceChart draws the weekly compliance share as a line on a 0-100 % axis.
func complianceChart(weeks []WeekKPI) svgChart {
	c := newChart("chart-compliance", "Compliance per week (%)", weeks)
	for _, pct := range []float64{0, 25, 50, 75, 100} {
		c.YTicks = append(c.YTicks, svgTick{X: c.Plot.X - 6, Y: c.valueY(pct, 100),
			Label: fmt.Sprintf("%.0f%%", pct)})
	}
	for i, w := range weeks {
		pct := 100 * clampShare(w.Compliance)
		x, y := c.slotX(i, len(weeks)), c.valueY(pct, 100)
		if c.Line != "" {
			c.Line += " "
		}
		c.Line += fmt.Sprintf("%.1f,%.1f", x, y)
		c.Dots = append(c.Dots, svgDot{X: x, Y: y,
			Label: fmt.Sprintf("week of %s: %.1f%%", w.From.UTC().Format("2006-01-02"), pct)})
	}
	return c
}

// findingsChart draws Findings opened and closed per week as side-by-side bars.
func findingsChart(weeks []WeekKPI) svgChart {
	c := newChart("chart-findings", "Findings opened and closed per week", weeks)
	top := 0
	for _, w := range weeks {
		top = max(top, w.FindingsOpened, w.FindingsClosed)
	}
	axisMax := niceCeiling(top)
	for _, v := range []int{0, axisMax / 2, axisMax} {
		c.YTicks = append(c.YTicks, svgTick{X: c.Plot.X - 6,
			Y: c.valueY(float64(v), float64(axisMax)), Label: fmt.Sprint(v)})
	}
	slot := c.Plot.W / float64(max(len(weeks), 1))
	barW := math.Max(slot*0.38, 0.5)
	for i, w := range weeks {
		x := c.slotX(i, len(weeks))
		day := w.From.UTC().Format("2006-01-02")
		c.Bars = append(c.Bars,
			c.bar(x-barW, barW, w.FindingsOpened, axisMax, "opened",
				fmt.Sprintf("week of %s: %d opened", day, w.FindingsOpened)),
			c.bar(x, barW, w.FindingsClosed, axisMax, "closed",
				fmt.Sprintf("week of %s: %d closed", day, w.FindingsClosed)))
	}
	// The legend sits at the top right, clear of the title at the top left.
	right := c.Plot.X + c.Plot.W
	c.Legend = []svgLegend{
		{X: right - 150, Y: 16, Class: "opened", Label: "opened"},
		{X: right - 70, Y: 16, Class: "closed", Label: "closed"},
	}
	return c
}

func (c svgChart) bar(x, w float64, v, axisMax int, class, label string) svgBar {
	y := c.valueY(float64(v), float64(axisMax))
	return svgBar{X: x, Y: y, W: w, H: c.Plot.Y + c.Plot.H - y, Class: class, Label: label}
}

// niceCeiling rounds a count up to an even axis maximum (at least 2), so the middle tick is a
// whole number.
func niceCeiling(n int) int {
	if n < 2 {
		return 2
	}
	return n + n%2
}

func clampShare(v float64) float64 {
	if math.IsNaN(v) || v < 0 {
		return 0
	}
	return math.Min(v, 1)
}
