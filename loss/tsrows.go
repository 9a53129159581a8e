package loss

import (
	"math"

	"github.com/xentlab/xent/internal/par"
)

// This file holds the machinery shared by the distillation losses that
// compare a student's logits (Input.Logits) with a teacher's
// (Input.Teacher) row by row — sce, nkd, kl-top, binary-kl, gpg,
// listwise, jsd, tvd, reverse-kl: validation of the inputs, ignored rows,
// row weights, the reduction and the deterministic parallel loop. Each
// loss supplies the value and gradient of one unweighted row, computed in
// float64 whatever the element type.

// tsrCfg describes how a teacher–student loss reads its inputs.
type tsrCfg struct {
	name string
	o    Options
	// labels: the loss also reads one label per row (Labels or Labels64);
	// rows whose label is the ignore index are skipped and not counted.
	labels bool
	// targets: Input.Targets (soft targets, the shape of the logits) may
	// stand in for Input.Teacher.
	targets bool
	// dists: each row is a softmax distribution, so an all −Inf student
	// or teacher row (no distribution) is an error.
	dists bool
}

// tsrRow is one row handed to a loss, with per-block scratch that
// persists from row to row.
type tsrRow struct {
	i    int       // row index (for error messages)
	y    int       // the row's label, or −1 without labels
	s, t []float64 // student logits; teacher logits (or soft targets when soft)
	soft bool      // t holds soft targets
	// g receives ∂ℓ/∂s of the unweighted row loss ℓ; nil when no
	// gradient is wanted.
	g []float64
	// a, b, c, d are scratch rows of Cols elements; ints is free for the
	// loss to size.
	a, b, c, d []float64
	ints       []int
}

// tsrFunc evaluates one counted row and returns its unweighted loss.
type tsrFunc func(r *tsrRow) (float64, error)

// tsrBuild applies opts and rejects the settings that do not apply to a
// teacher–student loss (reduction, ignore index and threads do).
func tsrBuild(name string, opts []Option) (Options, error) {
	o, err := build(name, opts)
	if err != nil {
		return o, err
	}
	if o.ClassWeights != nil {
		return o, valueErr(name, "class weights do not apply")
	}
	return o, nil
}

// tsrEval runs a teacher–student loss: it validates the inputs, computes
// the reduction's denominator (Σ r_i over the counted rows for Mean, so
// that Mean is PyTorch's "batchmean"), and calls row for every counted
// row in fixed parallel blocks. Row i's loss is r_i·ℓ_i and its gradient
// r_i·∂ℓ_i/∂s (divided by the denominator for Mean). Ignored rows get loss
// 0 and gradient 0. NaN and +Inf logits (student or teacher) and
// non-finite or negative soft targets are errors; −Inf logits reach the
// row function, which decides.
func tsrEval[E exact](c tsrCfg, in Input[E], out Output[E], row tsrFunc) (float64, error) {
	name := c.name
	rows, err := checkMatrix(name, in, out, c.o.Reduction)
	if err != nil {
		return 0, err
	}
	cols := in.Cols
	soft := false
	switch {
	case out.LSE != nil:
		return 0, shapeErr(name, "Output.LSE is not computed by this loss")
	case in.Teacher != nil && in.Targets != nil:
		return 0, shapeErr(name, "both Teacher and soft Targets are set")
	case in.Teacher != nil:
		if len(in.Teacher) != len(in.Logits) {
			return 0, shapeErr(name, "len(Teacher) = %d, want %d (the shape of Logits)", len(in.Teacher), len(in.Logits))
		}
	case in.Targets != nil && c.targets:
		if len(in.Targets) != len(in.Logits) {
			return 0, shapeErr(name, "len(Targets) = %d, want %d (the shape of Logits)", len(in.Targets), len(in.Logits))
		}
		soft = true
	case in.Targets != nil:
		return 0, shapeErr(name, "takes Teacher logits, not soft Targets")
	case c.targets:
		return 0, shapeErr(name, "no Teacher logits (or soft Targets)")
	default:
		return 0, shapeErr(name, "no Teacher logits")
	}
	if c.labels {
		if err := checkLabels(name, in, rows); err != nil {
			return 0, err
		}
	} else if in.Labels != nil || in.Labels64 != nil {
		return 0, shapeErr(name, "labels are not used by this loss")
	}

	// Validate the labels and find the mean's denominator before any work.
	var den float64
	for i := 0; i < rows; i++ {
		if c.labels {
			y := labelAt(in, i)
			if y == c.o.IgnoreIndex {
				continue
			}
			if y < 0 || y >= int64(cols) {
				return 0, valueErr(name, "label %d at row %d outside [0, %d)", y, i, cols)
			}
		}
		den += rowWeight(in, i)
	}
	sc := 1.0
	if c.o.Reduction == Mean {
		sc = 0
		if den > 0 {
			sc = 1 / den
		}
	}

	grain := max(1, blockElems/cols)
	total, err := sumBlocks(rows, grain, par.Threads(c.o.Threads), func(lo, hi int) (float64, error) {
		return tsrBlock(c, in, out, row, soft, sc, lo, hi)
	})
	return finiteTotal(name, total, sc, err)
}

// tsrBlock evaluates rows [lo, hi) and returns their summed weighted loss.
func tsrBlock[E exact](c tsrCfg, in Input[E], out Output[E], row tsrFunc, soft bool, sc float64, lo, hi int) (float64, error) {
	name, cols := c.name, in.Cols
	buf := make([]float64, 7*cols)
	r := tsrRow{
		s: buf[:cols], t: buf[cols : 2*cols],
		a: buf[2*cols : 3*cols], b: buf[3*cols : 4*cols], c: buf[4*cols : 5*cols], d: buf[5*cols : 6*cols],
		soft: soft,
	}
	gbuf := buf[6*cols:]
	var total float64
	for i := lo; i < hi; i++ {
		var g []E
		if out.Grad != nil {
			g = out.Grad[i*cols : (i+1)*cols]
		}
		r.i, r.y = i, -1
		if c.labels {
			y := labelAt(in, i)
			if y == c.o.IgnoreIndex {
				clear(g)
				if out.Rows != nil {
					out.Rows[i] = 0
				}
				continue
			}
			r.y = int(y)
		}
		x := in.Logits[i*cols : (i+1)*cols]
		for j, v := range x {
			f := float64(v)
			if f != f || math.IsInf(f, 1) {
				return 0, valueErr(name, "student logit %v at row %d, column %d", v, i, j)
			}
			r.s[j] = f
		}
		if soft {
			for j, v := range in.Targets[i*cols : (i+1)*cols] {
				f := float64(v)
				if !(f >= 0) || math.IsInf(f, 1) {
					return 0, valueErr(name, "soft target %v at row %d, column %d (want a finite number ≥ 0)", v, i, j)
				}
				r.t[j] = f
			}
		} else {
			for j, v := range in.Teacher[i*cols : (i+1)*cols] {
				f := float64(v)
				if f != f || math.IsInf(f, 1) {
					return 0, valueErr(name, "teacher logit %v at row %d, column %d", v, i, j)
				}
				r.t[j] = f
			}
		}
		if c.dists {
			if allNegInf(r.s) {
				return 0, valueErr(name, "student row %d is entirely −Inf (no distribution)", i)
			}
			if !soft && allNegInf(r.t) {
				return 0, valueErr(name, "teacher row %d is entirely −Inf (no distribution)", i)
			}
		}
		r.g = nil
		if g != nil {
			r.g = gbuf
		}
		l, err := row(&r)
		if err != nil {
			return 0, err
		}
		w := rowWeight(in, i)
		lw := w * l
		if math.IsNaN(lw) || math.IsInf(float64(E(lw)), 0) {
			return 0, valueErr(name, "the loss overflows at row %d", i)
		}
		if out.Rows != nil {
			out.Rows[i] = E(lw)
		}
		total += lw
		if g != nil {
			k := sc * w
			for j, v := range gbuf {
				e := E(k * v)
				if e != e || math.IsInf(float64(e), 0) {
					return 0, valueErr(name, "the gradient overflows at row %d, column %d", i, j)
				}
				g[j] = e
			}
		}
	}
	return total, nil
}

// tsrLogSoftmax writes log softmax(x/t) into dst; −Inf entries stay −Inf
// (x must have a finite maximum, which the driver guarantees for rows
// that are distributions).
func tsrLogSoftmax(dst, x []float64, t float64) {
	m := math.Inf(-1)
	for _, v := range x {
		m = max(m, v)
	}
	var s float64
	for j, v := range x {
		dst[j] = (v - m) / t
		s += math.Exp(dst[j])
	}
	ls := math.Log(s)
	for j := range dst {
		dst[j] -= ls
	}
}
