package softmax

import (
	"fmt"
	"math"
	"slices"

	"github.com/xentlab/xent/internal/par"
	"github.com/xentlab/xent/internal/rowstat"
)

// Sparsemax writes the row-wise sparsemax of x into dst (same shape; dst
// may be x): the Euclidean projection of each row z = x/T onto the
// probability simplex, of Martins and Astudillo, "From Softmax to
// Sparsemax: A Sparse Model of Attention and Multi-Label Classification"
// (ICML 2016),
//
//	sparsemax(z)_i = max(z_i − τ(z), 0),   Σ_i max(z_i − τ, 0) = 1,
//
// which sets every entry below the threshold τ exactly to 0. τ is found by
// sorting the entries above max − 1 (only they can be in the support, so a
// row of a large vocabulary sorts a handful), in float64 on the
// max-shifted row: exact up to a few roundings at any logit scale.
//
// Special rows follow Softmax's rules: −Inf entries are masked (0), a row
// that is entirely −Inf gives 0 everywhere, a NaN or a +Inf makes the
// whole row NaN. The Temperature option divides x by T first.
//
// Accuracy: every output has absolute error ≤ (4 + k)·2⁻ᵖ with k the
// support size (p = 24 or 53) beyond the rounding of x/T.
func Sparsemax[T Float](dst, x []T, cols int, opts ...Option) error {
	const name = "Sparsemax"
	rows, err := checkRowwise(name, dst, x, cols)
	if err != nil {
		return err
	}
	c, err := configure(opts)
	if err != nil {
		return err
	}
	s := 1 / c.temperature
	par.For(rows, max(1, blockElems/cols), c.threads, func(_, lo, hi int) {
		var z, buf []float64
		for r := lo; r < hi; r++ {
			row, out := x[r*cols:(r+1)*cols], dst[r*cols:(r+1)*cols]
			if nan, inf := rowSpecial(row); nan || inf {
				fillT(out, math.NaN())
				continue
			}
			if z == nil {
				z = make([]float64, cols)
			}
			for j, v := range row {
				z[j] = float64(v) * s
			}
			m, d, ok := sparsemaxThreshold(z, &buf)
			for j, v := range z {
				if u := (v - m) - d; ok && u > 0 {
					out[j] = T(u)
				} else {
					out[j] = 0
				}
			}
		}
	})
	return nil
}

// sparsemaxThreshold returns the threshold of the row z (no NaN or +Inf)
// as τ = m + d with m the row's maximum (so that z_i − τ = (z_i − m) − d
// keeps its digits at any offset); ok is false for a row that is entirely
// −Inf. buf is scratch.
func sparsemaxThreshold(z []float64, buf *[]float64) (m, d float64, ok bool) {
	m = math.Inf(-1)
	for _, v := range z {
		m = max(m, v)
	}
	if math.IsInf(m, -1) {
		return m, 0, false
	}
	// τ ≥ m − 1, so the support lies in {z_i > m − 1}.
	c := (*buf)[:0]
	for _, v := range z {
		if v-m > -1 {
			c = append(c, v-m)
		}
	}
	*buf = c
	slices.Sort(c)
	slices.Reverse(c)
	// The largest k with 1 + k·c_k > Σ_{i≤k} c_i; τ = (Σ_{i≤k} c_i − 1)/k.
	var sum, best float64
	k := 0
	for i, v := range c {
		sum += v
		if 1+float64(i+1)*v > sum {
			k, best = i+1, sum
		}
	}
	return m, (best - 1) / float64(k), true
}

// SparsemaxJVP writes into dst the product of the Jacobian of sparsemax
// with v for every row, given the row's sparsemax output p (as written by
// Sparsemax with the same options):
//
//	(J·v)_i = s_i·(v_i − Σ_{k∈S} v_k/|S|)/T,   S = {i : p_i > 0},
//
// s_i = 1 on the support S and 0 off it. J is symmetric, so this is also
// the vector–Jacobian product (the backward pass of Sparsemax with
// upstream gradient v). An entry exactly at the threshold (p_i = 0) is
// treated as outside the support. dst may be p or v; rows with no support
// (masked or NaN rows) give NaN if p holds a NaN, else 0.
func SparsemaxJVP[T Float](dst, p, v []T, cols int, opts ...Option) error {
	const name = "SparsemaxJVP"
	rows, err := checkRowwise(name, dst, p, cols)
	if err != nil {
		return err
	}
	if err := checkSameLen(name, len(p), map[string][]T{"v": v}); err != nil {
		return err
	}
	if rowstat.OverlapPartially(dst, v) {
		return fmt.Errorf("softmax.%s: dst overlaps v without being v: %w", name, ErrShape)
	}
	c, err := configure(opts)
	if err != nil {
		return err
	}
	s := 1 / c.temperature
	forRows(rows, cols, c.threads, func(r int) {
		pr, vr, dr := p[r*cols:(r+1)*cols], v[r*cols:(r+1)*cols], dst[r*cols:(r+1)*cols]
		var sum float64
		n := 0
		nan := false
		for j, pv := range pr {
			if pv != pv {
				nan = true
			}
			if pv > 0 {
				sum += float64(vr[j])
				n++
			}
		}
		if nan {
			fillT(dr, math.NaN())
			return
		}
		mean := 0.0
		if n > 0 {
			mean = sum / float64(n)
		}
		for j, pv := range pr {
			if pv > 0 {
				dr[j] = T(s * (float64(vr[j]) - mean))
			} else {
				dr[j] = 0
			}
		}
	})
	return nil
}
