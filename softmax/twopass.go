package softmax

import (
	"fmt"
	"math"

	"github.com/xentlab/xent/internal/par"
	"github.com/xentlab/xent/internal/rowstat"
	"github.com/xentlab/xent/internal/vek"
)

// TwoPassSoftmax writes the row-wise softmax of x into dst, as Softmax
// does, with the two-pass algorithm of catalog A14 (Dukhan and Ablavatski,
// "The Two-Pass Softmax Algorithm", 2020): every exponential is carried as
// a (mantissa, exponent) pair exp(x) = p·2ⁿ, so pass 1 sums the row as
// (M, E) without first finding its maximum, and pass 2 writes
// p_i·2^(n_i−E)/M. For float32, pass 1 also stores each p_i·2^(n_i−r)
// (r the largest exponent of its 64-element block and SIMD lane) into dst,
// so pass 2 only rescales dst by 2^(r−E)/M instead of evaluating the
// exponential again; in place (dst = x) pass 2 recomputes the exponentials
// from x, as in the paper. On amd64 both passes run in AVX2+FMA assembly.
//
// Results and special rows are those of Softmax: a row the kernel cannot
// take (NaN, an entry above 2²¹ in magnitude on the positive side, no
// entry above about −2.08·10⁶, in particular all-masked rows) and every
// row when a Temperature other than 1 is given run the max-shift path of
// Softmax. −Inf entries are masks (0). Accuracy: every probability
// p ≥ 2⁻¹²⁶ has relative error ≤ 16·2⁻²⁴ ≈ 1e-6 (float32; smaller ones
// flush to 0) or 1e-13 (float64, portable Go). Rows are the unit of
// parallel work (a long row is not split across threads); results do not
// depend on the thread count. The backward pass is SoftmaxBackward.
func TwoPassSoftmax[T Float](dst, x []T, cols int, opts ...Option) error {
	rows, err := checkRowwise("TwoPassSoftmax", dst, x, cols)
	if err != nil {
		return err
	}
	c, err := configure(opts)
	if err != nil {
		return err
	}
	if c.temperature != 1 {
		return Softmax(dst, x, cols, opts...)
	}
	if isF32[T]() {
		twoPassSoftmax32(rowstat.AsExact[T, float32](dst), rowstat.AsExact[T, float32](x), cols, c.threads)
		return nil
	}
	d, xx := rowstat.AsExact[T, float64](dst), rowstat.AsExact[T, float64](x)
	forRows(rows, cols, c.threads, func(r int) {
		row, out := xx[r*cols:(r+1)*cols], d[r*cols:(r+1)*cols]
		m, e, ok := vek.ExtExpSum64(row)
		if !ok {
			_ = Softmax(out, row, cols, Threads(1))
			return
		}
		vek.ExtExpScale64(out, row, e, 1/m)
	})
	return nil
}

// TwoPassLogSumExp writes log Σ_j exp(x_ij) for every row of x into dst
// (one value per row), as LogSumExp does, from pass 1 of the two-pass
// algorithm alone: LSE = log M + E·ln 2, one read of the row. Special rows
// and the Temperature option fall back as in TwoPassSoftmax. Accuracy:
// absolute error ≤ 12·2⁻²⁴ + 2⁻⁵³·|LSE| (float32 input) or 1e-13·max(1,
// |LSE|) (float64).
func TwoPassLogSumExp[T Float](dst, x []T, cols int, opts ...Option) error {
	const name = "TwoPassLogSumExp"
	if cols <= 0 {
		return fmt.Errorf("softmax.%s: cols = %d, want ≥ 1: %w", name, cols, ErrShape)
	}
	if len(x)%cols != 0 {
		return fmt.Errorf("softmax.%s: len(x) = %d is not a multiple of cols = %d: %w", name, len(x), cols, ErrShape)
	}
	rows := len(x) / cols
	if len(dst) != rows {
		return fmt.Errorf("softmax.%s: len(dst) = %d, want %d (one per row): %w", name, len(dst), rows, ErrShape)
	}
	c, err := configure(opts)
	if err != nil {
		return err
	}
	if c.temperature != 1 {
		return LogSumExp(dst, x, cols, opts...)
	}
	if isF32[T]() {
		twoPassLSE32(rowstat.AsExact[T, float32](dst), rowstat.AsExact[T, float32](x), cols, c.threads)
		return nil
	}
	forRows(rows, cols, c.threads, func(r int) {
		row := rowstat.AsExact[T, float64](x[r*cols : (r+1)*cols])
		m, e, ok := vek.ExtExpSum64(row)
		if !ok {
			run(k64, opLogSumExp, rowstat.AsExact[T, float64](dst[r:r+1]), row, cols, 1, 1)
			return
		}
		dst[r] = T(math.Log(m) + e*math.Ln2)
	})
	return nil
}

// twoPassSoftmax32 is the float32 two-pass softmax of every row; a row
// the kernel cannot take takes the max-shift path of Softmax.
func twoPassSoftmax32(d, xx []float32, cols, threads int) {
	rows := len(xx) / cols
	if shares(d, xx) {
		// In place: pass 1 must not write, so that a row outside the
		// kernel's domain can still take the max-shift path; pass 2
		// evaluates the exponentials again (the paper's form).
		forRows(rows, cols, threads, func(r int) {
			row, out := xx[r*cols:(r+1)*cols], d[r*cols:(r+1)*cols]
			m, e, ok := vek.ExtExpSum32(row)
			if !ok {
				run(k32, opSoftmax, out, row, cols, 1, 1)
				return
			}
			vek.ExtExpScale32(out, row, float32(e), float32(1/m))
		})
		return
	}
	// Pass 1 stores every mantissa relative to its block's exponent; pass
	// 2 rescales them, without a second exponential.
	par.For(rows, max(1, blockElems/cols), threads, func(_, lo, hi int) {
		refs := make([]float32, vek.TwoPassRefs(cols))
		for r := lo; r < hi; r++ {
			row, out := xx[r*cols:(r+1)*cols], d[r*cols:(r+1)*cols]
			m, e, ok := vek.ExtExpSumStore32(out, row, refs)
			if !ok {
				run(k32, opSoftmax, out, row, cols, 1, 1)
				continue
			}
			vek.ExtRescale32(out, refs, float32(e), float32(1/m))
		}
	})
}

// twoPassLSE32 is the float32 two-pass log-sum-exp of every row; a row the
// kernel cannot take (special values, huge entries) takes the max-shift
// path of LogSumExp.
func twoPassLSE32(dst, x []float32, cols, threads int) {
	forRows(len(dst), cols, threads, func(r int) {
		row := x[r*cols : (r+1)*cols]
		m, e, ok := vek.ExtExpSum32(row)
		if !ok {
			run(k32, opLogSumExp, dst[r:r+1], row, cols, 1, 1)
			return
		}
		dst[r] = float32(math.Log(m) + e*math.Ln2)
	})
}
