package lab

// This file is the lab's only contact with the plotting libraries: the
// line figures are drawn with gonum.org/v1/plot directly, the
// reliability diagrams by package plots.

import (
	"bufio"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/xentlab/xent/metrics"
	"github.com/xentlab/xent/plots"
)

// Figure is the data of one plot of a report: line series over shared
// axes, or a pair of reliability diagrams. A report writes it twice, as
// NAME.png and as NAME.json (this struct), so that runs can be compared
// by their numbers.
type Figure struct {
	// Name is the file name without extension.
	Name string `json:"name"`
	// Kind is "lines" (or ""), or "recalibration": two reliability
	// diagrams with their confidence histograms, of Series[0].Bins before
	// and Series[1].Bins after a calibration map.
	Kind string `json:"kind,omitempty"`
	// Caption heads the figure in the report (default: Title).
	Caption string `json:"caption,omitempty"`
	Title   string `json:"title"`
	XLabel  string `json:"x_label"`
	YLabel  string `json:"y_label"`
	// Diagonal draws the line y = x (a reliability diagram's perfect
	// calibration).
	Diagonal bool `json:"diagonal,omitempty"`
	// XRange and YRange, when not nil, fix the axes to [min, max].
	XRange *[2]float64 `json:"x_range,omitempty"`
	YRange *[2]float64 `json:"y_range,omitempty"`
	// LogY draws the y axis on a log scale (all values > 0).
	LogY bool `json:"log_y,omitempty"`
	// Legend places the legend: "top-right" (or ""), "top-left",
	// "bottom-left" or "bottom-right".
	Legend string   `json:"legend,omitempty"`
	Series []Series `json:"series"`
}

// Series is one named line of a figure. Counts, when set, holds the
// number of examples behind each point (the bins of a reliability
// diagram); Bins, the bins of a recalibration figure.
type Series struct {
	Name   string    `json:"name"`
	X      []float64 `json:"x,omitempty"`
	Y      []float64 `json:"y,omitempty"`
	Counts []int     `json:"counts,omitempty"`
	Bins   []Bin     `json:"bins,omitempty"`
}

// SavePNG renders the figure into the PNG file path.
func (f *Figure) SavePNG(path string) error {
	if f.Kind == "recalibration" {
		if len(f.Series) != 2 {
			return fmt.Errorf("lab: figure %s: a recalibration figure has 2 series, not %d", f.Name, len(f.Series))
		}
		conv := func(bs []Bin) []metrics.Bin {
			out := make([]metrics.Bin, len(bs))
			for i, b := range bs {
				out[i] = metrics.Bin{Lo: b.Lo, Hi: b.Hi, Count: b.Count, Conf: b.Conf, Acc: b.Acc}
			}
			return out
		}
		return plots.Recalibration(path, conv(f.Series[0].Bins), conv(f.Series[1].Bins), plots.Title(f.Title))
	}
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(file)
	err = f.WritePNG(w)
	if err == nil {
		err = w.Flush()
	}
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	return err
}

// figure sizes in points.
const (
	figWidth  = 6.4 * vg.Inch
	figHeight = 4.4 * vg.Inch
)

// WritePNG renders a line figure as a PNG image.
func (f *Figure) WritePNG(w io.Writer) error {
	if f.Kind != "" && f.Kind != "lines" {
		return fmt.Errorf("lab: figure %s: WritePNG draws line figures, not %q", f.Name, f.Kind)
	}
	p := plot.New()
	p.Title.Text = f.Title
	p.Title.Padding = vg.Points(6)
	p.X.Label.Text = f.XLabel
	p.Y.Label.Text = f.YLabel
	p.Add(plotter.NewGrid())
	switch f.Legend {
	case "top-left":
		p.Legend.Top, p.Legend.Left = true, true
	case "bottom-left":
		p.Legend.Left = true
	case "bottom-right":
	default:
		p.Legend.Top = true
	}
	if f.Diagonal {
		d, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
		if err != nil {
			return err
		}
		d.Color = color.Gray{Y: 150}
		d.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
		p.Add(d)
	}
	for i, s := range f.Series {
		if len(s.X) != len(s.Y) {
			return fmt.Errorf("lab: figure %s: series %s has %d x and %d y values", f.Name, s.Name, len(s.X), len(s.Y))
		}
		xys := make(plotter.XYs, 0, len(s.X))
		for j := range s.X {
			if !math.IsNaN(s.X[j]) && !math.IsNaN(s.Y[j]) && !math.IsInf(s.X[j], 0) && !math.IsInf(s.Y[j], 0) {
				xys = append(xys, plotter.XY{X: s.X[j], Y: s.Y[j]})
			}
		}
		if len(xys) == 0 {
			continue
		}
		l, pts, err := plotter.NewLinePoints(xys)
		if err != nil {
			return err
		}
		c := plotutil.Color(i)
		l.Color = c
		l.Width = vg.Points(1.5)
		l.Dashes = plotutil.Dashes(i / len(plotutil.DefaultColors))
		pts.Color = c
		pts.Shape = plotutil.Shape(i)
		pts.Radius = vg.Points(2.5)
		p.Add(l)
		if sized := countMarkers(s, c, plotutil.Shape(i)); sized != nil {
			p.Add(sized)
		} else {
			p.Add(pts)
		}
		p.Legend.Add(s.Name, l, pts)
	}
	if f.XRange != nil {
		p.X.Min, p.X.Max = f.XRange[0], f.XRange[1]
	}
	if f.YRange != nil {
		p.Y.Min, p.Y.Max = f.YRange[0], f.YRange[1]
	}
	if f.LogY && p.Y.Min > 0 {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = logTicks{}
	}
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	p.Legend.Padding = vg.Points(2)
	// A margin above the title, which gonum puts at the very top.
	c := vgimg.New(figWidth, figHeight)
	dc := draw.New(c)
	p.Draw(draw.Crop(dc, 0, 0, 0, -vg.Points(6)))
	_, err := vgimg.PngCanvas{Canvas: c}.WriteTo(w)
	return err
}

// countMarkers returns the points of a series with Counts as markers whose
// area is proportional to the count (the largest count gets a radius of
// 6 points), or nil when the series has no counts.
func countMarkers(s Series, c color.Color, shape draw.GlyphDrawer) *plotter.Scatter {
	if len(s.Counts) != len(s.X) || len(s.X) == 0 {
		return nil
	}
	top := 0
	for _, n := range s.Counts {
		top = max(top, n)
	}
	var xys plotter.XYs
	var radius []vg.Length
	for j := range s.X {
		if math.IsNaN(s.X[j]) || math.IsNaN(s.Y[j]) || math.IsInf(s.X[j], 0) || math.IsInf(s.Y[j], 0) || top == 0 {
			continue
		}
		xys = append(xys, plotter.XY{X: s.X[j], Y: s.Y[j]})
		radius = append(radius, vg.Points(1+5*math.Sqrt(float64(s.Counts[j])/float64(top))))
	}
	sc, err := plotter.NewScatter(xys)
	if err != nil {
		return nil
	}
	sc.GlyphStyleFunc = func(i int) draw.GlyphStyle {
		return draw.GlyphStyle{Color: c, Shape: shape, Radius: radius[i]}
	}
	return sc
}

// logTicks labels a log-scaled axis at 1, 2 and 5 times the powers of
// ten inside its range (gonum's LogTicks labels the powers only, too few
// over a range such as 3 to 11).
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	var t []plot.Tick
	for e := math.Floor(math.Log10(lo)) - 1; e <= math.Ceil(math.Log10(hi)); e++ {
		p := math.Pow(10, e)
		for _, m := range []float64{1, 2, 3, 4, 5, 6, 7, 8, 9} {
			v := m * p
			if v < lo || v > hi {
				continue
			}
			tk := plot.Tick{Value: v}
			if m == 1 || m == 2 || m == 5 || hi/lo < 10 {
				tk.Label = strconv.FormatFloat(v, 'g', -1, 64)
			}
			t = append(t, tk)
		}
	}
	return t
}
