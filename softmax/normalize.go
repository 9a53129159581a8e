package softmax

import (
	"fmt"
	"math"
	"sort"

	"github.com/xentlab/xent/internal/par"
	"github.com/xentlab/xent/internal/rowstat"
)

// This file holds what the alternative normalisers share: argument checks,
// the row loop and the backward pass of every softmax-shaped normaliser.

// checkRowwise validates a row-wise map from x to dst (same shape; dst may
// be x) and returns the number of rows.
func checkRowwise[T Float](name string, dst, x []T, cols int) (int, error) {
	if cols <= 0 {
		return 0, fmt.Errorf("softmax.%s: cols = %d, want ≥ 1: %w", name, cols, ErrShape)
	}
	if len(x)%cols != 0 {
		return 0, fmt.Errorf("softmax.%s: len(x) = %d is not a multiple of cols = %d: %w", name, len(x), cols, ErrShape)
	}
	if len(dst) != len(x) {
		return 0, fmt.Errorf("softmax.%s: len(dst) = %d, want %d (the length of x): %w", name, len(dst), len(x), ErrShape)
	}
	if rowstat.OverlapPartially(dst, x) {
		return 0, fmt.Errorf("softmax.%s: dst overlaps x without being x: %w", name, ErrShape)
	}
	return len(x) / cols, nil
}

// checkSameLen reports an error unless every slice has length n (checked
// in the order of the names).
func checkSameLen[T Float](name string, n int, named map[string][]T) error {
	names := make([]string, 0, len(named))
	for what := range named {
		names = append(names, what)
	}
	sort.Strings(names)
	for _, what := range names {
		if s := named[what]; len(s) != n {
			return fmt.Errorf("softmax.%s: len(%s) = %d, want %d: %w", name, what, len(s), n, ErrShape)
		}
	}
	return nil
}

// forRows runs fn on every row in parallel blocks whose boundaries depend
// only on the shape (so results never depend on the thread count).
func forRows(rows, cols, threads int, fn func(r int)) {
	par.For(rows, max(1, blockElems/cols), threads, func(_, lo, hi int) {
		for r := lo; r < hi; r++ {
			fn(r)
		}
	})
}

// SoftmaxBackward is the backward pass (the vector–Jacobian product) of
// every softmax-shaped normaliser of the package: given a row's output y
// and the upstream gradient g = ∂L/∂y, it writes
//
//	dx_i = s · y_i · (g_i − Σ_j y_j g_j),   s = 1/T,
//
// which is gᵀJ for J = s·(diag y − y yᵀ); J is symmetric, so this is also
// the Jacobian-vector product J·g. It serves Softmax, TwoPassSoftmax,
// TopKSoftmax (y is 0 off the top k, so their gradient is 0 there, and a
// boundary tie is treated as the selection made in the forward pass),
// GumbelSoftmax and the straight-through GumbelSoftmaxST (pass the soft
// sample and Temperature(tau)). Pass the same Temperature as the forward
// call. dx may be y or g. The dot product is accumulated in float64; each
// dx_i has absolute error ≤ 4·2⁻ᵖ·y_i·(|g_i| + Σ_j y_j|g_j|)·s (p = 24 or
// 53) beyond the error of y.
func SoftmaxBackward[T Float](dx, y, g []T, cols int, opts ...Option) error {
	const name = "SoftmaxBackward"
	rows, err := checkRowwise(name, dx, y, cols)
	if err != nil {
		return err
	}
	if err := checkSameLen(name, len(y), map[string][]T{"g": g}); err != nil {
		return err
	}
	if rowstat.OverlapPartially(dx, g) {
		return fmt.Errorf("softmax.%s: dx overlaps g without being g: %w", name, ErrShape)
	}
	c, err := configure(opts)
	if err != nil {
		return err
	}
	s := 1 / c.temperature
	forRows(rows, cols, c.threads, func(r int) {
		yr, gr, dr := y[r*cols:(r+1)*cols], g[r*cols:(r+1)*cols], dx[r*cols:(r+1)*cols]
		var dot float64
		for j, v := range yr {
			if v != 0 {
				dot += float64(v) * float64(gr[j])
			}
		}
		for j, v := range yr {
			if v == 0 {
				dr[j] = 0
				continue
			}
			dr[j] = T(s * float64(v) * (float64(gr[j]) - dot))
		}
	})
	return nil
}

// rowSoftmax64 writes softmax(s·v) of the finite-or-−Inf values v into out
// (float64 arithmetic, max-shifted); an all −Inf row gives zeros. It
// returns the log-sum-exp of s·v.
func rowSoftmax64(out, v []float64, s float64) float64 {
	m := math.Inf(-1)
	for _, a := range v {
		m = max(m, a)
	}
	if math.IsInf(m, -1) {
		for i := range out {
			out[i] = 0
		}
		return m
	}
	var sum float64
	for i, a := range v {
		e := math.Exp((a - m) * s)
		out[i] = e
		sum += e
	}
	for i := range out {
		out[i] /= sum
	}
	return m*s + math.Log(sum)
}

// rowSpecial classifies a row for the normalisers that follow Softmax's
// special-row rules: it reports whether the row has a NaN or a +Inf.
func rowSpecial[T Float](row []T) (nan, posInf bool) {
	for _, v := range row {
		switch {
		case v != v:
			nan = true
		case math.IsInf(float64(v), 1):
			posInf = true
		}
	}
	return nan, posInf
}

func fillT[T Float](x []T, v float64) {
	for i := range x {
		x[i] = T(v)
	}
}

// shares reports whether a and b have an element in common.
func shares[T Float](a, b []T) bool {
	return rowstat.OverlapPartially(a, b) || len(a) > 0 && len(b) > 0 && &a[0] == &b[0]
}
