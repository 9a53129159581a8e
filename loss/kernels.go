package loss

import (
	"math"

	"github.com/xentlab/xent/internal/vek"
)

// kernels is the set of vector kernels one element type needs.
// expSumNext also prefetches the same columns of the next row while it
// computes (the float64 kernel ignores it).
type kernels[E exact] struct {
	maxNaN       func([]E) (E, bool)
	expSum       func(x []E, m, s E) float64
	expSumNext   func(x []E, m, s E, next []E) float64
	expStoreNext func(dst, x []E, m, s E, next []E) float64
	expAffine    func(dst, x []E, m, s, c, b E)
	shiftScale   func(dst, x []E, m, s, c E)
	axpy         func(dst, x []E, a E)
	sum          func([]E) float64
}

var (
	k32 = &kernels[float32]{vek.MaxNaN32, vek.ExpSum32,
		func(x []float32, m, s float32, _ []float32) float64 { return vek.ExpSum32(x, m, s) },
		func(dst, x []float32, m, s float32, _ []float32) float64 { return vek.ExpStoreSum32(dst, x, m, s) },
		vek.ExpAffine32, vek.ShiftScale32, vek.Axpy32, vek.Sum32}
	k64 = &kernels[float64]{vek.MaxNaN64, vek.ExpSum64,
		func(x []float64, m, s float64, _ []float64) float64 { return vek.ExpSum64(x, m, s) },
		func(dst, x []float64, m, s float64, _ []float64) float64 { return vek.ExpStoreSum64(dst, x, m, s) },
		vek.ExpAffine64, vek.ShiftScale64, vek.Axpy64, vek.Sum64}
)

// chunkCols is the fixed piece a row's exp-sum is accumulated in, so the
// sum does not depend on how rows are split among threads.
const chunkCols = 16384

func (k *kernels[E]) rowExpSum(z []E, m E) float64 {
	return k.rowExpSumNext(z, m, nil)
}

// rowExpSumNext is rowExpSum that prefetches next (the next row, or nil).
func (k *kernels[E]) rowExpSumNext(z []E, m E, next []E) float64 {
	var s float64
	for c := 0; c < len(z); c += chunkCols {
		e := min(len(z), c+chunkCols)
		var nx []E
		if len(next) >= e {
			nx = next[c:e]
		}
		s += k.expSumNext(z[c:e], m, 1, nx)
	}
	return s
}

// tailThreshold is the size of Σ_{j≠argmax} exp(z_j − max) below which it
// is recomputed without the argmax term: accumulated beside the 1 of the
// maximum, such a tail keeps only its leading digits.
const tailThreshold = 0x1p-10

// rowStats holds a row's reduction: max m, S = Σ exp(z − m), the tail
// T = S − 1 = Σ_{j≠argmax} exp(z_j − m) computed to full relative
// precision, and log S = log1p(T).
type rowStats[E exact] struct {
	m      E
	s, t   float64
	logS   float64
	argmax int // first index of the maximum, or −1 when not looked up
}

func (r rowStats[E]) lse() float64 { return float64(r.m) + r.logS }

// stats reduces a row with a finite maximum m (see statsNext).
func (k *kernels[E]) stats(z []E, m E) rowStats[E] { return k.statsNext(z, m, nil) }

// statsNext reduces a row with a finite maximum m, prefetching next. The
// tail is recomputed without the maximum's term when it is small, so that
// a confidently right row keeps a loss of e.g. 1e-30 to full precision (no
// Softmax Collapse).
func (k *kernels[E]) statsNext(z []E, m E, next []E) rowStats[E] {
	st := rowStats[E]{m: m, argmax: -1}
	st.s = k.rowExpSumNext(z, m, next)
	st.t = st.s - 1
	if st.t < tailThreshold {
		a := argmaxOf(z, m)
		st.argmax = a
		st.t = k.rowExpSum(z[:a], m) + k.rowExpSum(z[a+1:], m)
		st.s = 1 + st.t
	}
	st.logS = math.Log1p(st.t)
	return st
}

// statsStore is statsNext that also stores e_j = exp(z_j − m) into e
// (which may be z itself): the gradient pass then needs no second
// exponential. The small-tail recomputation reads e, not z — the maximum's
// term is exactly 1 — so it works in place too.
func (k *kernels[E]) statsStore(e, z []E, m E, next []E) rowStats[E] {
	st := rowStats[E]{m: m, argmax: -1}
	for c := 0; c < len(z); c += chunkCols {
		end := min(len(z), c+chunkCols)
		var nx []E
		if len(next) >= end {
			nx = next[c:end]
		}
		st.s += k.expStoreNext(e[c:end], z[c:end], m, 1, nx)
	}
	st.t = st.s - 1
	if st.t < tailThreshold {
		a := argmaxOf(e, 1)
		st.argmax = a
		st.t = k.sum(e[:a]) + k.sum(e[a+1:])
		st.s = 1 + st.t
	}
	st.logS = math.Log1p(st.t)
	return st
}

func argmaxOf[E exact](z []E, m E) int {
	for j, v := range z {
		if v == m {
			return j
		}
	}
	return 0
}
