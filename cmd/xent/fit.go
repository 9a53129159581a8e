package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"github.com/xentlab/xent/internal/csvlines"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/xentlab/xent/internal/clip"
	"github.com/xentlab/xent/plots"
	"github.com/xentlab/xent/scaling"
)

func init() {
	register(&command{
		name:    "fit",
		summary: "fit a scaling law (power, nmt, lr-anneal) to a CSV of losses, with bootstrap intervals",
		run:     runFit,
	})
}

const fitUsage = `--law power|nmt|lr-anneal --data curve.csv [--plot out.png|out.svg] [--json]
       [--bootstrap 200] [--level 0.95] [--seed 1] [--n-max N] [--decay 0.999]

Fits a scaling law by least squares and puts residual-bootstrap percentile
intervals on its parameters. The CSV has a header line naming its columns
(case-insensitive; blank lines and lines starting with # are skipped):

  --law power      n,loss          L(N) = L∞ + (N₀/N)^α  (Henighan et al. 2020);
                                   n a model size, data size or compute, > 0
  --law nmt        ne,nd,loss      L = α·(N̄e/Ne)^pe·(N̄d/Nd)^pd + L∞  (Ghorbani et al. 2021);
                                   ne, nd the encoder and decoder parameter
                                   counts, N̄e, N̄d their geometric means in the data
  --law lr-anneal  step,loss,lr    L(s) = L₀ + A·S₁^(−α) − C·S₂  (Tissue et al. 2024);
                                   the learning rate of every step between logged
                                   rows is interpolated linearly; a row at step 0
                                   gives its learning rate only (S₁ = 0 there)

The power law needs at least 3 points, the other two at least 4.`

// fitParam is one fitted parameter with its interval.
type fitParam struct {
	Name  string  `json:"-"`
	Key   string  `json:"-"`
	Value float64 `json:"value"`
	Lo    float64 `json:"lo"`
	Hi    float64 `json:"hi"`
}

func param(name, key string, e scaling.Estimate) fitParam {
	return fitParam{name, key, e.Value, e.Lo, e.Hi}
}

// fitReport is what every law prints.
type fitReport struct {
	law, formula string
	points       int
	rss, level   float64
	params       []fitParam
	fixed        []fitParam // constants of the law, not fitted (Value only)
}

func runFit(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("fit", fitUsage, stdout)
	law := fs.String("law", "", "power, nmt or lr-anneal (required)")
	dataPath := fs.String("data", "", "CSV of losses, columns as above (required)")
	plotPath := fs.String("plot", "", "draw the data and the fit here (.png or .svg)")
	boot := fs.Int("bootstrap", 200, "bootstrap refits for the intervals (0: none)")
	level := fs.Float64("level", 0.95, "confidence level of the intervals, in (0, 1)")
	seed := fs.Uint64("seed", 1, "bootstrap seed")
	nMax := fs.Float64("n-max", 0, "power: draw the law up to this N (0: 10 × the largest n)")
	decay := fs.Float64("decay", 0.999, "lr-anneal: decay factor λ of the annealing momentum, in [0, 1)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *law == "":
		return usagef("--law is required (power, nmt or lr-anneal)")
	case *law != "power" && *law != "nmt" && *law != "lr-anneal":
		return usagef("--law %q, want power, nmt or lr-anneal", *law)
	case *dataPath == "":
		return usagef("--data is required")
	case !(*level > 0 && *level < 1):
		return usagef("--level %v, want a number in (0, 1)", *level)
	case !(*decay >= 0 && *decay < 1):
		return usagef("--decay %v, want λ in [0, 1)", *decay)
	case !(*nMax >= 0) || math.IsInf(*nMax, 1):
		return usagef("--n-max %v, want a finite number ≥ 0", *nMax)
	}
	if err := checkRange("bootstrap", *boot, 0, maxBoot); err != nil {
		return err
	}
	var misplaced error
	fs.Visit(func(f *flag.Flag) {
		switch {
		case f.Name == "n-max" && *law != "power":
			misplaced = usagef("--n-max applies to --law power only")
		case f.Name == "decay" && *law != "lr-anneal":
			misplaced = usagef("--decay applies to --law lr-anneal only")
		}
	})
	if misplaced != nil {
		return misplaced
	}
	if *plotPath != "" {
		if err := checkPlotPath("plot", *plotPath); err != nil {
			return err
		}
		if err := checkFiles(named("data", *dataPath), named("plot", *plotPath)); err != nil {
			return err
		}
	}
	text, err := readLimited(*dataPath, maxCurveBytes)
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	opts := []scaling.Option{scaling.Bootstrap(*boot), scaling.Level(*level), scaling.Seed(*seed)}
	var rep *fitReport
	switch *law {
	case "power":
		rep, err = fitPower(*dataPath, text, *plotPath, *nMax, opts)
	case "nmt":
		rep, err = fitNMT(*dataPath, text, *plotPath, opts)
	case "lr-anneal":
		rep, err = fitAnnealing(*dataPath, text, *plotPath, append(opts, scaling.Decay(*decay)))
	}
	if err != nil {
		return err
	}

	if *asJSON {
		params := map[string]fitParam{}
		for _, p := range rep.params {
			params[p.Key] = p
		}
		res := map[string]any{"law": rep.law, "formula": rep.formula, "points": rep.points,
			"rss": rep.rss, "level": rep.level, "bootstrap": *boot, "params": params}
		if len(rep.fixed) > 0 {
			fixed := map[string]float64{}
			for _, p := range rep.fixed {
				fixed[p.Key] = p.Value
			}
			res["fixed"] = fixed
		}
		if *plotPath != "" {
			res["plot"] = *plotPath
		}
		return writeJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "%s: %s\n", rep.law, rep.formula)
	fmt.Fprintf(stdout, "%d points, RSS %.6g\n", rep.points, rep.rss)
	interval := fmt.Sprintf("%g%% interval (%d bootstrap refits)", 100*rep.level, *boot)
	if *boot == 0 {
		interval = "(no bootstrap)"
	}
	fmt.Fprintf(stdout, "  %-6s %14s   %s\n", "", "value", interval)
	for _, p := range rep.params {
		if *boot == 0 {
			fmt.Fprintf(stdout, "  %-6s %14.6g\n", p.Name, p.Value)
			continue
		}
		fmt.Fprintf(stdout, "  %-6s %14.6g   [%.6g, %.6g]\n", p.Name, p.Value, p.Lo, p.Hi)
	}
	for _, p := range rep.fixed {
		fmt.Fprintf(stdout, "  %-6s %14.6g   (fixed)\n", p.Name, p.Value)
	}
	if n := len(rep.params); rep.points == n && *boot > 0 {
		fmt.Fprintf(stdout, "note: %d points for %d parameters: the law goes through every point and the intervals are empty\n", rep.points, n)
	}
	if *plotPath != "" {
		fmt.Fprintf(stdout, "plot: %s\n", *plotPath)
	}
	return nil
}

// readCurveFor reads a curve file for a law and checks its columns.
func readCurveFor(path string, text []byte, law, want string) (*scaling.Curve, error) {
	c, err := scaling.ReadCurve(bytes.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("data %s: %w", path, err)
	}
	have := c.XName + ",loss"
	if c.LR != nil {
		have += ",lr"
	}
	if have != want {
		return nil, fmt.Errorf("data %s: columns %s, but --law %s needs %s", path, have, law, want)
	}
	return c, nil
}

func enoughPoints(path, law string, n, p int) error {
	if n < p {
		return fmt.Errorf("data %s: %d points, but --law %s has %d parameters and needs at least %d", path, n, law, p, p)
	}
	return nil
}

func fitPower(path string, text []byte, plotPath string, nMax float64, opts []scaling.Option) (*fitReport, error) {
	c, err := readCurveFor(path, text, "power", "n,loss")
	if err != nil {
		return nil, err
	}
	if err := enoughPoints(path, "power", len(c.X), 3); err != nil {
		return nil, err
	}
	top := slices.Max(c.X)
	if nMax == 0 {
		nMax = 10 * top
	}
	if nMax < top {
		return nil, usagef("--n-max %g is below the largest n in the data, %g", nMax, top)
	}
	f, err := scaling.FitPowerLaw(c.X, c.Loss, opts...)
	if err != nil {
		return nil, err
	}
	if plotPath != "" {
		if err := plots.PowerLaw(plotPath, f, c.X, c.Loss, nMax); err != nil {
			return nil, err
		}
	}
	return &fitReport{
		law: "power", formula: "L(N) = L∞ + (N₀/N)^α", points: f.N, rss: f.RSS, level: f.Level,
		params: []fitParam{param("L∞", "linf", f.Linf), param("N₀", "n0", f.N0), param("α", "alpha", f.Alpha)},
	}, nil
}

func fitAnnealing(path string, text []byte, plotPath string, opts []scaling.Option) (*fitReport, error) {
	c, err := readCurveFor(path, text, "lr-anneal", "step,loss,lr")
	if err != nil {
		return nil, err
	}
	steps, err := c.Steps()
	if err != nil {
		return nil, err
	}
	lr, err := c.Schedule()
	if err != nil {
		return nil, fmt.Errorf("data %s: %w", path, err)
	}
	loss := c.Loss
	if steps[0] == 0 { // steps increase: only the first row can be step 0
		steps, loss = steps[1:], loss[1:]
	}
	if err := enoughPoints(path, "lr-anneal", len(steps), 4); err != nil {
		return nil, err
	}
	f, err := scaling.FitAnnealing(steps, loss, lr, opts...)
	if err != nil {
		return nil, err
	}
	if plotPath != "" {
		if err := plots.Annealing(plotPath, f, steps, loss, lr); err != nil {
			return nil, err
		}
	}
	return &fitReport{
		law: "lr-anneal", formula: "L(s) = L₀ + A·S₁(s)^(−α) − C·S₂(s)", points: f.N, rss: f.RSS, level: f.Level,
		params: []fitParam{param("L₀", "l0", f.L0), param("A", "a", f.A), param("α", "alpha", f.Alpha), param("C", "c", f.C)},
		fixed:  []fitParam{{Name: "λ", Key: "lambda", Value: f.Law.Lambda}},
	}, nil
}

func fitNMT(path string, text []byte, plotPath string, opts []scaling.Option) (*fitReport, error) {
	ne, nd, loss, err := readNMTCurve(bytes.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("data %s: %w", path, err)
	}
	if err := enoughPoints(path, "nmt", len(loss), 4); err != nil {
		return nil, err
	}
	f, err := scaling.FitNMT(ne, nd, loss, opts...)
	if err != nil {
		return nil, err
	}
	if plotPath != "" {
		if err := plotNMT(plotPath, f, ne, nd, loss); err != nil {
			return nil, err
		}
	}
	l := f.Law
	return &fitReport{
		law: "nmt", formula: "L(Ne, Nd) = α·(N̄e/Ne)^pe·(N̄d/Nd)^pd + L∞", points: f.N, rss: f.RSS, level: f.Level,
		params: []fitParam{param("α", "alpha", f.Alpha), param("pe", "pe", f.Pe), param("pd", "pd", f.Pd), param("L∞", "linf", f.Linf)},
		fixed:  []fitParam{{Name: "N̄e", Key: "ne_bar", Value: l.NeBar}, {Name: "N̄d", Key: "nd_bar", Value: l.NdBar}},
	}, nil
}

// plotNMT draws the bivariate law collapsed onto one variable: with the
// effective size x = (Ne/N̄e)^pe·(Nd/N̄d)^pd the law is L = L∞ + α/x, so
// every point, whatever its split, should lie on that one curve.
func plotNMT(path string, f *scaling.NMTFit, ne, nd, loss []float64) error {
	l := f.Law
	x := make([]float64, len(ne))
	for i := range ne {
		x[i] = math.Exp(l.Pe*math.Log(ne[i]/l.NeBar) + l.Pd*math.Log(nd[i]/l.NdBar))
	}
	lo, hi := slices.Min(x), slices.Max(x)
	if !(lo > 0) || math.IsInf(hi, 0) {
		return fmt.Errorf("plot: effective sizes from %g to %g cannot be drawn on a log axis", lo, hi)
	}
	if hi == lo {
		lo, hi = lo/2, hi*2
	}
	xl := fmt.Sprintf("effective size (Ne/%.3g)^%.3g · (Nd/%.3g)^%.3g", l.NeBar, l.Pe, l.NdBar, l.Pd)
	c := plots.FitCurve{X: x, Y: loss, XLabel: xl, YLabel: "loss", LogX: true}
	const grid = 200
	for i := 0; i < grid; i++ {
		v := lo * math.Pow(hi/lo, float64(i)/(grid-1))
		c.FitX, c.Fit = append(c.FitX, v), append(c.Fit, l.Linf+l.Alpha/v)
	}
	title := fmt.Sprintf("L = %.3g·(%.3g/Ne)^%.3g·(%.3g/Nd)^%.3g + %.4g", l.Alpha, l.NeBar, l.Pe, l.NdBar, l.Pd, l.Linf)
	return plots.Curve(path, c, plots.Title(title))
}

// readNMTCurve reads the CSV of --law nmt: a header line ne,nd,loss
// (case-insensitive), then one row per model: encoder and decoder sizes
// (finite, > 0) and the loss (finite). Spaces around fields, blank lines
// and lines starting with '#' are skipped. Errors name the line.
func readNMTCurve(r io.Reader) (ne, nd, loss []float64, err error) {
	line, header := 0, false
	fail := func(format string, args ...any) error {
		return fmt.Errorf("line %d: %s", line, fmt.Sprintf(format, args...))
	}
	err = csvlines.Each(r, func(n int, fields []string) error {
		line = n
		if !header {
			if h := strings.ToLower(strings.Join(fields, ",")); h != "ne,nd,loss" {
				return fail("header %s, want ne,nd,loss", clip.Quote(strings.Join(fields, ",")))
			}
			header = true
			return nil
		}
		if len(fields) != 3 {
			return fail("%d fields, want 3", len(fields))
		}
		var v [3]float64
		for i, name := range []string{"ne", "nd", "loss"} {
			x, err := strconv.ParseFloat(fields[i], 64)
			switch {
			case err != nil || math.IsNaN(x) || math.IsInf(x, 0):
				return fail("%s %s is not a finite number", name, clip.Quote(fields[i]))
			case i < 2 && !(x > 0):
				return fail("%s %s is not > 0", name, clip.Quote(fields[i]))
			}
			v[i] = x
		}
		ne, nd, loss = append(ne, v[0]), append(nd, v[1]), append(loss, v[2])
		return nil
	})
	if err != nil {
		return nil, nil, nil, err
	}
	if !header {
		return nil, nil, nil, errors.New("no header line (ne,nd,loss)")
	}
	if len(loss) == 0 {
		return nil, nil, nil, errors.New("no data after the header")
	}
	return ne, nd, loss, nil
}
