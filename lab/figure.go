package lab

// This file is the lab's only contact with the plotting library.

import (
	"fmt"
	"image/color"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Figure is the data of one plot of a report: line series over shared
// axes. A report writes it twice, as NAME.png and as NAME.json (this
// struct), so that runs can be compared by their numbers.
type Figure struct {
	// Name is the file name without extension.
	Name   string `json:"name"`
	Title  string `json:"title"`
	XLabel string `json:"x_label"`
	YLabel string `json:"y_label"`
	// Diagonal draws the line y = x (a reliability diagram's perfect
	// calibration).
	Diagonal bool `json:"diagonal,omitempty"`
	// XRange and YRange, when not nil, fix the axes to [min, max].
	XRange *[2]float64 `json:"x_range,omitempty"`
	YRange *[2]float64 `json:"y_range,omitempty"`
	Series []Series    `json:"series"`
}

// Series is one named line of a figure. Counts, when set, holds the
// number of examples behind each point (the bins of a reliability
// diagram).
type Series struct {
	Name   string    `json:"name"`
	X      []float64 `json:"x"`
	Y      []float64 `json:"y"`
	Counts []int     `json:"counts,omitempty"`
}

// figure sizes in points.
const (
	figWidth  = 6.4 * vg.Inch
	figHeight = 4.4 * vg.Inch
)

// WritePNG renders the figure as a PNG image.
func (f *Figure) WritePNG(w io.Writer) error {
	p := plot.New()
	p.Title.Text = f.Title
	p.X.Label.Text = f.XLabel
	p.Y.Label.Text = f.YLabel
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	p.Legend.Left = f.Diagonal // reliability: the top right is where the curves are
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
		p.Add(l, pts)
		p.Legend.Add(s.Name, l, pts)
	}
	if f.XRange != nil {
		p.X.Min, p.X.Max = f.XRange[0], f.XRange[1]
	}
	if f.YRange != nil {
		p.Y.Min, p.Y.Max = f.YRange[0], f.YRange[1]
	}
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	p.Legend.Padding = vg.Points(2)
	wt, err := p.WriterTo(figWidth, figHeight, "png")
	if err != nil {
		return err
	}
	_, err = wt.WriteTo(w)
	return err
}
