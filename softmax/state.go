package softmax

import (
	"math"
	"unsafe"

	"github.com/xentlab/xent/internal/rowstat"
)

// State is the online reduction state of a log-sum-exp: the pair stands for
//
//	log Σ exp(z_i) = Max + log(Sum),
//
// with Sum the sum of exp(z_i − Max). States of disjoint parts of a vector
// (blocks of a row, threads, or vocabulary shards on different machines)
// combine with Merge into the state of the whole, so a reduction can be
// split anywhere and merged in any fixed order.
//
// The zero State is the state of nothing: it has Sum 0, log-sum-exp −Inf,
// and is the identity of Merge. A state with Sum 0 is empty whatever its
// Max. NaN in either field marks a NaN input.
type State struct {
	Max float64
	Sum float64
}

// Merge returns the state of the union of the parts s and t stand for:
// the larger Max is kept and the other Sum rescaled by exp(ΔMax). It is
// commutative; the relative rounding error of Sum is at most 2 ulp per
// merge.
func (s State) Merge(t State) State {
	if s.Sum == 0 {
		return t
	}
	if t.Sum == 0 {
		return s
	}
	if math.IsNaN(s.Max+s.Sum) || math.IsNaN(t.Max+t.Sum) {
		return State{math.NaN(), math.NaN()}
	}
	if s.Max < t.Max || s.Max == t.Max && s.Sum < t.Sum {
		s, t = t, s
	}
	if s.Max == t.Max {
		return State{s.Max, s.Sum + t.Sum}
	}
	return State{s.Max, s.Sum + t.Sum*math.Exp(t.Max-s.Max)}
}

// LogSumExp returns Max + log(Sum): −Inf for the empty state.
func (s State) LogSumExp() float64 {
	if s.Sum == 0 && !math.IsNaN(s.Max) {
		return math.Inf(-1)
	}
	return s.Max + math.Log(s.Sum)
}

// Reduce returns the State of one vector x (scaled by 1/T with the
// Temperature option): Max is max(x)/T and Sum = Σ exp((x_i − max x)/T),
// accumulated as Softmax and LogSumExp accumulate it. An empty or
// all −Inf vector gives the empty state; a NaN gives a NaN state; a +Inf
// entry gives Max = +Inf, Sum = 1.
func Reduce[T Float](x []T, opts ...Option) (State, error) {
	c, err := configure(opts)
	if err != nil {
		return State{}, err
	}
	if len(x) == 0 {
		return State{}, nil
	}
	if unsafe.Sizeof(x[0]) == 4 {
		return reduce(k32, rowstat.AsExact[T, float32](x), float32(1/c.temperature)), nil
	}
	return reduce(k64, rowstat.AsExact[T, float64](x), 1/c.temperature), nil
}

func reduce[E exact](k *kernels[E], x []E, s E) State {
	m, nan := k.MaxNaN(x)
	switch classify(m, nan) {
	case rowMasked:
		return State{}
	case rowNaN:
		return State{math.NaN(), math.NaN()}
	case rowPosInf:
		return State{math.Inf(1), 1}
	}
	var sum float64
	for c := 0; c < len(x); c += chunkCols {
		sum += k.ExpSumFlat(x[c:min(len(x), c+chunkCols)], m, s)
	}
	return State{float64(m) * float64(s), sum}
}
