package loss

import (
	"math"
)

// nameFocal is the registry name of this file's loss.
const nameFocal = "focal"

// Focal is the softmax focal loss of Lin, Goyal, Girshick, He and Dollár,
// "Focal Loss for Dense Object Detection" (ICCV 2017), in its multi-class
// (softmax) form:
//
//	ℓ = −(1 − p_y)^γ·log p_y,    p = softmax(z)
//
// with the focusing parameter γ ≥ 0 (default 2; γ = 0 is cross-entropy).
// The α-balancing of the paper is a class weight (WithClassWeights): row
// i's loss is w_{y_i}·ℓ_i and Mean divides by Σ r_i·w_{y_i}, as
// CrossEntropy.
//
// With q = 1 − p_y and a = −log p_y the gradient is
//
//	∂ℓ/∂z = c·(p − e_y),   c = q^γ + γ·q^(γ−1)·p_y·a = q^γ·(1 + γ·p_y·a/q)
//
// (c → 1 at γ = 0, and c → 0 as q → 0 for every γ > 0: a/q → 1).
//
// Stable form: a = (max − z_y) + log1p(T) and q = T/(1 + T) when the
// target holds the maximum, with T the softmax tail summed without the
// maximum's term, otherwise q = −expm1(−a). So q keeps full relative
// precision when it is far below the float32 epsilon (a confident row with
// a logit gap of 20 has q ≈ 2e-9 where 1 − p_y evaluates to 0), and the
// loss q^γ·a and the gradient stay exact instead of collapsing to 0.
//
// Difference from common code: implementations that detach p_t from the
// graph (focal_loss_pytorch, reused by the noisy-label Active-Passive-Losses
// code base) get the gradient (1 − p_y)^γ·(p − e_y) of a different
// function; this one is the exact gradient of ℓ, as in the paper's
// (sigmoid) RetinaNet code, which differentiates through the modulating
// factor.
//
// Options: reduction, ignore index, class weights, row weights; −Inf
// logits off the target are masks. Label smoothing, z-loss and
// soft-capping are rejected.
//
// Accuracy: float64 about 1e-14 relative per row; float32 logits give
// rows within 1e-5 relative and gradients within 1e-6 + 1e-5·|g| of the
// float64 values, at any logit scale. Sums are in float64.
type Focal struct {
	o     Options
	gamma float64
}

// NewFocal returns the focal loss with focusing parameter γ ≥ 0.
func NewFocal(gamma float64, opts ...Option) (*Focal, error) {
	if !(gamma >= 0) || math.IsInf(gamma, 0) {
		return nil, valueErr(nameFocal, "gamma = %v, want a finite number ≥ 0", gamma)
	}
	o, err := buildHard(nameFocal, opts, true)
	if err != nil {
		return nil, err
	}
	return &Focal{o, gamma}, nil
}

// Name returns "focal".
func (*Focal) Name() string { return nameFocal }

// Eval32 evaluates the loss on float32 logits and labels.
func (f *Focal) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return evalFocal(k32, f, in, out)
}

// Eval64 evaluates the loss on float64 logits and labels.
func (f *Focal) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return evalFocal(k64, f, in, out)
}

func evalFocal[E exact](k *kernels[E], f *Focal, in Input[E], out Output[E]) (float64, error) {
	gamma := f.gamma
	cfg := hardCfg{name: nameFocal, o: f.o, masks: true}
	return evalHardRows(cfg, in, out, func() hardRowFn[E] {
		return func(i int, x []E, m E, y int, g []E, gs float64) (float64, error) {
			st := scaledTail(k, x, m, 1)
			a, q := targetTerms(x, m, y, 1, st)
			qg := math.Pow(q, gamma)
			l := qg * a
			if g != nil {
				c := qg // q = 0: c = 1 for γ = 0, else 0
				if q > 0 {
					c = qg * (1 + gamma*(1-q)*(a/q))
				}
				writeCEShape(k, g, x, m, 1, y, st, q, gs*c)
			}
			return l, nil
		}
	})
}

func init() {
	Register(Spec{
		Name:    nameFocal,
		Summary: "softmax focal loss −(1 − p_y)^γ·log p_y (exact gradient, stable for p_y → 1)",
		Needs:   NeedsLabels,
		Params:  []Param{{"gamma", 2, "focusing parameter γ ≥ 0 (0: cross-entropy)"}},
		New: func(p map[string]float64, opts []Option) (Loss, error) {
			return NewFocal(p["gamma"], opts...)
		},
	})
}
