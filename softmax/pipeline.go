package softmax

import (
	"github.com/xentlab/xent/internal/par"
	"github.com/xentlab/xent/internal/rowpipe"
	"github.com/xentlab/xent/internal/vek"
)

// pipeline32 applies o (T = 1) to every row of x through the row pipeline
// of internal/rowpipe, in parallel blocks of rows. Each row gets the bits
// of the one-row path (oneRow).
func pipeline32(o op, dst, x []float32, cols, threads int) {
	rows := len(x) / cols
	nt := o != opLogSumExp && !shares(dst, x) && rowpipe.UseNT(4*len(x), threads)
	grain := max(1, blockElems/cols)
	if rows >= 64 {
		// Long runs of rows keep the pipeline full; the blocks stay fixed
		// whatever the thread count.
		grain = max(grain, (rows+63)/64)
	}
	// Softmax keeps a row's exponentials in its output row, rescaled in
	// place one step later, when that row is neither the input nor written
	// with non-temporal stores: the pipeline's working set is then four
	// rows, as for log-softmax, instead of five with a scratch row.
	eInDst := o == opSoftmax && !nt && !shares(dst, x)
	par.For(rows, grain, threads, func(_, lo, hi int) {
		rowpipe.Run(x, cols, lo, hi, &pipeRows{o: o, dst: dst, cols: cols, eInDst: eInDst}, nt)
	})
}

// pipeRows is the softmax family's rowpipe.Handler.
type pipeRows struct {
	o    op
	dst  []float32
	cols int
	// eInDst stores a softmax row's exponentials in its output row.
	eInDst bool
	p      rowPlan[float32] // the plan of the row between Plan and Finish
}

func (h *pipeRows) Plan(r rowpipe.Row) rowpipe.Plan {
	h.p = planRow(k32, r.Max, r.NaN, 1)
	pl := rowpipe.Plan{Fast: h.p.fast, C: h.p.c, Store: h.o == opSoftmax}
	if h.eInDst {
		pl.E = h.dst[r.R*h.cols : (r.R+1)*h.cols]
	}
	return pl
}

func (h *pipeRows) Finish(r rowpipe.Row, sum float64) rowpipe.Out {
	p, cols := h.p, h.cols
	if !p.fast {
		// Special rows and maxima without a shift: the one-row path.
		oneRow(k32, h.o, h.dst, r.X, r.R, cols, r.Max, r.NaN, 1)
		return rowpipe.Out{}
	}
	if h.o == opLogSumExp {
		h.dst[r.R] = float32(p.lse(sum))
		return rowpipe.Out{}
	}
	out := h.dst[r.R*cols : (r.R+1)*cols]
	if h.o == opSoftmax {
		o := rowpipe.Out{Dst: out, Src: r.E, A: float32(1 / sum), Mode: vek.StepScale}
		if p.oneHot(sum) {
			o.Set, o.SetAt, o.SetVal = true, argmaxOf(r.X, r.Max), 1
		}
		return o
	}
	return rowpipe.Out{Dst: out, Src: r.X, A: r.Max, B: float32(p.logSum(sum)), Mode: vek.StepShift}
}
