package loss

import (
	"math"

	"github.com/xentlab/xent/internal/rowstat"
)

// kernels is the vector kernel table of one element type (internal/rowstat).
type kernels[E exact] = rowstat.Kernels[E]

var k32, k64 = rowstat.K32, rowstat.K64

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

// stats reduces a row with a finite maximum m through rowstat's Tail, so
// that a confidently right row keeps a loss of e.g. 1e-30 to full
// precision (no Softmax Collapse).
func stats[E exact](k *kernels[E], z []E, m E) rowStats[E] {
	s, t, a := k.Tail(z, m, 1)
	return rowStats[E]{m: m, s: s, t: t, logS: math.Log1p(t), argmax: a}
}

// statsStore is stats that also stores e_j = exp(z_j − m) into e (which
// may be z itself): the gradient pass then needs no second exponential.
// The small-tail recomputation sums e, not z — the maximum's term is
// exactly 1 — so it works in place too.
func statsStore[E exact](k *kernels[E], e, z []E, m E) rowStats[E] {
	st := rowStats[E]{m: m, argmax: -1}
	for c := 0; c < len(z); c += rowstat.Chunk {
		end := min(len(z), c+rowstat.Chunk)
		st.s += k.ExpStoreSum(e[c:end], z[c:end], m, 1)
	}
	st.t = st.s - 1
	if st.t < rowstat.TailThreshold {
		a := rowstat.ArgmaxOf(e, 1)
		st.argmax = a
		st.t = k.SumExcept(e, a)
		st.s = 1 + st.t
	}
	st.logS = math.Log1p(st.t)
	return st
}
