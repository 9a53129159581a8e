// Package softmax computes row-wise softmax, log-softmax and log-sum-exp
// over row-major matrices given as a flat slice and a column count, for
// float32 and float64, fast and numerically safe.
//
// # How float32 rows are computed
//
// At T = 1 the rows stream through a pipeline (internal/rowpipe): one
// loop reads a row from memory for its maximum and, in long rows whose
// predecessor had the shift 0, computes its exponentials in the same pass
// (with the shift 0, again from the cache if the row's own maximum asks
// for another), while it writes the previous row's output; in other rows
// it computes a row's exponentials from the cache while it reads the next
// row's maximum. Each row is read from memory once. The exponentials
// are exp(x − c) for a shift c chosen from the row's maximum m so that
// x − c is exact in float32 for every element that matters (c = 0 for
// −16 ≤ m ≤ 85, c = m for m ≥ 138 or m ≤ −69; see vek.Shift32); other
// rows, and every row at T ≠ 1, carry x − m exactly as a pair instead.
// The log-sum-exp and log-softmax are taken relative to the maximum's own
// term, so a row with a single finite entry gets exactly p = 1, log p = 0
// and its maximum as its log-sum-exp.
//
// # Semantics
//
// For a row x and temperature T (default 1), with z = x/T:
//
//	Softmax(x)_i    = exp(z_i − max z) / Σ_j exp(z_j − max z)
//	LogSoftmax(x)_i = (z_i − max z) − log Σ_j exp(z_j − max z)
//	LogSumExp(x)    = max z + log Σ_j exp(z_j − max z)
//
// Special rows have defined results:
//   - −Inf entries are masked: probability 0, log-probability −Inf.
//   - A row whose entries are all −Inf has no mass: Softmax gives 0
//     everywhere, LogSoftmax −Inf everywhere, LogSumExp −Inf.
//   - A NaN anywhere in a row makes the whole row NaN (and its
//     log-sum-exp NaN).
//   - A +Inf entry (and no NaN) gives LogSumExp +Inf; Softmax and
//     LogSoftmax of that row are NaN, as the limit is not defined.
//
// # Accuracy
//
// float32, T = 1: every probability p ≥ 1e-30 has relative error ≤ 2e-6
// (measured worst case about 4 ulp ≈ 5e-7); every log-probability y has
// absolute error ≤ 2e-6·max(1, |y|); the log-sum-exp is within 2 ulp plus
// 1e-6 of the correctly rounded value. With T ≠ 1 the division by T adds
// a relative error of at most |z_i − max z|·2⁻²⁴ to p_i. float64, for a row
// of n entries: relative error of p_i at most (8 + n + 2|z_i − max z|)·2⁻⁵³,
// absolute error of log p_i and of the log-sum-exp at most
// (8 + n)·2⁻⁵³·max(1, |value|) (the n is the worst case of the sum's
// rounding; typical errors are a few ulp). Sums are accumulated in float64.
//
// # Threads and determinism
//
// Rows are processed in parallel in fixed blocks; when there are fewer
// rows than threads, a row of at least 65536 columns is itself split into
// fixed chunks whose partial sums are combined in order. Chunk boundaries
// never depend on the thread count, so the results are bit-identical for
// any number of threads.
//
// dst may be x (in-place) but must not otherwise overlap it.
package softmax

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/xentlab/xent/internal/par"
	"github.com/xentlab/xent/internal/rowstat"
	"github.com/xentlab/xent/internal/xerr"
)

// Float is the element type of the matrices: float32 or float64 (or a type
// defined on them).
type Float = rowstat.Float

// ErrShape is wrapped by every error about the shape of the arguments.
// It is the same value in every package of the module, so errors.Is
// matches it whichever package the error came from.
var ErrShape = xerr.ErrShape

// An Option changes how a row-wise function runs.
type Option func(*config)

type config struct {
	temperature float64
	threads     int
}

// Temperature divides the logits by t before normalising (t > 0, finite).
// The default is 1.
func Temperature(t float64) Option { return func(c *config) { c.temperature = t } }

// Threads sets the number of goroutines (n ≤ 0: runtime.GOMAXPROCS, the
// default). The results do not depend on it.
func Threads(n int) Option { return func(c *config) { c.threads = n } }

func configure(opts []Option) (config, error) {
	c := config{temperature: 1}
	for _, o := range opts {
		o(&c)
	}
	if !(c.temperature > 0) || math.IsInf(c.temperature, 0) {
		return c, fmt.Errorf("softmax: temperature %v, want a positive finite number", c.temperature)
	}
	c.threads = par.Threads(c.threads)
	return c, nil
}

// Softmax writes the row-wise softmax of the matrix x (cols columns) into
// dst, which has the shape of x and may be x itself (the same bits
// either way).
func Softmax[T Float](dst, x []T, cols int, opts ...Option) error {
	return apply(opSoftmax, dst, x, cols, opts)
}

// LogSoftmax writes the row-wise log-softmax of x into dst (the shape of
// x, may be x), computed as (z − max z) − log Σ exp(z − max z) so that no
// precision is lost at large offsets.
func LogSoftmax[T Float](dst, x []T, cols int, opts ...Option) error {
	return apply(opLogSoftmax, dst, x, cols, opts)
}

// LogSumExp writes log Σ_j exp(x_ij/T) for every row i of x into dst,
// which holds one value per row.
func LogSumExp[T Float](dst, x []T, cols int, opts ...Option) error {
	return apply(opLogSumExp, dst, x, cols, opts)
}

type op int

const (
	opSoftmax op = iota
	opLogSoftmax
	opLogSumExp
)

var opNames = [...]string{"Softmax", "LogSoftmax", "LogSumExp"}

func apply[T Float](o op, dst, x []T, cols int, opts []Option) error {
	name := opNames[o]
	if cols <= 0 {
		return fmt.Errorf("softmax.%s: cols = %d, want ≥ 1: %w", name, cols, ErrShape)
	}
	if len(x)%cols != 0 {
		return fmt.Errorf("softmax.%s: len(x) = %d is not a multiple of cols = %d: %w", name, len(x), cols, ErrShape)
	}
	rows := len(x) / cols
	if o == opLogSumExp {
		if len(dst) != rows {
			return fmt.Errorf("softmax.%s: len(dst) = %d, want %d (one per row): %w", name, len(dst), rows, ErrShape)
		}
	} else {
		if len(dst) != len(x) {
			return fmt.Errorf("softmax.%s: len(dst) = %d, want %d (the length of x): %w", name, len(dst), len(x), ErrShape)
		}
		if rowstat.OverlapPartially(dst, x) {
			return fmt.Errorf("softmax.%s: dst overlaps x without being x: %w", name, ErrShape)
		}
	}
	c, err := configure(opts)
	if err != nil {
		return err
	}
	if rows == 0 {
		return nil
	}
	if isF32[T]() {
		d, xx := rowstat.AsExact[T, float32](dst), rowstat.AsExact[T, float32](x)
		if c.temperature == 1 && !(rows < c.threads && cols >= splitCols) {
			pipeline32(o, d, xx, cols, c.threads)
			return nil
		}
		run(k32, o, d, xx, cols, float32(1/c.temperature), c.threads)
	} else {
		run(k64, o, rowstat.AsExact[T, float64](dst), rowstat.AsExact[T, float64](x), cols, 1/c.temperature, c.threads)
	}
	return nil
}

func isF32[T Float]() bool {
	var z T
	return unsafe.Sizeof(z) == 4
}
