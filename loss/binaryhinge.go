package loss

import "math"

// nameBinaryHinge is the registry name of this file's loss.
const nameBinaryHinge = "binary-hinge"

// BinaryHinge is the binary (single-logit) hinge loss of support vector
// machines, Optax's hinge_loss with a margin: every logit x is scored
// against its own target (Input.Targets, the shape of the logits; 1 for
// the positive class, 0 or −1 for the negative one, s = ±1),
//
//	ℓ = max(0, m − s·x),   ∂ℓ/∂x = −s where m − s·x > 0, else 0,
//
// with margin m (default 1, Optax's). An element exactly at the hinge
// (s·x = m) has gradient 0. A [N] vector of logits is [N, 1] (Cols 1); no
// [N, 2] matrix is needed. Reductions, weights and errors as
// SigmoidFocal (Mean over the elements; class weights per column).
// Exact in float64.
type BinaryHinge struct {
	o      Options
	margin float64
}

// NewBinaryHinge returns the loss with a finite margin m.
func NewBinaryHinge(margin float64, opts ...Option) (*BinaryHinge, error) {
	if math.IsNaN(margin) || math.IsInf(margin, 0) {
		return nil, valueErr(nameBinaryHinge, "margin = %v, want a finite number", margin)
	}
	o, err := buildElem(nameBinaryHinge, opts)
	if err != nil {
		return nil, err
	}
	return &BinaryHinge{o, margin}, nil
}

// Name returns "binary-hinge".
func (*BinaryHinge) Name() string { return nameBinaryHinge }

// Eval32 evaluates the loss on float32 logits and targets.
func (h *BinaryHinge) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return evalElementwise(h.cfg(), in, out, h.elem)
}

// Eval64 evaluates the loss on float64 logits and targets.
func (h *BinaryHinge) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return evalElementwise(h.cfg(), in, out, h.elem)
}

func (h *BinaryHinge) cfg() elemCfg {
	return elemCfg{name: nameBinaryHinge, o: h.o, domain: "targets are 1, or 0 or −1 for the negative class"}
}

func (h *BinaryHinge) elem(x, y float64) (float64, float64, bool) {
	s, ok := signedTarget(y)
	if !ok {
		return 0, 0, false
	}
	if z := h.margin - s*x; z > 0 {
		return z, -s, true
	}
	return 0, 0, true
}

func init() {
	Register(Spec{
		Name:    nameBinaryHinge,
		Summary: "binary hinge max(0, margin − s·x) per logit, s = ±1 from targets 1 / 0 or −1 (Optax's hinge_loss)",
		Needs:   NeedsTargets,
		Params:  []Param{{"margin", 1, "margin m"}},
		New: func(p map[string]float64, opts []Option) (Loss, error) {
			return NewBinaryHinge(p["margin"], opts...)
		},
	})
}
