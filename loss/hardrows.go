package loss

import (
	"math"

	"github.com/xentlab/xent/internal/par"
	"github.com/xentlab/xent/internal/rowstat"
)

// This file holds the machinery shared by the catalog losses that read
// logits and one hard label per row (comp-sum, focal, poly1, nce-rce,
// ldr-kl, the hinge losses, ...): validation of the inputs, the reduction,
// ignored rows, class and row weights, and the deterministic parallel loop.
// Each loss supplies the value and gradient of one unweighted row.

// hardCfg describes how a hard-label loss reads its inputs.
type hardCfg struct {
	name string
	o    Options
	// classes is the number of valid labels (0: Cols).
	classes int
	// masks allows −Inf logits off the target column (probability 0).
	masks bool
	// infinities lets ±Inf logits through to the row function, which
	// decides (only NaN is rejected by the driver).
	infinities bool
	// teacher: the loss reads Input.Teacher (the shape of the logits).
	teacher bool
	// rowTargets: the loss may read Input.Targets as one value per row.
	rowTargets bool
	// columnWeights: the class weights are one weight per column that the
	// loss applies itself (ordinal's importance weights); the driver does
	// not scale rows by them.
	columnWeights bool
}

// hardRowFn evaluates one counted row: x the logits, m their maximum (a
// finite number unless cfg.infinities), y the label. It returns the row's
// unweighted loss ℓ and, when g is not nil, writes gs·∂ℓ/∂x into g (g may
// be x itself: read everything needed from x before writing).
type hardRowFn[E exact] func(i int, x []E, m E, y int, g []E, gs float64) (float64, error)

// buildHard applies opts and rejects the options a hard-label catalog
// loss does not use.
func buildHard(name string, opts []Option, classWeights bool) (Options, error) {
	o, err := build(name, opts)
	if err != nil {
		return o, err
	}
	if o.ClassWeights != nil && !classWeights {
		return o, valueErr(name, "class weights do not apply")
	}
	return o, nil
}

// evalHardRows runs a hard-label loss: it validates the inputs, computes
// the reduction's denominator (Σ r_i·w_{y_i} over the counted rows for
// Mean), and calls row for every counted row in fixed parallel blocks.
// Row i's loss is r_i·w_{y_i}·ℓ_i; its gradient is scaled the same way
// (and by 1/denominator for Mean). Ignored rows get loss 0 and gradient 0.
func evalHardRows[E exact](cfg hardCfg, in Input[E], out Output[E], newRow func() hardRowFn[E]) (float64, error) {
	name, o := cfg.name, cfg.o
	rows, err := checkMatrix(name, in, out, o.Reduction)
	if err != nil {
		return 0, err
	}
	cols := in.Cols
	classes := cfg.classes
	if classes == 0 {
		classes = cols
	}
	switch {
	case out.LSE != nil:
		return 0, shapeErr(name, "Output.LSE is not computed by this loss")
	case in.Teacher != nil && !cfg.teacher:
		return 0, shapeErr(name, "Teacher is not used by this loss")
	case cfg.teacher && len(in.Teacher) != len(in.Logits):
		return 0, shapeErr(name, "len(Teacher) = %d, want %d (the shape of Logits)", len(in.Teacher), len(in.Logits))
	case in.Targets != nil && !cfg.rowTargets:
		return 0, shapeErr(name, "Targets are not used by this loss (it takes hard labels)")
	case in.Targets != nil && len(in.Targets) != rows:
		return 0, shapeErr(name, "len(Targets) = %d, want %d (one value per row)", len(in.Targets), rows)
	case o.ClassWeights != nil && !cfg.columnWeights && len(o.ClassWeights) != classes:
		return 0, shapeErr(name, "%d class weights for %d classes", len(o.ClassWeights), classes)
	case o.ClassWeights != nil && cfg.columnWeights && len(o.ClassWeights) != cols:
		return 0, shapeErr(name, "%d weights for %d columns", len(o.ClassWeights), cols)
	}
	cw := func(y int) float64 {
		if cfg.columnWeights {
			return 1
		}
		return classWeight(o, y)
	}
	if err := checkLabels(name, in, rows); err != nil {
		return 0, err
	}
	var den float64
	for i := 0; i < rows; i++ {
		y := labelAt(in, i)
		if y == o.IgnoreIndex {
			continue
		}
		if y < 0 || y >= int64(classes) {
			return 0, valueErr(name, "label %d at row %d outside [0, %d)", y, i, classes)
		}
		den += rowWeight(in, i) * cw(int(y))
	}
	sc := 1.0
	if o.Reduction == Mean {
		sc = 0
		if den > 0 {
			sc = 1 / den
		}
	}
	grain := max(1, blockElems/cols)
	total, err := sumBlocks(rows, grain, par.Threads(o.Threads), func(lo, hi int) (float64, error) {
		var part float64
		row := newRow()
		for i := lo; i < hi; i++ {
			x := in.Logits[i*cols : (i+1)*cols]
			var g []E
			if out.Grad != nil {
				g = out.Grad[i*cols : (i+1)*cols]
			}
			y := labelAt(in, i)
			if y == o.IgnoreIndex {
				if g != nil {
					clear(g)
				}
				if out.Rows != nil {
					out.Rows[i] = 0
				}
				continue
			}
			m, err := hardRowMax(cfg, i, x, int(y))
			if err != nil {
				return 0, err
			}
			w := rowWeight(in, i) * cw(int(y))
			l, err := row(i, x, m, int(y), g, sc*w)
			if err != nil {
				return 0, err
			}
			if j, bad := firstInfNaN(g); bad {
				return 0, valueErr(name, "the gradient overflows at row %d, column %d", i, j)
			}
			l *= w
			if f := float64(E(l)); math.IsInf(f, 0) || math.IsNaN(f) {
				return 0, valueErr(name, "the loss overflows at row %d (%g)", i, l)
			}
			if out.Rows != nil {
				out.Rows[i] = E(l)
			}
			part += l
		}
		return part, nil
	})
	return finiteTotal(name, total, sc, err)
}

// finiteTotal returns the reduced loss total·sc of finite row losses, or
// an error when their sum overflows (every row finite, the sum not).
func finiteTotal(name string, total, sc float64, err error) (float64, error) {
	if err != nil {
		return 0, err
	}
	v := total * sc
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, valueErr(name, "the loss overflows: the rows sum to %v", total)
	}
	return v, nil
}

// firstInfNaN returns the first index of a NaN or ±Inf in g. The SIMD sum
// decides first: a float64 sum of finite entries is finite (for float64
// entries near the overflow threshold it may not be, and the scan then
// finds nothing), so only a row with a non-finite sum is scanned.
func firstInfNaN[E exact](g []E) (int, bool) {
	if s := rowstat.For[E]().Sum(g); !math.IsNaN(s) && !math.IsInf(s, 0) {
		return 0, false
	}
	for j, v := range g {
		if v != v || math.IsInf(float64(v), 0) {
			return j, true
		}
	}
	return 0, false
}

// hardRowMax checks row i's logits as cfg says and returns their maximum.
// For losses that take masks, the SIMD max decides, and only a row with a
// NaN or +Inf is scanned again to name the column.
func hardRowMax[E exact](cfg hardCfg, i int, x []E, y int) (E, error) {
	if cfg.masks && !cfg.infinities {
		m, nan := rowstat.For[E]().MaxNaN(x)
		if !nan && !math.IsInf(float64(m), 1) {
			if math.IsInf(float64(x[y]), -1) {
				return 0, valueErr(cfg.name, "the target logit is −Inf at row %d, column %d (a masked target has infinite loss)", i, y)
			}
			return m, nil
		}
	}
	m := E(math.Inf(-1))
	for j, v := range x {
		switch {
		case v != v:
			return 0, valueErr(cfg.name, "logit NaN at row %d, column %d", i, j)
		case cfg.infinities:
		case math.IsInf(float64(v), 1):
			return 0, valueErr(cfg.name, "logit +Inf at row %d, column %d", i, j)
		case math.IsInf(float64(v), -1):
			if !cfg.masks {
				return 0, valueErr(cfg.name, "logit −Inf at row %d, column %d (this loss takes no masks)", i, j)
			}
			if j == y {
				return 0, valueErr(cfg.name, "the target logit is −Inf at row %d, column %d (a masked target has infinite loss)", i, j)
			}
		}
		m = max(m, v)
	}
	return m, nil
}

// tailStats is the softmax reduction of a row z at scale s (softmax of
// s·z) with maximum m: S = Σ_j exp(s(z_j − m)) and the tail
// T = S − 1 = Σ over all but one maximal entry, to full relative
// precision (no Softmax Collapse).
type tailStats struct {
	s, t float64
}

// scaledTail computes the row's tailStats; z must have a finite maximum m
// and no NaN.
func scaledTail[E exact](k *kernels[E], z []E, m E, s float64) tailStats {
	_, t, _ := k.Tail(z, m, E(s))
	return tailStats{s: 1 + t, t: t}
}

// targetTerms returns, for the target y of a row with tail statistics st
// at scale s, a = −log p_y and q = 1 − p_y, both to full relative
// precision (q from the tail when y holds the maximum, so that a
// confident row keeps q ≈ 1e-30 instead of 0).
func targetTerms[E exact](z []E, m E, y int, s float64, st tailStats) (a, q float64) {
	logS := math.Log1p(st.t)
	if z[y] == m {
		return logS, st.t / st.s
	}
	a = s*(float64(m)-float64(z[y])) + logS
	return a, -math.Expm1(-a)
}

// writeCEShape sets g = c·(p − e_y) with p = softmax(s·z), given the
// row's statistics and q = 1 − p_y; g may be z.
func writeCEShape[E exact](k *kernels[E], g, z []E, m E, s float64, y int, st tailStats, q, c float64) {
	k.ExpAffine(g, z, m, E(s), E(c/st.s), 0)
	g[y] = E(-c * q)
}

// expTail replaces the scores v (held in e, float64, no NaN, a finite
// maximum) by e_j = exp(v_j − m) and returns the maximum m and the
// statistics S = Σ e_j, T = S − 1 summed without the first maximal entry
// (to full relative precision).
func expTail(e []float64) (m float64, st tailStats) {
	m = math.Inf(-1)
	arg := 0
	for j, v := range e {
		if v > m {
			m, arg = v, j
		}
	}
	var t float64
	for j, v := range e {
		e[j] = math.Exp(v - m)
		if j != arg {
			t += e[j]
		}
	}
	return m, tailStats{s: 1 + t, t: t}
}

// targetTerms64 is targetTerms for float64 scores: vy the target's score,
// m the maximum. It returns a = −log p_y and q = 1 − p_y.
func targetTerms64(vy, m float64, st tailStats) (a, q float64) {
	logS := math.Log1p(st.t)
	if vy == m {
		return logS, st.t / st.s
	}
	a = (m - vy) + logS
	return a, -math.Expm1(-a)
}
