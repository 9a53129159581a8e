package loss

import (
	"math"

	"github.com/xentlab/xent/internal/par"
)

// nameBce is the registry name of this file's loss.
const nameBce = "bce"

// BCEWithLogits is binary cross-entropy on logits, PyTorch's
// BCEWithLogitsLoss: every element is an independent binary problem with
// target y ∈ [0, 1] (Input.Targets, the shape of the logits),
//
//	ℓ_ij = r_i·w_j·[p_j·y·softplus(−x) + (1 − y)·softplus(x)]
//
// with pos_weight p (one per column, default 1), class weights w (one per
// column, PyTorch's weight; default 1) and row weights r. It is computed
// as softplus(x) = max(x, 0) + log1p(exp(−|x|)), exact for any logit. The
// gradient is r·w·[(1 − y)·σ(x) − p·y·σ(−x)].
//
// Mean divides by the number of elements (as PyTorch); Sum adds; None
// writes each row's sum over its columns to Output.Rows. Accuracy: about
// 1e-15 relative per element (float64 arithmetic), sums in float64.
//
// Errors: NaN logits, targets outside [0, 1], infinite logits whose loss
// would be infinite (+Inf with y < 1, −Inf with y > 0), and gradients that
// overflow the element type, named by row and column.
// The ignore index does not apply and is rejected when set.
type BCEWithLogits struct {
	o         Options
	posWeight []float64
}

// bceOptions holds BCE's settings: the shared Options and its own.
type bceOptions struct {
	Options
	posWeight []float64
}

// A BCEOption sets one of BCE's settings: any Option, or WithPosWeight,
// which applies to BCE only.
type BCEOption interface{ applyBCE(*bceOptions) }

func (f Option) applyBCE(o *bceOptions) { f(&o.Options) }

type bceOnly func(*bceOptions)

func (f bceOnly) applyBCE(o *bceOptions) { f(o) }

// WithPosWeight sets one positive-class weight per column (PyTorch's
// pos_weight; default 1).
func WithPosWeight(w []float64) BCEOption {
	return bceOnly(func(o *bceOptions) { o.posWeight = w })
}

// NewBCEWithLogits returns the loss; WithPosWeight sets one
// positive-class weight per column (default 1).
func NewBCEWithLogits(opts ...BCEOption) (*BCEWithLogits, error) {
	o := bceOptions{Options: Defaults()}
	for _, f := range opts {
		f.applyBCE(&o)
	}
	if err := o.check(nameBce); err != nil {
		return nil, err
	}
	for c, w := range o.posWeight {
		if !(w >= 0) || math.IsInf(w, 0) {
			return nil, valueErr(nameBce, "pos_weight %v at column %d, want a finite number ≥ 0", w, c)
		}
	}
	if o.IgnoreIndex != -100 {
		return nil, valueErr(nameBce, "the ignore index does not apply")
	}
	return &BCEWithLogits{o.Options, o.posWeight}, nil
}

// Name returns "bce".
func (*BCEWithLogits) Name() string { return nameBce }

// Eval32 evaluates the loss on float32 inputs.
func (b *BCEWithLogits) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return evalBCE(b, in, out)
}

// Eval64 evaluates the loss on float64 inputs.
func (b *BCEWithLogits) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return evalBCE(b, in, out)
}

// softplus returns log(1 + eˣ) without overflow or cancellation.
func softplus(x float64) float64 {
	return max(x, 0) + math.Log1p(math.Exp(-math.Abs(x)))
}

// sigmoid returns 1/(1 + e^−x) without overflow.
func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

func evalBCE[E exact](b *BCEWithLogits, in Input[E], out Output[E]) (float64, error) {
	const name = nameBce
	rows, err := checkMatrix(name, in, out, b.o.Reduction)
	if err != nil {
		return 0, err
	}
	cols := in.Cols
	switch {
	case in.Labels != nil || in.Labels64 != nil || in.Teacher != nil:
		return 0, shapeErr(name, "takes Targets only (no labels, no teacher)")
	case len(in.Targets) != len(in.Logits):
		return 0, shapeErr(name, "len(Targets) = %d, want %d (the shape of Logits)", len(in.Targets), len(in.Logits))
	case b.posWeight != nil && len(b.posWeight) != cols:
		return 0, shapeErr(name, "%d pos_weight values for %d columns", len(b.posWeight), cols)
	case b.o.ClassWeights != nil && len(b.o.ClassWeights) != cols:
		return 0, shapeErr(name, "%d class weights for %d columns", len(b.o.ClassWeights), cols)
	}
	sc := 1.0
	if b.o.Reduction == Mean && len(in.Logits) > 0 {
		sc = 1 / float64(len(in.Logits))
	}
	grain := max(1, blockElems/cols)
	total, err := sumBlocks(rows, grain, par.Threads(b.o.Threads), func(lo, hi int) (float64, error) {
		var part float64
		for i := lo; i < hi; i++ {
			r := rowWeight(in, i)
			var rowSum float64
			for j := 0; j < cols; j++ {
				x, y := float64(in.Logits[i*cols+j]), float64(in.Targets[i*cols+j])
				if math.IsNaN(x) || !(y >= 0 && y <= 1) ||
					math.IsInf(x, 1) && y < 1 || math.IsInf(x, -1) && y > 0 {
					return 0, valueErr(name, "logit %v with target %v at row %d, column %d (targets lie in [0, 1])", x, y, i, j)
				}
				p, w := 1.0, r
				if b.posWeight != nil {
					p = b.posWeight[j]
				}
				if b.o.ClassWeights != nil {
					w *= b.o.ClassWeights[j]
				}
				var l float64
				if y != 0 {
					l += p * y * softplus(-x)
				}
				if y != 1 {
					l += (1 - y) * softplus(x)
				}
				rowSum += w * l
				if out.Grad != nil {
					g := E(sc * w * ((1-y)*sigmoid(x) - p*y*sigmoid(-x)))
					if math.IsInf(float64(g), 0) {
						return 0, valueErr(name, "the gradient overflows at row %d, column %d", i, j)
					}
					out.Grad[i*cols+j] = g
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

func init() {
	Register(Spec{
		Name:    nameBce,
		Summary: "binary cross-entropy with logits, per element (pos_weight, class weights)",
		Needs:   NeedsTargets,
		New: func(_ map[string]float64, opts []Option) (Loss, error) {
			return NewBCEWithLogits(bceOpts(opts)...)
		},
	})
}

// bceOpts widens shared Options to BCE options.
func bceOpts(opts []Option) []BCEOption {
	out := make([]BCEOption, len(opts))
	for i, o := range opts {
		out[i] = o
	}
	return out
}
