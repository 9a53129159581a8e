package loss

import "math"

// nameMultiMargin is the registry name of this file's loss.
const nameMultiMargin = "multi-margin"

// MultiMargin is PyTorch's MultiMarginLoss, the multiclass hinge loss
// averaged over the classes: for a row with logits x over C classes and
// label y,
//
//	ℓ = (w_y/C)·Σ_{j≠y} max(0, m − x_y + x_j)^p,
//	∂ℓ/∂x_j = (w_y/C)·p·h_j^(p−1),  ∂ℓ/∂x_y = −Σ_{j≠y} ∂ℓ/∂x_j,   h_j = m − x_y + x_j > 0,
//
// with p = 1 or 2 (default 1), margin m (default 1) and class weights w
// (default 1). As PyTorch computes it, the weight multiplies the powered
// term (w_y·h^p; PyTorch's documentation writes (w_y·h)^p), and Mean
// divides by the number of rows (Σ r_i with row weights), not by the
// weights. A term exactly at its hinge (h = 0) is inactive, with
// gradient 0, as in PyTorch. With p = 1 and no weights ℓ is hinge-ww/C.
//
// The ignore index skips rows (PyTorch has none; its default −100 never
// matches a valid label). −Inf logits off the target are masks (their
// terms are 0). Label smoothing, z-loss and soft-capping are rejected.
// Exact up to the rounding of the sums (float64 arithmetic).
type MultiMargin struct {
	o      Options
	p      int
	margin float64
}

// NewMultiMargin returns the loss with power p (1 or 2) and a finite
// margin.
func NewMultiMargin(p int, margin float64, opts ...Option) (*MultiMargin, error) {
	const name = nameMultiMargin
	switch {
	case p != 1 && p != 2:
		return nil, valueErr(name, "p = %d, want 1 or 2 (as PyTorch)", p)
	case math.IsNaN(margin) || math.IsInf(margin, 0):
		return nil, valueErr(name, "margin = %v, want a finite number", margin)
	}
	o, err := buildHard(name, opts, true)
	if err != nil {
		return nil, err
	}
	return &MultiMargin{o, p, margin}, nil
}

// Name returns "multi-margin".
func (*MultiMargin) Name() string { return nameMultiMargin }

// Eval32 evaluates the loss on float32 logits and labels.
func (mm *MultiMargin) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return evalMultiMargin(mm, in, out)
}

// Eval64 evaluates the loss on float64 logits and labels.
func (mm *MultiMargin) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return evalMultiMargin(mm, in, out)
}

func evalMultiMargin[E exact](mm *MultiMargin, in Input[E], out Output[E]) (float64, error) {
	cfg := hardCfg{name: nameMultiMargin, o: mm.o, masks: true, columnWeights: true}
	return evalHardRows(cfg, in, out, func() hardRowFn[E] {
		return func(_ int, x []E, _ E, y int, g []E, gs float64) (float64, error) {
			w := classWeight(mm.o, y) / float64(len(x))
			xy := float64(x[y])
			var l, gy float64
			for j, v := range x {
				h := mm.margin - xy + float64(v)
				var d float64
				if j != y && h > 0 {
					if mm.p == 1 {
						l, d = l+h, 1
					} else {
						l, d = l+h*h, 2*h
					}
				}
				if g != nil && j != y {
					g[j] = E(gs * w * d)
					gy -= gs * w * d
				}
			}
			if g != nil {
				g[y] = E(gy)
			}
			return w * l, nil
		}
	})
}

func init() {
	Register(Spec{
		Name:    nameMultiMargin,
		Summary: "PyTorch's MultiMarginLoss (w_y/C)·Σ_{j≠y} max(0, margin − x_y + x_j)^p, p = 1 or 2",
		Needs:   NeedsLabels,
		Params:  []Param{{"p", 1, "power, 1 or 2"}, {"margin", 1, "margin m"}},
		New: func(p map[string]float64, opts []Option) (Loss, error) {
			if p["p"] != 1 && p["p"] != 2 {
				return nil, valueErr(nameMultiMargin, "p = %v, want 1 or 2", p["p"])
			}
			return NewMultiMargin(int(p["p"]), p["margin"], opts...)
		},
	})
}
