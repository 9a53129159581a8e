// Package scaling fits scaling laws to loss measurements by least squares
// and puts bootstrap confidence intervals on their parameters:
//
//   - PowerLaw, L(N) = L∞ + (N₀/N)^α, the loss of a model family against
//     size, data or compute (Henighan et al. 2020, catalog A12);
//   - NMT, L(N_e, N_d) = α·(N̄_e/N_e)^{p_e}·(N̄_d/N_d)^{p_d} + L∞, the
//     encoder–decoder law of Ghorbani et al. 2021 (catalog A6);
//   - Annealing, L(s) = L₀ + A·S₁(s)^{−α} − C·S₂(s), a whole training
//     curve against its learning-rate schedule (Tissue et al. 2024,
//     catalog A16).
//
// Each fit minimises the sum of squared residuals of the loss with
// gonum/optimize (BFGS with the analytic gradient) from a starting point
// found by variable projection: for each value of the law's exponents on
// a grid the remaining parameters enter linearly and are solved exactly,
// and the best grid point starts the joint refinement. Intervals come
// from a residual bootstrap (seeded, deterministic for any thread count):
// residuals, inflated by √(n/(n−p)), are resampled onto the fitted curve
// and the law refitted, and the percentile interval of each parameter is
// reported. ReadCurve reads loss curves from CSV.
package scaling

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/optimize"

	"github.com/xentlab/xent/internal/par"
	"github.com/xentlab/xent/internal/xerr"
)

var (
	// ErrValue is wrapped by errors about bad numbers: non-finite or
	// non-positive inputs where positive ones are needed, bad options.
	// It is the same value in every package of the module, so errors.Is
	// matches it whichever package the error came from.
	ErrValue = xerr.ErrValue
	// ErrShape is wrapped by errors about mismatched lengths.
	// It is the same value in every package of the module, so errors.Is
	// matches it whichever package the error came from.
	ErrShape = xerr.ErrShape
	// ErrFit is wrapped when no parameters fit the data (too few points,
	// or no point of the starting grid gives a valid law).
	ErrFit = errors.New("fit failed")
)

// Estimate is a fitted parameter with its bootstrap percentile interval
// [Lo, Hi] at the fit's confidence level.
type Estimate struct {
	Value, Lo, Hi float64
}

// Contains reports whether v lies in [Lo, Hi].
func (e Estimate) Contains(v float64) bool { return v >= e.Lo && v <= e.Hi }

// An Option changes how a fit runs.
type Option func(*config)

type config struct {
	boot    int
	level   float64
	seed    uint64
	threads int
	lambda  float64
	ne, nd  float64
}

// Bootstrap sets the number of bootstrap refits (default 200; 0 skips the
// intervals, which are then [Value, Value]).
func Bootstrap(n int) Option { return func(c *config) { c.boot = n } }

// Level sets the confidence level of the intervals (default 0.95).
func Level(p float64) Option { return func(c *config) { c.level = p } }

// Seed sets the bootstrap seed (default 1). Replicate b draws from its own
// PCG stream (seed, b), so results do not depend on the thread count.
func Seed(s uint64) Option { return func(c *config) { c.seed = s } }

// Threads sets the number of goroutines for the bootstrap (n ≤ 0:
// GOMAXPROCS).
func Threads(n int) Option { return func(c *config) { c.threads = n } }

func configure(fn string, opts []Option) (config, error) {
	c := config{boot: 200, level: 0.95, seed: 1, lambda: 0.999}
	for _, o := range opts {
		o(&c)
	}
	if c.boot < 0 {
		return c, fmt.Errorf("scaling.%s: %d bootstrap replicates, want ≥ 0: %w", fn, c.boot, ErrValue)
	}
	if !(c.level > 0 && c.level < 1) {
		return c, fmt.Errorf("scaling.%s: confidence level %v, want 0 < level < 1: %w", fn, c.level, ErrValue)
	}
	c.threads = par.Threads(c.threads)
	return c, nil
}

// law is a model f(θ, x) to fit: np parameters, a feature vector per
// point, the gradient ∂f/∂θ, and a starting point from the data. θ₀ is
// always φ, the square root of the law's constant.
type law struct {
	np    int
	f     func(th, x []float64) float64
	df    func(g, th, x []float64)
	start func(xs [][]float64, ys []float64) ([]float64, bool)
}

func (l *law) rss(th []float64, xs [][]float64, ys []float64) float64 {
	var s float64
	for i, x := range xs {
		r := l.f(th, x) - ys[i]
		s += r * r
	}
	if math.IsNaN(s) {
		return math.Inf(1)
	}
	return s
}

// refine minimises the residual sum of squares from th0 with BFGS and
// returns the better of the start and the optimiser's point.
func (l *law) refine(th0 []float64, xs [][]float64, ys []float64) ([]float64, float64) {
	f0 := l.rss(th0, xs, ys)
	g := make([]float64, l.np)
	prob := optimize.Problem{
		Func: func(th []float64) float64 { return l.rss(th, xs, ys) },
		Grad: func(grad, th []float64) {
			clear(grad)
			for i, x := range xs {
				r := l.f(th, x) - ys[i]
				l.df(g, th, x)
				for k := range grad {
					grad[k] += 2 * r * g[k]
				}
			}
		},
	}
	res, _ := optimize.Minimize(prob, slices.Clone(th0), &optimize.Settings{
		GradientThreshold: 1e-15,
		MajorIterations:   2000,
		Converger:         &optimize.FunctionConverge{Absolute: 1e-300, Relative: 1e-15, Iterations: 40},
	}, &optimize.BFGS{})
	if res != nil && res.X != nil && res.F < f0 && !math.IsNaN(res.F) {
		return res.X, res.F
	}
	return slices.Clone(th0), f0
}

// result is a point estimate with its bootstrap replicates.
type result struct {
	theta []float64
	rss   float64
	boot  [][]float64
}

// fit runs the start, the refinement and the bootstrap.
func fit(fn string, l *law, xs [][]float64, ys []float64, cfg config) (*result, error) {
	n := len(ys)
	if n < l.np {
		return nil, fmt.Errorf("scaling.%s: %d points for %d parameters: %w", fn, n, l.np, ErrFit)
	}
	th0, ok := l.start(xs, ys)
	if !ok {
		return nil, fmt.Errorf("scaling.%s: no starting point gives a valid law for these data: %w", fn, ErrFit)
	}
	th, rss := l.refine(th0, xs, ys)
	res := &result{theta: th, rss: rss}
	if cfg.boot == 0 {
		return res, nil
	}
	pred := make([]float64, n)
	resid := make([]float64, n)
	infl := 1.0
	if n > l.np {
		infl = math.Sqrt(float64(n) / float64(n-l.np))
	}
	for i, x := range xs {
		pred[i] = l.f(th, x)
		resid[i] = (ys[i] - pred[i]) * infl
	}
	res.boot = make([][]float64, cfg.boot)
	par.For(cfg.boot, 1, cfg.threads, func(b, _, _ int) {
		rng := rand.New(rand.NewPCG(cfg.seed, uint64(b)))
		y := make([]float64, n)
		for i := range y {
			y[i] = pred[i] + resid[rng.IntN(n)]
		}
		// Refit from the estimate, with φ moved off 0 so that the constant
		// can leave the boundary, and from the data's own starting point;
		// keep the better.
		alt := slices.Clone(th)
		alt[0] = startConst(th[0]*th[0], meanAbs(y))
		t, f := l.refine(alt, xs, y)
		if th0, ok := l.start(xs, y); ok {
			if t2, f2 := l.refine(th0, xs, y); f2 < f {
				t = t2
			}
		}
		res.boot[b] = t
	})
	return res, nil
}

// estimates returns the point value and percentile interval of each
// derived parameter v(θ) over the bootstrap replicates.
func (r *result) estimates(level float64, v func(th []float64) []float64) []Estimate {
	point := v(r.theta)
	est := make([]Estimate, len(point))
	for k := range est {
		est[k] = Estimate{point[k], point[k], point[k]}
	}
	if len(r.boot) == 0 {
		return est
	}
	vals := make([][]float64, len(point))
	for _, th := range r.boot {
		for k, x := range v(th) {
			vals[k] = append(vals[k], x)
		}
	}
	for k := range est {
		est[k].Lo, est[k].Hi = interval(vals[k], level)
	}
	return est
}

// interval returns the (1−level)/2 and (1+level)/2 quantiles of x
// (linear interpolation between order statistics; NaN values dropped).
func interval(x []float64, level float64) (lo, hi float64) {
	s := slices.DeleteFunc(slices.Clone(x), math.IsNaN)
	if len(s) == 0 {
		return math.NaN(), math.NaN()
	}
	slices.Sort(s)
	return quantile(s, (1-level)/2), quantile(s, (1+level)/2)
}

func quantile(s []float64, q float64) float64 {
	h := q * float64(len(s)-1)
	i := int(math.Floor(h))
	if i >= len(s)-1 || s[i] == s[i+1] || h == float64(i) {
		return s[min(i, len(s)-1)] // also keeps ±Inf order statistics finite-safe
	}
	return s[i] + (h-float64(i))*(s[i+1]-s[i])
}

// The constant of every law (L∞, L₀) is the entropy the loss tends to and
// is kept ≥ 0 by fitting its square root: θ₀ = φ, constant = φ². At the
// boundary φ = 0 the objective is smooth and flat in φ, so BFGS treats it
// like any interior point.

// startConst returns the φ to start from for a constant c of a linear
// solve: √c, or a small positive value when c ≤ 0 so that the optimiser
// can still move φ.
func startConst(c, scale float64) float64 {
	return math.Sqrt(max(c, 1e-6*scale))
}

// linearNonNeg solves the linear least-squares problem of cols with the
// first coefficient (the constant) ≥ 0: unconstrained, or with the
// constant fixed at 0 when the unconstrained one is negative.
func linearNonNeg(xs [][]float64, ys []float64, p int, cols func(dst, x []float64)) ([]float64, float64, bool) {
	beta, rss, ok := linearLS(xs, ys, p, cols)
	if !ok || beta[0] >= 0 {
		return beta, rss, ok
	}
	full := make([]float64, p)
	beta, rss, ok = linearLS(xs, ys, p-1, func(dst, x []float64) {
		cols(full, x)
		copy(dst, full[1:])
	})
	if !ok {
		return nil, 0, false
	}
	return append([]float64{0}, beta...), rss, true
}

// meanAbs returns the mean of |y|.
func meanAbs(y []float64) float64 {
	var s float64
	for _, v := range y {
		s += math.Abs(v)
	}
	return s / float64(len(y))
}

// band returns the percentile band of predictions at x over the
// bootstrap replicates (the point prediction twice without them).
func (r *result) band(l *law, x []float64, level float64) (lo, hi float64) {
	if len(r.boot) == 0 {
		v := l.f(r.theta, x)
		return v, v
	}
	p := make([]float64, len(r.boot))
	for i, th := range r.boot {
		p[i] = l.f(th, x)
	}
	return interval(p, level)
}

// linearLS solves min ‖Aβ − y‖² for a design matrix with rows given by
// cols(x) (p ≤ 4 columns) through the normal equations, solved by
// Gaussian elimination with partial pivoting, and returns β and the
// residual sum of squares; ok is false if the system is (nearly)
// singular. The squared conditioning of the normal equations is
// acceptable here: the solution only seeds the refinement.
func linearLS(xs [][]float64, ys []float64, p int, cols func(dst, x []float64)) ([]float64, float64, bool) {
	a := make([]float64, len(xs)*p) // the design matrix, row-major
	for i, x := range xs {
		cols(a[i*p:(i+1)*p], x)
	}
	var ata [4][5]float64 // augmented [AᵀA | Aᵀy]
	for i := range xs {
		row := a[i*p : (i+1)*p]
		for r := 0; r < p; r++ {
			for c := 0; c < p; c++ {
				ata[r][c] += row[r] * row[c]
			}
			ata[r][p] += row[r] * ys[i]
		}
	}
	var scale float64
	for r := 0; r < p; r++ {
		scale = max(scale, math.Abs(ata[r][r]))
	}
	for c := 0; c < p; c++ {
		piv := c
		for r := c + 1; r < p; r++ {
			if math.Abs(ata[r][c]) > math.Abs(ata[piv][c]) {
				piv = r
			}
		}
		if !(math.Abs(ata[piv][c]) > 1e-13*scale) {
			return nil, 0, false
		}
		ata[c], ata[piv] = ata[piv], ata[c]
		for r := c + 1; r < p; r++ {
			f := ata[r][c] / ata[c][c]
			for k := c; k <= p; k++ {
				ata[r][k] -= f * ata[c][k]
			}
		}
	}
	beta := make([]float64, p)
	for c := p - 1; c >= 0; c-- {
		v := ata[c][p]
		for k := c + 1; k < p; k++ {
			v -= ata[c][k] * beta[k]
		}
		beta[c] = v / ata[c][c]
	}
	var rss float64
	for i := range xs {
		f := -ys[i]
		for k, v := range a[i*p : (i+1)*p] {
			f += v * beta[k]
		}
		rss += f * f
	}
	if math.IsNaN(rss) || math.IsInf(rss, 0) {
		return nil, 0, false
	}
	return beta, rss, true
}

// logGrid returns n points from lo to hi evenly spaced in log.
func logGrid(lo, hi float64, n int) []float64 {
	g := make([]float64, n)
	for i := range g {
		g[i] = lo * math.Pow(hi/lo, float64(i)/float64(n-1))
	}
	return g
}

// geoMean returns exp(mean(log x)).
func geoMean(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += math.Log(v)
	}
	return math.Exp(s / float64(len(x)))
}

// checkPositive reports the first value of x that is not finite and > 0.
func checkPositive(fn, what string, x []float64) error {
	for i, v := range x {
		if !(v > 0) || math.IsInf(v, 1) {
			return fmt.Errorf("scaling.%s: %s[%d] = %v, want finite and > 0: %w", fn, what, i, v, ErrValue)
		}
	}
	return nil
}

func checkFinite(fn, what string, x []float64) error {
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("scaling.%s: %s[%d] = %v, want a finite number: %w", fn, what, i, v, ErrValue)
		}
	}
	return nil
}
