package softmax

import (
	"math"

	"github.com/xentlab/xent/internal/par"
	"github.com/xentlab/xent/internal/vek"
)

type exact interface{ float32 | float64 }

// kernels is the set of vector kernels one element type needs.
// The exp kernels take the next row's piece to prefetch while they
// compute (the float64 ones ignore it).
type kernels[E exact] struct {
	maxNaN      func([]E) (E, bool)
	expSum      func(x []E, m, s E, next []E) float64
	expStoreSum func(dst, x []E, m, s E, next []E) float64
	scale       func(dst, x []E, c E)
	shiftScale  func(dst, x []E, m, s, c E)
}

var (
	k32 = &kernels[float32]{vek.MaxNaN32, vek.ExpSumNext32, vek.ExpStoreSumNext32, vek.Scale32, vek.ShiftScale32}
	k64 = &kernels[float64]{vek.MaxNaN64,
		func(x []float64, m, s float64, _ []float64) float64 { return vek.ExpSum64(x, m, s) },
		func(dst, x []float64, m, s float64, _ []float64) float64 { return vek.ExpStoreSum64(dst, x, m, s) },
		vek.Scale64, vek.ShiftScale64}
)

// nextPiece returns columns [c, e) of the row after r, or nil.
func nextPiece[E exact](x []E, r, cols, c, e int) []E {
	if (r+2)*cols > len(x) {
		return nil
	}
	return x[(r+1)*cols+c : (r+1)*cols+e]
}

const (
	// chunkCols is the fixed piece a row's sum is accumulated in: the row
	// sum is the in-order float64 sum of the chunk sums, on every path.
	chunkCols = 16384
	// splitCols is the row length from which a row is split across
	// threads when there are fewer rows than threads.
	splitCols = 65536
	// blockElems is about how many elements one parallel block of rows
	// holds.
	blockElems = 32768
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
			m, nan := k.maxNaN(row)
			kind := classify(m, nan)
			var sum float64
			if kind == rowFinite {
				if o == opSoftmax {
					out := dst[r*cols : (r+1)*cols]
					for c := 0; c < cols; c += chunkCols {
						e := min(cols, c+chunkCols)
						sum += k.expStoreSum(out[c:e], row[c:e], m, s, nextPiece(x, r, cols, c, e))
					}
				} else {
					for c := 0; c < cols; c += chunkCols {
						e := min(cols, c+chunkCols)
						sum += k.expSum(row[c:e], m, s, nextPiece(x, r, cols, c, e))
					}
				}
			}
			finish(k, o, dst, row, r, cols, kind, m, s, sum)
		}
	})
}

// finish writes row r's output from its max and sum. For opSoftmax with a
// finite row, dst already holds exp(s·(x−m)).
func finish[E exact](k *kernels[E], o op, dst, row []E, r, cols int, kind rowKind, m, s E, sum float64) {
	switch o {
	case opLogSumExp:
		dst[r] = E(lse(kind, m, s, sum))
	case opSoftmax:
		out := dst[r*cols : (r+1)*cols]
		switch kind {
		case rowFinite:
			k.scale(out, out, E(1/sum))
		case rowMasked:
			fill(out, 0)
		default:
			fill(out, E(math.NaN()))
		}
	case opLogSoftmax:
		out := dst[r*cols : (r+1)*cols]
		switch kind {
		case rowFinite:
			k.shiftScale(out, row, m, s, E(math.Log(sum)))
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
		maxes[b], nans[b] = k.maxNaN(row[lo:hi])
	})
	m, nan := maxes[0], nans[0]
	for b := 1; b < nc; b++ {
		m = max(m, maxes[b])
		nan = nan || nans[b]
	}
	kind := classify(m, nan)
	var sum float64
	if kind == rowFinite {
		sums := make([]float64, nc)
		if o == opSoftmax {
			out := dst[r*cols : (r+1)*cols]
			par.For(cols, chunkCols, threads, func(b, lo, hi int) {
				sums[b] = k.expStoreSum(out[lo:hi], row[lo:hi], m, s, nil)
			})
		} else {
			par.For(cols, chunkCols, threads, func(b, lo, hi int) {
				sums[b] = k.expSum(row[lo:hi], m, s, nil)
			})
		}
		for _, v := range sums {
			sum += v
		}
	}
	if o == opLogSumExp || kind != rowFinite {
		finish(k, o, dst, row, r, cols, kind, m, s, sum)
		return
	}
	out := dst[r*cols : (r+1)*cols]
	if o == opSoftmax {
		c := E(1 / sum)
		par.For(cols, chunkCols, threads, func(_, lo, hi int) { k.scale(out[lo:hi], out[lo:hi], c) })
		return
	}
	c := E(math.Log(sum))
	par.For(cols, chunkCols, threads, func(_, lo, hi int) { k.shiftScale(out[lo:hi], row[lo:hi], m, s, c) })
}
