// Package plots draws the evaluation figures of packages metrics,
// calibrate and scaling with gonum.org/v1/plot: reliability diagrams with
// their confidence histograms, calibration before and after a fitted map,
// scaling-law fits with their data and an extrapolation band, and the
// score histograms of an out-of-distribution detector.
//
// The output format follows the file extension, .png or .svg; files are
// written atomically (a reader sees the old file or the whole new one),
// and nothing is written when an argument is bad.
package plots

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/xentlab/xent/internal/atomicfile"
	"github.com/xentlab/xent/internal/xerr"
)

// ErrValue is wrapped by errors about bad arguments: an unknown file
// extension, empty or non-finite data.
// It is the same value in every package of the module, so errors.Is
// matches it whichever package the error came from.
var ErrValue = xerr.ErrValue

// An Option changes a figure.
type Option func(*config)

type config struct {
	title string
	w, h  vg.Length
}

// Title sets the figure's title (each function has a default).
func Title(s string) Option { return func(c *config) { c.title = s } }

// Size sets the figure's width and height (default: depends on the
// figure, about 5 × 4 inches a panel).
func Size(w, h vg.Length) Option { return func(c *config) { c.w, c.h = w, h } }

func configure(title string, w, h vg.Length, opts []Option) config {
	c := config{title: title, w: w, h: h}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// Colours of the figures (colour-blind safe, from the Okabe–Ito palette).
var (
	blue   = color.NRGBA{0, 114, 178, 255}
	orange = color.NRGBA{230, 159, 0, 255}
	red    = color.NRGBA{213, 94, 0, 255}
	grey   = color.NRGBA{120, 120, 120, 255}
	// underFill and underEdge draw under-confidence gaps (Okabe–Ito yellow).
	underFill = color.NRGBA{240, 228, 66, 255}
	underEdge = color.NRGBA{150, 140, 0, 255}
)

func withAlpha(c color.NRGBA, a uint8) color.NRGBA { c.A = a; return c }

// formatOf returns the gonum/plot format name for a path's extension.
func formatOf(fn, path string) (string, error) {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".png":
		return "png", nil
	case ".svg":
		return "svg", nil
	default:
		return "", fmt.Errorf("plots.%s: %s: extension %q, want .png or .svg: %w", fn, path, ext, ErrValue)
	}
}

// save draws a grid of plots (rows × cols, aligned) on one canvas and
// writes it atomically to path in the format of its extension.
func save(fn, path string, w, h vg.Length, grid [][]*plot.Plot) error {
	format, err := formatOf(fn, path)
	if err != nil {
		return err
	}
	c, err := draw.NewFormattedCanvas(w, h, format)
	if err != nil {
		return fmt.Errorf("plots.%s: %w", fn, err)
	}
	dc := draw.New(c)
	tiles := draw.Tiles{Rows: len(grid), Cols: len(grid[0]), PadX: vg.Millimeter * 6, PadY: vg.Millimeter * 6,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 3}
	canvases := plot.Align(grid, tiles, dc)
	for i, row := range grid {
		for j, p := range row {
			if p != nil {
				p.Draw(canvases[i][j])
			}
		}
	}
	if err := atomicfile.Write(path, func(w io.Writer) error {
		_, err := c.WriteTo(w)
		return err
	}); err != nil {
		return fmt.Errorf("plots.%s: %w", fn, err)
	}
	return nil
}

// rects is a plotter of filled rectangles [X0, X1] × [Y0, Y1].
type rects struct {
	r      []rect
	fill   color.Color
	stroke draw.LineStyle
}

type rect struct{ x0, x1, y0, y1 float64 }

// Plot draws the rectangles, clipped to the data area.
func (b *rects) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	for _, r := range b.r {
		pts := []vg.Point{
			{X: tx(r.x0), Y: ty(r.y0)}, {X: tx(r.x1), Y: ty(r.y0)},
			{X: tx(r.x1), Y: ty(r.y1)}, {X: tx(r.x0), Y: ty(r.y1)},
		}
		if b.fill != nil {
			c.FillPolygon(b.fill, c.ClipPolygonXY(pts))
		}
		if b.stroke.Width > 0 {
			c.StrokeLines(b.stroke, c.ClipLinesXY(append(pts, pts[0]))...)
		}
	}
}

// Thumbnail draws the legend entry: a filled, outlined square.
func (b *rects) Thumbnail(c *draw.Canvas) {
	pts := []vg.Point{
		{X: c.Min.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Min.Y},
		{X: c.Max.X, Y: c.Max.Y}, {X: c.Min.X, Y: c.Max.Y},
	}
	if b.fill != nil {
		c.FillPolygon(b.fill, pts)
	}
	if b.stroke.Width > 0 {
		c.StrokeLines(b.stroke, append(pts, pts[0]))
	}
}

// DataRange returns the extent of the rectangles.
func (b *rects) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, ymin = math.Inf(1), math.Inf(1)
	xmax, ymax = math.Inf(-1), math.Inf(-1)
	for _, r := range b.r {
		xmin, xmax = math.Min(xmin, math.Min(r.x0, r.x1)), math.Max(xmax, math.Max(r.x0, r.x1))
		ymin, ymax = math.Min(ymin, math.Min(r.y0, r.y1)), math.Max(ymax, math.Max(r.y0, r.y1))
	}
	return
}

func line(xs, ys []float64, col color.Color, width vg.Length, dashes ...vg.Length) (*plotter.Line, error) {
	l, err := plotter.NewLine(xy(xs, ys))
	if err != nil {
		return nil, err
	}
	l.Color = col
	l.Width = width
	l.Dashes = dashes
	return l, nil
}

func xy(xs, ys []float64) plotter.XYs {
	pts := make(plotter.XYs, len(xs))
	for i := range xs {
		pts[i].X, pts[i].Y = xs[i], ys[i]
	}
	return pts
}

func finite(fn, what string, x []float64) error {
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("plots.%s: %s[%d] = %v, want a finite number: %w", fn, what, i, v, ErrValue)
		}
	}
	return nil
}
