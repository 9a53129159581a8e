package loss

import (
	"math"

	"github.com/xentlab/xent/internal/rowpipe"
	"github.com/xentlab/xent/internal/rowstat"
	"github.com/xentlab/xent/internal/vek"
)

// The float32 cross-entropy against hard labels (no soft-capping, no
// class weights) streams its rows through the row pipeline of
// internal/rowpipe: one read of the logits from memory, one exponential
// per logit, kept in the row's gradient (or, when the gradient is the
// logits or is written with non-temporal stores, in a per-thread scratch
// row), and the gradient written as (a·e) − b in the same loop that reads
// a later row. Rows whose maximum has no exact shift (vek.Shift32),
// ignored rows and rows with errors take the one-row path (ceCall.row).
//
// The exponentials are e_j = exp(z_j − c) for the row's shift c, so the
// maximum's own term is emax = exp(m − c) rather than 1: the sum relative
// to the maximum is S = Σe/emax, its tail T = S − 1, recomputed from the
// exponentials without the maximum's term when it is small (no Softmax
// Collapse), as on the one-row path.

// ceFast reports whether a call can take the pipeline.
func ceFast[E exact](o CrossEntropyOptions, in Input[E]) bool {
	var z E
	_, f32 := any(z).(float32)
	return f32 && in.Targets == nil && o.SoftCap == 0 && o.ClassWeights == nil
}

// cePipe is the cross-entropy's rowpipe.Handler for rows [lo, hi).
type cePipe struct {
	c     *ceCall[float32]
	total float64
	err   error
	// eInGrad keeps a row's exponentials in its gradient row (turned into
	// the gradient in place one step later) instead of a scratch row.
	eInGrad bool
	// The current row's plan (between Plan and Finish).
	skip, ignored, fast bool
	shift               float32
	emax                float64
}

func (h *cePipe) Plan(r rowpipe.Row) rowpipe.Plan {
	c := h.c
	h.skip, h.ignored, h.fast = h.err != nil, false, false
	if h.skip {
		return rowpipe.Plan{}
	}
	if labelAt(c.in, r.R) == c.o.IgnoreIndex {
		h.ignored = true
		return rowpipe.Plan{}
	}
	if r.NaN || math.IsInf(float64(r.Max), 0) {
		return rowpipe.Plan{} // the one-row path reports it
	}
	h.shift, h.fast = vek.Shift32(r.Max)
	if !h.fast {
		return rowpipe.Plan{}
	}
	h.emax = float64(vek.ExpShiftOne32(r.Max - h.shift))
	pl := rowpipe.Plan{Fast: true, C: h.shift, Store: c.out.Grad != nil}
	if h.eInGrad {
		pl.E = c.out.Grad[r.R*c.cols : (r.R+1)*c.cols]
	}
	return pl
}

func (h *cePipe) Finish(r rowpipe.Row, sum float64) rowpipe.Out {
	c, i, x := h.c, r.R, r.X
	cols := c.cols
	if h.skip {
		return rowpipe.Out{}
	}
	var g []float32
	if c.out.Grad != nil {
		g = c.out.Grad[i*cols : (i+1)*cols]
	}
	if h.ignored {
		if c.out.LSE != nil {
			c.out.LSE[i] = float32(c.plainLSE(x, nil, nil))
		}
		if g != nil {
			clear(g)
		}
		if c.out.Rows != nil {
			c.out.Rows[i] = 0
		}
		return rowpipe.Out{}
	}
	if !h.fast {
		l, lse, err := c.row(i, x, x, g, nil)
		h.record(i, l, lse, err)
		return rowpipe.Out{}
	}
	o := c.o
	m := r.Max
	rw := rowWeight(c.in, i)
	eps := o.LabelSmoothing
	C := float64(cols)
	var sumWZ float64
	if eps > 0 {
		sumWZ = vek.Sum32(x)
		if math.IsInf(sumWZ, -1) {
			h.record(i, 0, 0, valueErr(nameCrossEntropy, "a −Inf logit at row %d, column %d with label smoothing (every class gets target mass)", i, firstNegInf(x)))
			return rowpipe.Out{}
		}
	}
	y := int(labelAt(c.in, i))
	zy := float64(x[y])
	if math.IsInf(zy, -1) {
		h.record(i, 0, 0, valueErr(nameCrossEntropy, "the target logit is −Inf at row %d, column %d (a masked target has infinite loss)", i, y))
		return rowpipe.Out{}
	}
	// S and T relative to the maximum's term.
	s := sum / h.emax
	t := s - 1
	if t < rowstat.TailThreshold {
		a := rowstat.ArgmaxOf(x, m)
		var tail float64
		if r.E != nil {
			tail = k32.SumExcept(r.E, a)
		} else {
			tail = vek.ExpShiftSum32(x[:a], h.shift) + vek.ExpShiftSum32(x[a+1:], h.shift)
		}
		t = tail / h.emax
		s = 1 + t
	}
	logS := math.Log1p(t)
	lse := float64(m) + logS
	wy := 1.0
	ce := (1 - eps) * wy * ((float64(m) - zy) + logS)
	if eps > 0 {
		ce += eps / C * (c.wsum*(float64(m)+logS) - sumWZ)
	}
	loss := rw * (ce + o.ZLoss*lse*lse)
	A := (1-eps)*wy + eps/C*c.wsum
	coefA := c.sc * rw * (A + 2*o.ZLoss*lse)
	if err := overflow[float32](i, loss, coefA, lse); err != nil {
		h.record(i, 0, 0, err)
		return rowpipe.Out{}
	}
	h.record(i, loss, lse, nil)
	if g == nil {
		return rowpipe.Out{}
	}
	// g = kk·exp(z − m) − bb = (kk/emax)·e − bb, and the target's own
	// gradient apart.
	kk := coefA / s
	bb := c.sc * rw * eps / C
	ay := c.sc * rw * ((1-eps)*wy + eps/C*wy)
	var gy float64
	if zy == float64(m) {
		gy = -coefA*t/s + (coefA - ay)
	} else {
		gy = kk*(float64(r.E[y])/h.emax) - ay
	}
	return rowpipe.Out{Dst: g, Src: r.E, A: float32(kk / h.emax), B: float32(bb), Mode: vek.StepMulSub,
		Set: true, SetAt: y, SetVal: float32(gy)}
}

// record adds a row's loss (and its outputs), or keeps its error.
func (h *cePipe) record(i int, l, lse float64, err error) {
	if err != nil {
		if h.err == nil {
			h.err = err
		}
		return
	}
	if h.c.out.Rows != nil {
		h.c.out.Rows[i] = float32(l)
	}
	if h.c.out.LSE != nil {
		h.c.out.LSE[i] = float32(lse)
	}
	h.total += l
}
