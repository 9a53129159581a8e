package loss

import (
	"math"

	"github.com/xentlab/xent/internal/par"
)

// This file holds the driver shared by the losses that score every logit
// on its own against a target of the same shape (sigmoid-focal, the
// binary margin losses, kl-div): validation, class weights (one per
// column, PyTorch's weight), row weights, the reduction and the
// deterministic parallel loop. Each loss supplies one element's value and
// derivative, computed in float64.

// elemCfg describes how an elementwise loss reads its inputs.
type elemCfg struct {
	name string
	o    Options
	// domain says what a target must be, for the error about one that
	// is not.
	domain string
	// perRow: Mean divides by the number of rows (PyTorch's batchmean),
	// not by the number of elements.
	perRow bool
	// negInf lets −Inf logits reach the element function (kl-div's
	// log-probabilities); otherwise every logit must be finite.
	negInf bool
}

// elemFn returns one element's unweighted loss and its derivative with
// respect to the logit x; ok is false when the target y (or the pair) is
// outside the loss's domain.
type elemFn func(x, y float64) (l, g float64, ok bool)

// buildElem applies opts and rejects the settings an elementwise loss
// does not use (class weights, reduction, threads apply).
func buildElem(name string, opts []Option) (Options, error) {
	o, err := build(name, opts)
	if err != nil {
		return o, err
	}
	if o.IgnoreIndex != -100 {
		return o, valueErr(name, "the ignore index does not apply (targets are per element)")
	}
	return o, nil
}

// evalElementwise runs an elementwise loss: element (i, j) counts
// r_i·w_j·ℓ(x_ij, y_ij); Mean divides the sum by the number of elements
// (or of rows with perRow), Sum adds, None also adds and writes each
// row's sum to Output.Rows. The gradient is that of the returned value.
func evalElementwise[E exact](c elemCfg, in Input[E], out Output[E], f elemFn) (float64, error) {
	name := c.name
	rows, err := checkMatrix(name, in, out, c.o.Reduction)
	if err != nil {
		return 0, err
	}
	cols := in.Cols
	switch {
	case out.LSE != nil:
		return 0, shapeErr(name, "Output.LSE is not computed by this loss")
	case in.Labels != nil || in.Labels64 != nil || in.Teacher != nil:
		return 0, shapeErr(name, "takes Targets the shape of Logits (no labels, no teacher)")
	case len(in.Targets) != len(in.Logits):
		return 0, shapeErr(name, "len(Targets) = %d, want %d (the shape of Logits)", len(in.Targets), len(in.Logits))
	case c.o.ClassWeights != nil && len(c.o.ClassWeights) != cols:
		return 0, shapeErr(name, "%d class weights for %d columns", len(c.o.ClassWeights), cols)
	}
	sc := 1.0
	if c.o.Reduction == Mean {
		n := len(in.Logits)
		if c.perRow {
			n = rows
		}
		if n > 0 {
			sc = 1 / float64(n)
		}
	}
	grain := max(1, blockElems/cols)
	total, err := sumBlocks(rows, grain, par.Threads(c.o.Threads), func(lo, hi int) (float64, error) {
		var part float64
		for i := lo; i < hi; i++ {
			r := rowWeight(in, i)
			var rowSum float64
			for j := 0; j < cols; j++ {
				x, y := float64(in.Logits[i*cols+j]), float64(in.Targets[i*cols+j])
				switch {
				case x != x || y != y:
					return 0, valueErr(name, "NaN at row %d, column %d (logit %v, target %v)", i, j, x, y)
				case math.IsInf(x, 1) || math.IsInf(x, -1) && !c.negInf:
					return 0, valueErr(name, "logit %v at row %d, column %d (this loss needs finite logits)", x, i, j)
				}
				l, g, ok := f(x, y)
				if !ok {
					return 0, valueErr(name, "target %v with logit %v at row %d, column %d (%s)", y, x, i, j, c.domain)
				}
				w := r
				if c.o.ClassWeights != nil {
					w *= c.o.ClassWeights[j]
				}
				if w == 0 {
					l, g = 0, 0
				}
				if math.IsInf(float64(E(w*l)), 0) || math.IsNaN(l) {
					return 0, valueErr(name, "the loss overflows at row %d, column %d (logit %v, target %v)", i, j, x, y)
				}
				rowSum += w * l
				if out.Grad != nil {
					ge := E(sc * w * g)
					if math.IsInf(float64(ge), 0) || ge != ge {
						return 0, valueErr(name, "the gradient overflows at row %d, column %d", i, j)
					}
					out.Grad[i*cols+j] = ge
				}
			}
			if f := float64(E(rowSum)); math.IsInf(f, 0) || math.IsNaN(f) {
				return 0, valueErr(name, "the loss overflows at row %d (the row sums to %v)", i, rowSum)
			}
			if out.Rows != nil {
				out.Rows[i] = E(rowSum)
			}
			part += rowSum
		}
		return part, nil
	})
	return finiteTotal(name, total, sc, err)
}

// signedTarget reads a binary target of the margin losses: 1 is the
// positive class, 0 and −1 the negative one.
func signedTarget(y float64) (s float64, ok bool) {
	switch y {
	case 1:
		return 1, true
	case 0, -1:
		return -1, true
	}
	return 0, false
}
