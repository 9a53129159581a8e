package loss

import (
	"math"
)

// Poly1 is the Poly-1 loss of Leng, Tan, Liu, Cubuk et al., "PolyLoss: A
// Polynomial Expansion Perspective of Classification Loss Functions"
// (ICLR 2022): cross-entropy plus ε times the first term of its Taylor
// expansion in (1 − p_y),
//
//	ℓ = −log p_y + ε·(1 − p_y),    p = softmax(z)
//
// with ε ≥ −1 (default 1; ε = 0 is cross-entropy; ε < −1 would make ℓ
// decrease in p_y near p_y = 1). The gradient is
//
//	∂ℓ/∂z = (1 + ε·p_y)·(p − e_y).
//
// Stable form: −log p_y = (max − z_y) + log1p(T) and 1 − p_y = T/(1 + T)
// when the target holds the maximum (T the softmax tail summed without
// the maximum's term), −expm1(log p_y) otherwise, so a confident row keeps
// its tiny loss and gradient at any logit scale.
//
// Difference from the paper's code (TensorFlow, in its appendix): that
// code applies label smoothing inside the cross-entropy and computes p_t
// against the smoothed labels; here the targets are hard labels and label
// smoothing is rejected. Options: reduction, ignore index, class weights
// (row i's loss is w_{y_i}·ℓ_i, Mean divides by Σ r_i·w_{y_i}) and row
// weights; −Inf logits off the target are masks.
//
// Accuracy: float64 about 1e-14 relative per row; float32 logits give
// rows within 1e-5 relative and gradients within 1e-6 + 1e-5·|g| of the
// float64 values. Sums are in float64.
type Poly1 struct {
	o   Options
	eps float64
}

// NewPoly1 returns the Poly-1 loss with coefficient ε ≥ −1.
func NewPoly1(eps float64, opts ...Option) (*Poly1, error) {
	if !(eps >= -1) || math.IsInf(eps, 0) {
		return nil, valueErr("poly1", "epsilon = %v, want a finite number ≥ −1", eps)
	}
	o, err := buildHard("poly1", opts, true)
	if err != nil {
		return nil, err
	}
	return &Poly1{o, eps}, nil
}

// Name returns "poly1".
func (*Poly1) Name() string { return "poly1" }

// Eval32 evaluates the loss on float32 logits and labels.
func (p *Poly1) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return evalPoly1(k32, p, in, out)
}

// Eval64 evaluates the loss on float64 logits and labels.
func (p *Poly1) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return evalPoly1(k64, p, in, out)
}

func evalPoly1[E exact](k *kernels[E], p *Poly1, in Input[E], out Output[E]) (float64, error) {
	eps := p.eps
	cfg := hardCfg{name: "poly1", o: p.o, masks: true}
	return evalHardRows(cfg, in, out, func() hardRowFn[E] {
		return func(i int, x []E, m E, y int, g []E, gs float64) (float64, error) {
			st := scaledTail(k, x, m, 1)
			a, q := targetTerms(x, m, y, 1, st)
			if g != nil {
				writeCEShape(k, g, x, m, 1, y, st, q, gs*(1+eps*(1-q)))
			}
			return a + eps*q, nil
		}
	})
}

func init() {
	Register(Spec{
		Name:    "poly1",
		Summary: "Poly-1: cross-entropy + ε·(1 − p_y)",
		Needs:   NeedsLabels,
		Params:  []Param{{"epsilon", 1, "coefficient ε ≥ −1 of (1 − p_y) (0: cross-entropy)"}},
		New: func(p map[string]float64, opts []Option) (Loss, error) {
			return NewPoly1(p["epsilon"], opts...)
		},
	})
}
