package loss

import (
	"math"
)

// The registry names of this file's losses.
const (
	nameCompSum = "comp-sum"
	nameGce     = "gce"
	nameMae     = "mae"
	nameExpLoss = "exp-loss"
)

// CompSum is the comp-sum family of Mao, Mohri and Zhong, "Cross-Entropy
// Loss Functions: Theoretical Analysis and Applications" (ICML 2023),
// catalog A2. With u = Σ_{j≠y} exp(z_j − z_y) = 1/p_y − 1 and
// a = −log p_y = log(1 + u):
//
//	τ = 1:  ℓ = a = −log p_y                         (cross-entropy)
//	τ ≠ 1:  ℓ = ((1 + u)^(1−τ) − 1)/(1 − τ) = (p_y^(τ−1) − 1)/(1 − τ)
//
// τ = 0 is the sum-exponential loss u ("exp-loss"), τ = 1 + q for
// q ∈ (0, 1] the generalized cross-entropy (1 − p_y^q)/q of Zhang and
// Sabuncu, "Generalized Cross Entropy Loss for Training Deep Neural
// Networks with Noisy Labels" (NeurIPS 2018) ("gce", default q = 0.7),
// and τ = 2 the mean absolute error 1 − p_y ("mae"; Ghosh et al.'s MAE
// ‖e_y − p‖₁ is twice this, the scale the noisy-label code bases use is
// this one). The registry default is τ = 1.
//
// The gradient is ∂ℓ/∂z = p_y^(τ−1)·(p − e_y): the cross-entropy
// gradient rescaled (τ > 1 down-weights hard rows, τ < 1 up-weights them).
//
// Stable form: a = (max − z_y) + log1p(T) with T the softmax tail kept to
// full precision (as CrossEntropy), ℓ = expm1((1−τ)·a)/(1−τ), the factor
// p_y^(τ−1) = exp((1−τ)·a), and the target's gradient −p_y^(τ−1)·(1 − p_y)
// with 1 − p_y taken from the tail when the target holds the maximum. So
// a confident row keeps its tiny loss and gradient at any logit scale.
// For τ < 1 the loss grows like p_y^(τ−1) and is unbounded: a row whose
// value exceeds the element type's range (exp-loss with a logit gap above
// about 88 in float32, 709 in float64) is reported as an overflow error
// rather than clamped.
//
// Options: reduction, ignore index, class weights (row i's loss is
// w_{y_i}·ℓ_i, Mean divides by Σ r_i·w_{y_i} as CrossEntropy) and row
// weights; −Inf logits off the target are masks. Label smoothing, z-loss
// and soft-capping are rejected.
//
// Accuracy: float64 about 1e-14 relative per row; float32 logits give
// rows within 1e-5 relative and gradients within 1e-6 + 1e-5·|g| of the
// float64 values. Sums are in float64.
//
// No official code is published with the paper; the GCE and MAE members
// match the noisy-label reference implementations (Ma et al.'s
// Active-Passive-Losses) except that those clamp p at 1e-7 before the
// power, which only changes rows with p_y < 1e-7.
type CompSum struct {
	o    Options
	tau  float64
	name string
}

// NewCompSum returns the comp-sum loss Φ^τ for τ ≥ 0 (τ = 1:
// cross-entropy).
func NewCompSum(tau float64, opts ...Option) (*CompSum, error) {
	return newCompSum(nameCompSum, tau, opts)
}

// NewGCE returns the generalized cross-entropy (1 − p_y^q)/q, the
// comp-sum member τ = 1 + q; q ≥ 0 (q = 0 is the limit, cross-entropy;
// q = 1 is MAE).
func NewGCE(q float64, opts ...Option) (*CompSum, error) {
	if !(q >= 0) || math.IsInf(q, 0) {
		return nil, valueErr(nameGce, "q = %v, want a finite number ≥ 0", q)
	}
	return newCompSum(nameGce, 1+q, opts)
}

func newCompSum(name string, tau float64, opts []Option) (*CompSum, error) {
	if !(tau >= 0) || math.IsInf(tau, 0) {
		return nil, valueErr(name, "tau = %v, want a finite number ≥ 0", tau)
	}
	o, err := buildHard(name, opts, true)
	if err != nil {
		return nil, err
	}
	return &CompSum{o: o, tau: tau, name: name}, nil
}

// Name returns the registry name it was built under ("comp-sum", "gce",
// "mae" or "exp-loss").
func (c *CompSum) Name() string { return c.name }

// Tau returns τ.
func (c *CompSum) Tau() float64 { return c.tau }

// Eval32 evaluates the loss on float32 logits and labels.
func (c *CompSum) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return evalCompSum(k32, c, in, out)
}

// Eval64 evaluates the loss on float64 logits and labels.
func (c *CompSum) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return evalCompSum(k64, c, in, out)
}

func evalCompSum[E exact](k *kernels[E], c *CompSum, in Input[E], out Output[E]) (float64, error) {
	cfg := hardCfg{name: c.name, o: c.o, masks: true}
	t := c.tau
	return evalHardRows(cfg, in, out, func() hardRowFn[E] {
		return func(i int, x []E, m E, y int, g []E, gs float64) (float64, error) {
			st := scaledTail(k, x, m, 1)
			a, q := targetTerms(x, m, y, 1, st)
			l, f := a, 1.0
			if t != 1 {
				l = math.Expm1((1-t)*a) / (1 - t)
				f = math.Exp((1 - t) * a)
			}
			if math.IsInf(l, 0) || math.IsInf(float64(E(l)), 0) {
				return 0, valueErr(c.name, "the loss overflows at row %d (−log p_y = %g)", i, a)
			}
			if g != nil {
				writeCEShape(k, g, x, m, 1, y, st, q, gs*f)
			}
			return l, nil
		}
	})
}

func init() {
	Register(Spec{
		Name:    nameCompSum,
		Catalog: "A2",
		Summary: "comp-sum family Φ^τ: (p_y^(τ−1) − 1)/(1 − τ); τ=0 exp-loss, 1 cross-entropy, 1+q GCE, 2 MAE",
		Needs:   NeedsLabels,
		Params:  []Param{{"tau", 1, "family index τ ≥ 0 (1: cross-entropy)"}},
		New: func(p map[string]float64, opts []Option) (Loss, error) {
			return NewCompSum(p["tau"], opts...)
		},
	})
	Register(Spec{
		Name:    nameGce,
		Catalog: "A2",
		Summary: "generalized cross-entropy (1 − p_y^q)/q (comp-sum τ = 1 + q)",
		Needs:   NeedsLabels,
		Params:  []Param{{"q", 0.7, "exponent q ≥ 0 (0: cross-entropy, 1: MAE)"}},
		New: func(p map[string]float64, opts []Option) (Loss, error) {
			return NewGCE(p["q"], opts...)
		},
	})
	Register(Spec{
		Name:    nameMae,
		Catalog: "A2",
		Summary: "mean absolute error 1 − p_y (comp-sum τ = 2)",
		Needs:   NeedsLabels,
		New: func(_ map[string]float64, opts []Option) (Loss, error) {
			return newCompSum(nameMae, 2, opts)
		},
	})
	Register(Spec{
		Name:    nameExpLoss,
		Catalog: "A2",
		Summary: "sum-exponential loss Σ_{j≠y} exp(z_j − z_y) (comp-sum τ = 0)",
		Needs:   NeedsLabels,
		New: func(_ map[string]float64, opts []Option) (Loss, error) {
			return newCompSum(nameExpLoss, 0, opts)
		},
	})
}
