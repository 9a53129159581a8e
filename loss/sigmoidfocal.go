package loss

import "math"

// nameSigmoidFocal is the registry name of this file's loss.
const nameSigmoidFocal = "sigmoid-focal"

// SigmoidFocal is the sigmoid (binary) focal loss of Lin, Goyal, Girshick,
// He and Dollár, "Focal Loss for Dense Object Detection" (ICCV 2017),
// with the semantics of torchvision's ops.sigmoid_focal_loss: every logit
// x is its own binary problem against a target y ∈ [0, 1] (Input.Targets,
// the shape of the logits; soft targets allowed),
//
//	p = σ(x),  p_t = p·y + (1 − p)·(1 − y),
//	ℓ = α_t·(1 − p_t)^γ·CE,   CE = y·softplus(−x) + (1 − y)·softplus(x),
//	α_t = α·y + (1 − α)·(1 − y)   (α < 0: α_t = 1),
//
// with α = 0.25 and γ = 2 by default. With q = 1 − p_t = y·σ(−x) +
// (1 − y)·σ(x) the gradient is
//
//	∂ℓ/∂x = α_t·q^γ·[γ·(1 − 2y)·(σ(x)σ(−x)/q)·CE + (1 − y)·σ(x) − y·σ(−x)].
//
// Stable form: σ(±x) and softplus are evaluated without overflow or
// cancellation, q as a sum of two non-negative terms (so a confident
// element keeps q ≈ 1e-300 instead of 1 − 1 = 0), σ(x) − y as
// (1 − y)σ(x) − yσ(−x), and σ(x)σ(−x)/q by its limit when q underflows;
// logits of ±1e4 give the exact finite values.
//
// Reductions as torchvision: Mean divides by the number of elements, Sum
// adds, None writes each row's sum over its columns to Output.Rows
// (torchvision returns the per-element losses). Class weights (one per
// column) and row weights multiply the elements. Logits must be finite
// and targets lie in [0, 1]; the ignore index, label smoothing, z-loss
// and soft-capping are rejected.
//
// Accuracy: about 1e-15 relative per element (float64 arithmetic on
// float32 or float64 inputs), sums in float64.
type SigmoidFocal struct {
	o            Options
	alpha, gamma float64
}

// NewSigmoidFocal returns the loss with balance α ≤ 1 (α < 0 disables
// it) and focusing parameter γ ≥ 0.
func NewSigmoidFocal(alpha, gamma float64, opts ...Option) (*SigmoidFocal, error) {
	const name = nameSigmoidFocal
	switch {
	case !(alpha <= 1) || math.IsInf(alpha, -1):
		return nil, valueErr(name, "alpha = %v, want a number ≤ 1 (negative: no balancing)", alpha)
	case !(gamma >= 0) || math.IsInf(gamma, 1):
		return nil, valueErr(name, "gamma = %v, want a finite number ≥ 0", gamma)
	}
	o, err := buildElem(name, opts)
	if err != nil {
		return nil, err
	}
	return &SigmoidFocal{o, alpha, gamma}, nil
}

// Name returns "sigmoid-focal".
func (*SigmoidFocal) Name() string { return nameSigmoidFocal }

// Eval32 evaluates the loss on float32 logits and targets.
func (f *SigmoidFocal) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return evalElementwise(f.cfg(), in, out, f.elem)
}

// Eval64 evaluates the loss on float64 logits and targets.
func (f *SigmoidFocal) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return evalElementwise(f.cfg(), in, out, f.elem)
}

func (f *SigmoidFocal) cfg() elemCfg {
	return elemCfg{name: nameSigmoidFocal, o: f.o, domain: "targets lie in [0, 1]"}
}

func (f *SigmoidFocal) elem(x, y float64) (float64, float64, bool) {
	if !(y >= 0 && y <= 1) {
		return 0, 0, false
	}
	sp, sn := sigmoid(x), sigmoid(-x)
	var ce float64
	if y != 0 {
		ce += y * softplus(-x)
	}
	if y != 1 {
		ce += (1 - y) * softplus(x)
	}
	q := y*sn + (1-y)*sp
	at := 1.0
	if f.alpha >= 0 {
		at = f.alpha*y + (1-f.alpha)*(1-y)
	}
	qg := math.Pow(q, f.gamma)
	// r = σ(x)σ(−x)/q; q = 0 only for a binary target whose σ underflowed.
	var r float64
	switch {
	case q > 0:
		r = sp * (sn / q)
	case y == 1:
		r = sp
	default:
		r = sn
	}
	g := at * qg * (f.gamma*(1-2*y)*r*ce + (1-y)*sp - y*sn)
	return at * qg * ce, g, true
}

func init() {
	Register(Spec{
		Name:    nameSigmoidFocal,
		Summary: "sigmoid focal loss α_t·(1 − p_t)^γ·BCE per element (torchvision's sigmoid_focal_loss; soft targets)",
		Needs:   NeedsTargets,
		Params: []Param{{"alpha", 0.25, "balance α_t = α·y + (1 − α)(1 − y), α ≤ 1; negative: none"},
			{"gamma", 2, "focusing parameter γ ≥ 0 (0: BCE)"}},
		New: func(p map[string]float64, opts []Option) (Loss, error) {
			return NewSigmoidFocal(p["alpha"], p["gamma"], opts...)
		},
	})
}
