package softmax

import (
	"math"

	"github.com/xentlab/xent/internal/par"
	"github.com/xentlab/xent/internal/rowstat"
)

type exact = rowstat.Exact

// kernels is the vector kernel table of one element type (internal/rowstat).
type kernels[E exact] = rowstat.Kernels[E]

var k32, k64 = rowstat.K32, rowstat.K64

// rowPlan is how a row is reduced once its maximum is known: special rows
// by their kind; finite rows with the shifted kernels (c, fast) where
// vek.Shift32 allows it at T = 1, else with the exact kernels (x − m
// carried as a pair, any temperature). The plan depends on the row's
// values only, so a row gets the same bits on every path.
//
// With a shift, the maximum's own term is emax = exp(m − c) rather than 1;
// the log-sum-exp and the log-softmax are taken relative to it (log(sum /
// emax)), so that a row with a single finite entry still gets exactly
// log p = 0 and its maximum as its log-sum-exp.
type rowPlan[E exact] struct {
	kind rowKind
	m, s E
	c    E
	fast bool
	emax float64
}

func planRow[E exact](k *kernels[E], m E, nan bool, s E) rowPlan[E] {
	p := rowPlan[E]{kind: classify(m, nan), m: m, s: s}
	if p.kind == rowFinite && s == 1 {
		p.c, p.fast = k.Shift(m)
		if p.fast {
			p.emax = float64(k.ExpShiftOne(m - p.c))
		}
	}
	return p
}

// oneHot reports whether the row's exponentials other than the maximum's
// are all 0 (sum = emax): its softmax is then exactly one-hot, which the
// product by 1/sum might miss by an ulp.
func (p rowPlan[E]) oneHot(sum float64) bool {
	return p.fast && sum == p.emax
}

// chunkSum returns Σ exp over a chunk of the row (relative to c or m),
// storing the exponentials to out unless it is nil.
func (p rowPlan[E]) chunkSum(k *kernels[E], out, x []E) float64 {
	switch {
	case p.fast && out != nil:
		return k.ExpShiftStore(out, x, p.c)
	case p.fast:
		return k.ExpShiftSum(x, p.c)
	case out != nil:
		return k.ExpStoreSum(out, x, p.m, p.s)
	}
	return k.ExpSumFlat(x, p.m, p.s)
}

// logSum returns log Σ_j exp(s·(x_j − m)) from the row's sum.
func (p rowPlan[E]) logSum(sum float64) float64 {
	if p.fast {
		return math.Log(sum / p.emax)
	}
	return math.Log(sum)
}

// lse returns the row's log-sum-exp from its sum.
func (p rowPlan[E]) lse(sum float64) float64 {
	switch {
	case p.kind != rowFinite:
		return lse(p.kind, p.m, p.s, sum)
	case p.fast:
		return float64(p.m) + math.Log(sum/p.emax)
	}
	return float64(p.m)*float64(p.s) + math.Log(sum)
}

const (
	// chunkCols is the fixed piece a row's sum is accumulated in: the row
	// sum is the in-order float64 sum of the chunk sums, on every path.
	chunkCols = rowstat.Chunk
	// splitCols is the row length from which a row is split across
	// threads when there are fewer rows than threads.
	splitCols = 65536
	// blockElems is about how many elements one parallel block of rows
	// holds.
	blockElems = rowstat.BlockElems
)

// rowKind classifies a row after its max pass.
type rowKind int

const (
	rowFinite rowKind = iota // finite max, no NaN
	rowMasked                // every entry −Inf
	rowNaN                   // a NaN somewhere
	rowPosInf                // a +Inf entry, no NaN
)

func classify[E exact](m E, nan bool) rowKind {
	switch {
	case nan:
		return rowNaN
	case math.IsInf(float64(m), -1):
		return rowMasked
	case math.IsInf(float64(m), 1):
		return rowPosInf
	}
	return rowFinite
}

// run applies o to every row; s = 1/T.
func run[E exact](k *kernels[E], o op, dst, x []E, cols int, s E, threads int) {
	rows := len(x) / cols
	if rows < threads && cols >= splitCols {
		for r := 0; r < rows; r++ {
			splitRow(k, o, dst, x[r*cols:(r+1)*cols], r, cols, s, threads)
		}
		return
	}
	grain := max(1, blockElems/cols)
	par.For(rows, grain, threads, func(_, lo, hi int) {
		for r := lo; r < hi; r++ {
			row := x[r*cols : (r+1)*cols]
			m, nan := k.MaxNaN(row)
			oneRow(k, o, dst, row, r, cols, m, nan, s)
		}
	})
}

// oneRow computes row r's output from its maximum.
func oneRow[E exact](k *kernels[E], o op, dst, row []E, r, cols int, m E, nan bool, s E) {
	p := planRow(k, m, nan, s)
	var sum float64
	if p.kind == rowFinite {
		var out []E
		if o == opSoftmax {
			out = dst[r*cols : (r+1)*cols]
		}
		for c := 0; c < cols; c += chunkCols {
			e := min(cols, c+chunkCols)
			if out != nil {
				sum += p.chunkSum(k, out[c:e], row[c:e])
			} else {
				sum += p.chunkSum(k, nil, row[c:e])
			}
		}
	}
	finish(k, o, dst, row, r, cols, p, sum)
}

// finish writes row r's output from its plan and sum. For opSoftmax with
// a finite row, dst already holds the row's exponentials.
func finish[E exact](k *kernels[E], o op, dst, row []E, r, cols int, p rowPlan[E], sum float64) {
	switch o {
	case opLogSumExp:
		dst[r] = E(p.lse(sum))
	case opSoftmax:
		out := dst[r*cols : (r+1)*cols]
		switch p.kind {
		case rowFinite:
			hot := -1
			if p.oneHot(sum) {
				hot = argmaxOf(out, E(p.emax)) // out holds the exponentials (and may be row)
			}
			k.Scale(out, out, E(1/sum))
			if hot >= 0 {
				out[hot] = 1
			}
		case rowMasked:
			fill(out, 0)
		default:
			fill(out, E(math.NaN()))
		}
	case opLogSoftmax:
		out := dst[r*cols : (r+1)*cols]
		switch p.kind {
		case rowFinite:
			k.ShiftScale(out, row, p.m, p.s, E(p.logSum(sum)))
		case rowMasked:
			fill(out, E(math.Inf(-1)))
		default:
			fill(out, E(math.NaN()))
		}
	}
}

func lse[E exact](kind rowKind, m, s E, sum float64) float64 {
	switch kind {
	case rowMasked:
		return math.Inf(-1)
	case rowNaN:
		return math.NaN()
	case rowPosInf:
		return math.Inf(1)
	}
	return float64(m)*float64(s) + math.Log(sum)
}

func fill[E exact](x []E, v E) {
	for i := range x {
		x[i] = v
	}
}

// splitRow handles one long row with several threads: the max, the chunk
// sums and the output are each computed chunk by chunk in parallel; the
// chunk sums are added in chunk order, as on the one-thread path.
func splitRow[E exact](k *kernels[E], o op, dst, row []E, r, cols int, s E, threads int) {
	nc := par.Blocks(cols, chunkCols)
	maxes := make([]E, nc)
	nans := make([]bool, nc)
	par.For(cols, chunkCols, threads, func(b, lo, hi int) {
		maxes[b], nans[b] = k.MaxNaN(row[lo:hi])
	})
	m, nan := maxes[0], nans[0]
	for b := 1; b < nc; b++ {
		m = max(m, maxes[b])
		nan = nan || nans[b]
	}
	if m == 0 {
		m = 0 // +0, as the one-thread path's maximum
	}
	p := planRow(k, m, nan, s)
	var sum float64
	if p.kind == rowFinite {
		sums := make([]float64, nc)
		if o == opSoftmax {
			out := dst[r*cols : (r+1)*cols]
			par.For(cols, chunkCols, threads, func(b, lo, hi int) {
				sums[b] = p.chunkSum(k, out[lo:hi], row[lo:hi])
			})
		} else {
			par.For(cols, chunkCols, threads, func(b, lo, hi int) {
				sums[b] = p.chunkSum(k, nil, row[lo:hi])
			})
		}
		for _, v := range sums {
			sum += v
		}
	}
	if o == opLogSumExp || p.kind != rowFinite {
		finish(k, o, dst, row, r, cols, p, sum)
		return
	}
	out := dst[r*cols : (r+1)*cols]
	if o == opSoftmax {
		c := E(1 / sum)
		hot := -1
		if p.oneHot(sum) {
			hot = argmaxOf(out, E(p.emax))
		}
		par.For(cols, chunkCols, threads, func(_, lo, hi int) { k.Scale(out[lo:hi], out[lo:hi], c) })
		if hot >= 0 {
			out[hot] = 1
		}
		return
	}
	c := E(p.logSum(sum))
	par.For(cols, chunkCols, threads, func(_, lo, hi int) { k.ShiftScale(out[lo:hi], row[lo:hi], m, s, c) })
}

// argmaxOf returns the first index of m in x (0 if absent).
func argmaxOf[E exact](x []E, m E) int {
	for j, v := range x {
		if v == m {
			return j
		}
	}
	return 0
}
