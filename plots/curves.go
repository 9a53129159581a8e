package plots

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/xentlab/xent/metrics"
	"github.com/xentlab/xent/scaling"
)

// FitCurve is the data of a fitted-curve figure: measurements, the fitted
// curve on a grid of x values and, optionally, a band (Lo, Hi on the same
// grid). The curve is drawn solid over the measured range and dashed
// beyond it, where it is an extrapolation.
type FitCurve struct {
	X, Y           []float64 // measurements
	FitX, Fit      []float64 // the fitted curve
	Lo, Hi         []float64 // the band, or nil
	XLabel, YLabel string
	LogX, LogY     bool
}

func (c *FitCurve) check(fn string) error {
	if len(c.X) != len(c.Y) || len(c.FitX) != len(c.Fit) || len(c.FitX) < 2 ||
		(c.Lo != nil || c.Hi != nil) && (len(c.Lo) != len(c.FitX) || len(c.Hi) != len(c.FitX)) {
		return fmt.Errorf("plots.%s: %d x and %d y measurements, %d grid points, %d fitted values, band %d/%d: %w",
			fn, len(c.X), len(c.Y), len(c.FitX), len(c.Fit), len(c.Lo), len(c.Hi), ErrValue)
	}
	for _, s := range []struct {
		name string
		v    []float64
	}{{"X", c.X}, {"Y", c.Y}, {"FitX", c.FitX}, {"Fit", c.Fit}, {"Lo", c.Lo}, {"Hi", c.Hi}} {
		if err := finite(fn, s.name, s.v); err != nil {
			return err
		}
		logAxis := c.LogX && (s.name == "X" || s.name == "FitX") || c.LogY && s.name != "X" && s.name != "FitX"
		if logAxis && slices.ContainsFunc(s.v, func(v float64) bool { return v <= 0 }) {
			return fmt.Errorf("plots.%s: %s has values ≤ 0 on a log axis: %w", fn, s.name, ErrValue)
		}
	}
	return nil
}

// curvePlot builds the plot of a FitCurve.
func curvePlot(title string, c *FitCurve) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text, p.Y.Label.Text = c.XLabel, c.YLabel
	if c.LogX {
		p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	}
	if c.LogY {
		p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	}
	if c.Lo != nil {
		pts := xy(c.FitX, c.Lo)
		for i := len(c.FitX) - 1; i >= 0; i-- {
			pts = append(pts, plotter.XY{X: c.FitX[i], Y: c.Hi[i]})
		}
		band, err := plotter.NewPolygon(pts)
		if err != nil {
			return nil, err
		}
		band.Color = withAlpha(orange, 70)
		band.LineStyle.Width = 0
		p.Add(band)
		p.Legend.Add("bootstrap band", band)
	}
	xmax := math.Inf(-1)
	for _, x := range c.X {
		xmax = math.Max(xmax, x)
	}
	// Solid up to the last measurement, dashed beyond.
	var inX, inY, outX, outY []float64
	for i, x := range c.FitX {
		if x <= xmax || len(c.X) == 0 {
			inX, inY = append(inX, x), append(inY, c.Fit[i])
		}
		if x >= xmax && len(c.X) > 0 {
			outX, outY = append(outX, x), append(outY, c.Fit[i])
		}
	}
	if len(inX) >= 2 {
		l, err := line(inX, inY, red, vg.Points(1.5))
		if err != nil {
			return nil, err
		}
		p.Add(l)
		p.Legend.Add("fit", l)
	}
	if len(outX) >= 2 {
		l, err := line(outX, outY, red, vg.Points(1.5), vg.Points(5), vg.Points(3))
		if err != nil {
			return nil, err
		}
		p.Add(l)
		p.Legend.Add("extrapolation", l)
	}
	if len(c.X) > 0 {
		s, err := plotter.NewScatter(xy(c.X, c.Y))
		if err != nil {
			return nil, err
		}
		s.GlyphStyle = draw.GlyphStyle{Color: blue, Radius: vg.Points(3), Shape: draw.CircleGlyph{}}
		p.Add(s)
		p.Legend.Add("data", s)
	}
	p.Legend.Top = true
	return p, nil
}

// Curve draws a FitCurve.
func Curve(path string, c FitCurve, opts ...Option) error {
	const fn = "Curve"
	if err := c.check(fn); err != nil {
		return err
	}
	cfg := configure("", 6*vg.Inch, 4.5*vg.Inch, opts)
	p, err := curvePlot(cfg.title, &c)
	if err != nil {
		return fmt.Errorf("plots.%s: %w", fn, err)
	}
	return save(fn, path, cfg.w, cfg.h, [][]*plot.Plot{{p}})
}

// PowerLaw draws a fitted power law L(N) = L∞ + (N₀/N)^α with its data
// (n, loss) on a log N axis, extended to nMax (≥ the largest n) with the
// bootstrap band of the fit; the title gives the law and its intervals.
func PowerLaw(path string, fit *scaling.PowerLawFit, n, loss []float64, nMax float64, opts ...Option) error {
	const fn = "PowerLaw"
	if fit == nil || len(n) == 0 {
		return fmt.Errorf("plots.%s: no fit or no data: %w", fn, ErrValue)
	}
	if err := finite(fn, "n", n); err != nil {
		return err
	}
	lo, hi := slices.Min(n), math.Max(slices.Max(n), nMax)
	if !(lo > 0) || math.IsInf(hi, 0) || math.IsNaN(hi) {
		return fmt.Errorf("plots.%s: sizes from %v to %v, want finite and > 0: %w", fn, lo, hi, ErrValue)
	}
	c := FitCurve{X: n, Y: loss, XLabel: "N", YLabel: "loss", LogX: true}
	const grid = 200
	for i := 0; i < grid; i++ {
		x := lo * math.Pow(hi/lo, float64(i)/(grid-1))
		c.FitX = append(c.FitX, x)
		c.Fit = append(c.Fit, fit.Predict(x))
		l, h := fit.Band(x)
		c.Lo, c.Hi = append(c.Lo, l), append(c.Hi, h)
	}
	dropNaNBand(&c)
	law := fit.Law
	title := fmt.Sprintf("L = %.4g + (%.3g/N)^%.3g;  α in [%.3g, %.3g], L∞ in [%.3g, %.3g]",
		law.Linf, law.N0, law.Alpha, fit.Alpha.Lo, fit.Alpha.Hi, fit.Linf.Lo, fit.Linf.Hi)
	if err := c.check(fn); err != nil {
		return err
	}
	cfg := configure(title, 7*vg.Inch, 5*vg.Inch, opts)
	p, err := curvePlot(cfg.title, &c)
	if err != nil {
		return fmt.Errorf("plots.%s: %w", fn, err)
	}
	return save(fn, path, cfg.w, cfg.h, [][]*plot.Plot{{p}})
}

// dropNaNBand removes the band if any of its values is not finite (a
// bootstrap without replicates at some point).
func dropNaNBand(c *FitCurve) {
	for i := range c.Lo {
		if math.IsNaN(c.Lo[i]) || math.IsNaN(c.Hi[i]) || math.IsInf(c.Lo[i], 0) || math.IsInf(c.Hi[i], 0) {
			c.Lo, c.Hi = nil, nil
			return
		}
	}
}

// Annealing draws a learning-rate-annealing fit over a whole run: the
// measured losses at steps (1-based), the fitted curve and its bootstrap
// band at every step of the schedule lr (lr[i] the rate of step i+1) from
// the first measured step on (it may run past the measurements, for a
// prediction), and the schedule below.
func Annealing(path string, fit *scaling.AnnealingFit, steps []int, loss, lr []float64, opts ...Option) error {
	const fn = "Annealing"
	if fit == nil || len(lr) < 2 || len(steps) == 0 || len(steps) != len(loss) {
		return fmt.Errorf("plots.%s: fit %v, %d rates, %d steps, %d losses: %w", fn, fit != nil, len(lr), len(steps), len(loss), ErrValue)
	}
	curve := fit.Curve(lr)
	lo, hi := fit.Band(lr)
	stride := max(1, len(lr)/1000)
	c := FitCurve{XLabel: "step", YLabel: "loss", Y: loss}
	for _, s := range steps {
		c.X = append(c.X, float64(s))
	}
	first := slices.Min(steps) // the law is not meant for the first few steps
	var sx, sy []float64
	for i := 0; i < len(lr); i += stride {
		sx, sy = append(sx, float64(i+1)), append(sy, lr[i])
		if math.IsNaN(curve[i]) || i+1 < first {
			continue // before the data, or forward area 0
		}
		c.FitX = append(c.FitX, float64(i+1))
		c.Fit = append(c.Fit, curve[i])
		c.Lo, c.Hi = append(c.Lo, lo[i]), append(c.Hi, hi[i])
	}
	dropNaNBand(&c)
	if err := c.check(fn); err != nil {
		return err
	}
	if err := finite(fn, "lr", lr); err != nil {
		return err
	}
	l := fit.Law
	cfg := configure(fmt.Sprintf("L = %.4g + %.3g·S₁^(−%.3g) − %.3g·S₂  (λ = %g)", l.L0, l.A, l.Alpha, l.C, l.Lambda),
		7*vg.Inch, 7*vg.Inch, opts)
	top, err := curvePlot(cfg.title, &c)
	if err != nil {
		return fmt.Errorf("plots.%s: %w", fn, err)
	}
	bottom := plot.New()
	bottom.X.Label.Text, bottom.Y.Label.Text = "step", "learning rate"
	sched, err := line(sx, sy, blue, vg.Points(1.5))
	if err != nil {
		return fmt.Errorf("plots.%s: %w", fn, err)
	}
	bottom.Add(sched)
	return save(fn, path, cfg.w, cfg.h, [][]*plot.Plot{{top}, {bottom}})
}

// Scores draws the histograms of an out-of-distribution score on
// in-distribution inputs (in) and on OOD inputs (out), each normalised to
// unit area on the same bins (bins ≤ 0: 50), with the AUROC and the FPR
// at 95% TPR in the title (the score is taken to be higher for
// in-distribution inputs: pass −energy, not energy).
func Scores(path string, in, out []float64, bins int, opts ...Option) error {
	const fn = "Scores"
	if bins <= 0 {
		bins = 50
	}
	if len(in) == 0 || len(out) == 0 {
		return fmt.Errorf("plots.%s: %d in-distribution and %d OOD scores, want both > 0: %w", fn, len(in), len(out), ErrValue)
	}
	if err := finite(fn, "in", in); err != nil {
		return err
	}
	if err := finite(fn, "out", out); err != nil {
		return err
	}
	auroc, err := metrics.AUROC(in, out)
	if err != nil {
		return fmt.Errorf("plots.%s: %w", fn, err)
	}
	fpr, _, err := metrics.FPRAtTPR(in, out, 0.95)
	if err != nil {
		return fmt.Errorf("plots.%s: %w", fn, err)
	}
	lo := math.Min(slices.Min(in), slices.Min(out))
	hi := math.Max(slices.Max(in), slices.Max(out))
	if hi == lo {
		lo, hi = lo-0.5, hi+0.5
	}
	width := (hi - lo) / float64(bins)
	hist := func(x []float64, col rects) *rects {
		counts := make([]float64, bins)
		for _, v := range x {
			counts[min(int((v-lo)/width), bins-1)]++
		}
		h := col
		for b, n := range counts {
			if n > 0 {
				x0 := lo + float64(b)*width
				h.r = append(h.r, rect{x0, x0 + width, 0, n / (float64(len(x)) * width)})
			}
		}
		return &h
	}
	cfg := configure(fmt.Sprintf("AUROC %.4f, FPR at 95%% TPR %.4f", auroc, fpr), 6*vg.Inch, 4.5*vg.Inch, opts)
	p := plot.New()
	p.Title.Text = cfg.title
	p.X.Label.Text, p.Y.Label.Text = "score", "density"
	hIn := hist(in, rects{fill: withAlpha(blue, 110), stroke: draw.LineStyle{Color: blue, Width: vg.Points(0.5)}})
	hOut := hist(out, rects{fill: withAlpha(orange, 110), stroke: draw.LineStyle{Color: orange, Width: vg.Points(0.5)}})
	p.Add(hIn, hOut)
	p.Y.Max = 1.3 * math.Max(maxHeight(hIn), maxHeight(hOut)) // room for the legend
	p.Legend.Add(fmt.Sprintf("in-distribution (%d)", len(in)), hIn)
	p.Legend.Add(fmt.Sprintf("out-of-distribution (%d)", len(out)), hOut)
	p.Legend.Top = true
	return save(fn, path, cfg.w, cfg.h, [][]*plot.Plot{{p}})
}
