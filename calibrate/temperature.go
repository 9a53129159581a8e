// Package calibrate fits post-hoc calibration maps on held-out logits and
// applies them to new logits: temperature scaling (one T for all classes,
// fitted by negative log-likelihood), vector scaling (a scale and a bias
// per class), and the correctness-aware objective of Liu et al. (catalog
// A5), both as a global temperature and as a per-example temperature
// predicted from features.
//
// Logits are row-major matrices ([]float32 or []float64 with a column
// count), labels []int32 in [0, cols). Fits run in float64 on the SIMD
// exp kernels, in parallel over a fixed number of row blocks whose
// partial sums are added in block order, so a fit gives the same bits for
// any thread count. Bad input (shapes, NaN or +Inf logits, labels out of
// range, rows without a finite logit) is an error naming the row.
package calibrate

import (
	"cmp"
	"fmt"
	"math"

	"github.com/xentlab/xent/internal/par"
	"github.com/xentlab/xent/internal/rowstat"
	"github.com/xentlab/xent/internal/xerr"
	"github.com/xentlab/xent/metrics"
)

// Float is the element type of logit matrices.
type Float = metrics.Float

// ErrValue is wrapped by errors about parameters (bounds, temperatures,
// model sizes); errors about the logits and labels wrap metrics.ErrShape
// or metrics.ErrValue.
// It is the same value in every package of the module, so errors.Is
// matches it whichever package the error came from.
var ErrValue = xerr.ErrValue

// An Option changes how a fit runs.
type Option func(*config)

type config struct {
	tlo, thi float64
	threads  int
	maxIter  int
	l2       float64
	seed     uint64
	epochs   int
	batch    int
	lr       float64
	hidden   int
}

// Bounds limits the fitted temperature to [lo, hi] (0 < lo < hi < ∞).
// The default is [0.01, 100] for FitTemperature and [0.1, 10] (the clamp
// of the official A5 code) for the correctness-aware fits.
func Bounds(lo, hi float64) Option { return func(c *config) { c.tlo, c.thi = lo, hi } }

// Threads sets the number of goroutines (n ≤ 0: GOMAXPROCS). Results do
// not depend on it.
func Threads(n int) Option { return func(c *config) { c.threads = n } }

// MaxIter caps the iterations of a solver (0: the default, 100 for the
// 1-D solvers and 500 for vector scaling).
func MaxIter(n int) Option { return func(c *config) { c.maxIter = n } }

func configure(fn string, lo, hi float64, opts []Option) (config, error) {
	c := config{tlo: lo, thi: hi, seed: 1, epochs: 10, batch: 1000, lr: 1e-4, hidden: 5}
	for _, o := range opts {
		o(&c)
	}
	if !(c.tlo > 0 && c.tlo < c.thi) || math.IsInf(c.thi, 1) {
		return c, fmt.Errorf("calibrate.%s: temperature bounds [%v, %v], want 0 < lo < hi < ∞: %w", fn, c.tlo, c.thi, ErrValue)
	}
	if c.maxIter < 0 {
		return c, fmt.Errorf("calibrate.%s: %d iterations, want ≥ 0: %w", fn, c.maxIter, ErrValue)
	}
	c.threads = par.Threads(c.threads)
	return c, nil
}

// check validates logits and labels for a fit and returns the row count.
func check[T Float](fn string, logits []T, cols int, labels []int32, threads int) (int, error) {
	if err := metrics.Validate(logits, cols, labels, metrics.Threads(threads)); err != nil {
		return 0, fmt.Errorf("calibrate.%s: %w", fn, err)
	}
	rows := len(logits) / cols
	if rows == 0 {
		return 0, fmt.Errorf("calibrate.%s: no rows: %w", fn, metrics.ErrEmpty)
	}
	return rows, nil
}

// fitBlocks is the fixed number of row blocks partial sums are kept for.
const fitBlocks = 32

// blocks runs fn on fixed row blocks (their number depends only on rows)
// and returns the per-block results in block order.
func blocks[R any](rows, threads int, fn func(lo, hi int) R) []R {
	grain := max(1, (rows+fitBlocks-1)/fitBlocks)
	out := make([]R, par.Blocks(rows, grain))
	par.For(rows, grain, threads, func(b, lo, hi int) { out[b] = fn(lo, hi) })
	return out
}

// tempStats are the sums over rows, at inverse temperature β, of
//
//	nll = LSE(βz) − βz_y,  g = E_q[z] − z_y,  h = Var_q[z],  q = softmax(βz),
//
// the NLL and its first two derivatives in β.
type tempStats struct{ nll, g, h float64 }

func (a tempStats) add(b tempStats) tempStats { return tempStats{a.nll + b.nll, a.g + b.g, a.h + b.h} }

// rowTempStats returns the tempStats of one row with label y; e is
// scratch of the row's length.
func rowTempStats[E Float](k *rowstat.Kernels[E], e, row []E, y int32, beta float64) tempStats {
	m, _ := k.MaxNaN(row)
	sum := k.ExpStoreSum(e, row, m, E(beta))
	fm := float64(m)
	var a, b float64 // Σ e_j d_j, Σ e_j d_j² with d_j = z_j − m
	for j, v := range e {
		if v != 0 {
			d := float64(row[j]) - fm
			f := float64(v)
			a += f * d
			b += f * d * d
		}
	}
	mean := a / sum
	dy := float64(row[y]) - fm
	return tempStats{math.Log(sum) - beta*dy, mean - dy, max(b/sum-mean*mean, 0)}
}

// temperatureStats evaluates tempStats over all rows (divided by rows).
func temperatureStats[E Float](x []E, cols int, labels []int32, beta float64, threads int) tempStats {
	k := rowstat.For[E]()
	rows := len(x) / cols
	parts := blocks(rows, threads, func(lo, hi int) tempStats {
		e := make([]E, cols)
		var s tempStats
		for r := lo; r < hi; r++ {
			s = s.add(rowTempStats(k, e, x[r*cols:(r+1)*cols], labels[r], beta))
		}
		return s
	})
	var t tempStats
	for _, p := range parts {
		t = t.add(p)
	}
	n := float64(rows)
	return tempStats{t.nll / n, t.g / n, t.h / n}
}

// NLL returns the mean negative log-likelihood of softmax(z/t) over the
// rows of a logit matrix, −(1/N) Σ_i log softmax(z_i/t)_{y_i}, computed
// as log Σ_j exp((z_j − max z)/t) − (z_y − max z)/t in float64 (relative
// error ≤ 1e-6 for float32 logits, from the float32 scale 1/t).
func NLL[T Float](logits []T, cols int, labels []int32, t float64, opts ...Option) (float64, error) {
	cfg, err := configure("NLL", 0.01, 100, opts)
	if err != nil {
		return 0, err
	}
	if !(t > 0) || math.IsInf(t, 1) {
		return 0, fmt.Errorf("calibrate.NLL: temperature %v, want a positive finite number: %w", t, ErrValue)
	}
	if _, err := check("NLL", logits, cols, labels, cfg.threads); err != nil {
		return 0, err
	}
	return temperatureStats(logits, cols, labels, 1/t, cfg.threads).nll, nil
}

// FitTemperature returns the temperature T that minimises the mean
// negative log-likelihood of softmax(z/T) on held-out logits with their
// labels (Guo et al. 2017).
//
// The NLL is convex in β = 1/T (a log-sum-exp of functions linear in β
// minus a linear term), with derivative E_q[z] − z_y and second
// derivative Var_q[z] averaged over rows. The solver keeps a bracket
// [1/hi, 1/lo] on which the derivative changes sign and takes Newton steps
// in β, falling back to bisection (in log β) whenever a step would leave
// the bracket; it stops when the bracket or the step is below 1e-10
// relative, or after MaxIter iterations. If the derivative does not change
// sign the optimum is at a bound and that bound is returned. Finally the
// NLL at the result is compared with the NLL at T = 1 (when 1 is within
// the bounds) and T = 1 is returned if it is not worse, so temperature
// scaling never raises the NLL on its fit set.
func FitTemperature[T Float](logits []T, cols int, labels []int32, opts ...Option) (float64, error) {
	cfg, err := configure("FitTemperature", 0.01, 100, opts)
	if err != nil {
		return 0, err
	}
	if _, err := check("FitTemperature", logits, cols, labels, cfg.threads); err != nil {
		return 0, err
	}
	stats := func(beta float64) tempStats { return temperatureStats(logits, cols, labels, beta, cfg.threads) }
	lo, hi := 1/cfg.thi, 1/cfg.tlo
	beta := newtonBracket(stats, lo, hi, cmp.Or(cfg.maxIter, 100))
	if 1 >= cfg.tlo && 1 <= cfg.thi && stats(1).nll <= stats(beta).nll {
		return 1, nil
	}
	return 1 / beta, nil
}

// newtonBracket minimises a convex function of β on [lo, hi] given its
// value, first and second derivative.
func newtonBracket(stats func(float64) tempStats, lo, hi float64, maxIter int) float64 {
	if stats(lo).g >= 0 {
		return lo
	}
	if stats(hi).g <= 0 {
		return hi
	}
	beta := min(max(1, lo), hi)
	for it := 0; it < maxIter; it++ {
		s := stats(beta)
		if s.g > 0 {
			hi = beta
		} else if s.g < 0 {
			lo = beta
		} else {
			return beta
		}
		next := beta - s.g/s.h
		if !(s.h > 0) || !(next > lo && next < hi) {
			next = math.Sqrt(lo * hi) // bisection in log β
		}
		if math.Abs(next-beta) <= 1e-10*beta || hi-lo <= 1e-10*lo {
			return next
		}
		beta = next
	}
	return beta
}

// A Scaler is a fitted calibration map that Apply runs on new logits:
// Temperature or *Vector.
type Scaler interface {
	// Classes is the number of classes the map needs (0 for any).
	Classes() int
	apply(dst, x []float64)
	apply32(dst, x []float32)
}

// Temperature is the map z ↦ z/T.
type Temperature float64

// Classes reports that a temperature applies to any number of classes.
func (Temperature) Classes() int { return 0 }

func (t Temperature) apply(dst, x []float64)   { rowstat.K64.Scale(dst, x, 1/float64(t)) }
func (t Temperature) apply32(dst, x []float32) { rowstat.K32.Scale(dst, x, float32(1/float64(t))) }

// Apply writes the calibrated logits s(z) of every row of logits (cols
// columns) into dst, which has the same length and may be logits itself.
// Softmax of the result gives the calibrated probabilities.
func Apply[T Float](s Scaler, dst, logits []T, cols int) error {
	if cols < 1 || len(logits)%cols != 0 || len(dst) != len(logits) {
		return fmt.Errorf("calibrate.Apply: %d logits, %d outputs, cols = %d: %w", len(logits), len(dst), cols, metrics.ErrShape)
	}
	if k := s.Classes(); k != 0 && k != cols {
		return fmt.Errorf("calibrate.Apply: map fitted for %d classes, logits have %d: %w", k, cols, metrics.ErrShape)
	}
	if t, ok := s.(Temperature); ok && (!(t > 0) || math.IsInf(float64(t), 1)) {
		return fmt.Errorf("calibrate.Apply: temperature %v, want a positive finite number: %w", float64(t), ErrValue)
	}
	switch d := any(dst).(type) {
	case []float32:
		x := any(logits).([]float32)
		for r := 0; r < len(x); r += cols {
			s.apply32(d[r:r+cols], x[r:r+cols])
		}
	case []float64:
		x := any(logits).([]float64)
		for r := 0; r < len(x); r += cols {
			s.apply(d[r:r+cols], x[r:r+cols])
		}
	}
	return nil
}
