package loss

import (
	"fmt"
	"math"
)

// nameDro is the registry name of this file's loss.
const nameDro = "dro"

// DRO aggregates per-row cross-entropy losses with the KL-regularized
// distributionally robust objective behind DONE (Sow et al., "Doubly
// Robust Instance-Reweighted Adversarial Training", ICLR 2024; catalog
// B21): the worst case over instance weights w in the simplex of
// Σ_i w_i·ℓ_i − r·KL(w ‖ π) has the closed form
//
//	V_r = r·log Σ_i π_i·exp(ℓ_i/r),   w = softmax(ℓ/r + log π) = ∂V_r/∂ℓ,
//
// with ℓ_i the cross-entropy of row i (labels or soft targets, with the
// options of CrossEntropy: ignore index, class weights, label smoothing,
// z-loss, soft-capping) and π the prior, uniform over the counted rows or
// proportional to Input.RowWeights. r → ∞ gives the (weighted) mean of
// the losses, r → 0 their maximum. The gradient with respect to the
// logits is ∂V/∂z_i = w_i·∂ℓ_i/∂z_i: hard rows get more weight. Default
// r = 1 (the paper does not state one; its code is not released).
//
// DRO is itself the reduction: only Mean (the default) is accepted, and
// Output.Rows, if set, receives the per-row losses ℓ_i (0 for ignored
// rows). The paper's adversarial inner maximization (the ℓ_i are losses
// at attacked inputs) and its bilevel training scheme are the caller's;
// DROAggregate applies the same aggregation to any per-row losses.
//
// Stable form: the log-sum-exp is max-shifted and the weights are its
// softmax, so small r is as safe as large. The cross-entropy pass writes
// per-row gradients, which a second pass scales by w_i (the weights
// depend on every row's loss). Accuracy: that of CrossEntropy for ℓ_i
// (float32 rows for float32 logits), then about 1e-15 relative for V.
type DRO struct {
	r  float64
	ce *CrossEntropy
}

// NewDRO returns the KL-DRO aggregate of cross-entropy losses with
// temperature r > 0.
func NewDRO(r float64, opts ...Option) (*DRO, error) {
	const name = nameDro
	o, err := build(name, opts)
	if err != nil {
		return nil, err
	}
	if o.Reduction != Mean {
		return nil, valueErr(name, "reduction %v: the DRO aggregate is the reduction (use mean, with Output.Rows for per-row losses)", o.Reduction)
	}
	if !(r > 0) || math.IsInf(r, 0) {
		return nil, valueErr(name, "r = %v, want a positive finite number", r)
	}
	ce, err := NewCrossEntropy(ForCrossEntropy(append(opts[:len(opts):len(opts)], WithReduction(None))...)...)
	if err != nil {
		return nil, fmt.Errorf("dro: %w", err)
	}
	return &DRO{r, ce}, nil
}

// Name returns "dro".
func (*DRO) Name() string { return nameDro }

// Eval32 evaluates the loss on float32 logits (Labels, Labels64 or
// Targets; optional RowWeights as the prior).
func (d *DRO) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return evalDRO(d, in, out, d.ce.Eval32)
}

// Eval64 evaluates the loss on float64 logits.
func (d *DRO) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return evalDRO(d, in, out, d.ce.Eval64)
}

func evalDRO[E exact](d *DRO, in Input[E], out Output[E], ce func(Input[E], Output[E]) (float64, error)) (float64, error) {
	const name = nameDro
	rows, err := checkMatrix(name, in, out, Mean)
	if err != nil {
		return 0, err
	}
	ls := out.Rows
	if ls == nil {
		ls = make([]E, rows)
	}
	cin := in
	cin.RowWeights = nil
	if _, err := ce(cin, Output[E]{Grad: out.Grad, Rows: ls, LSE: out.LSE}); err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	losses := make([]float64, rows)
	prior := make([]float64, rows)
	ignore := d.ce.o.IgnoreIndex
	for i := range losses {
		losses[i] = float64(ls[i])
		if in.Targets == nil && labelAt(in, i) == ignore {
			continue
		}
		prior[i] = rowWeight(in, i)
	}
	w := make([]float64, rows)
	v, err := DROAggregate(losses, prior, d.r, w)
	if err != nil {
		return 0, err
	}
	if out.Grad != nil {
		cols := in.Cols
		for i, wi := range w {
			g := out.Grad[i*cols : (i+1)*cols]
			if wi == 0 {
				clear(g)
				continue
			}
			for j := range g {
				g[j] = E(wi * float64(g[j]))
			}
		}
	}
	return v, nil
}

// DROAggregate returns the KL-DRO aggregate V = r·log Σ_i π_i·exp(ℓ_i/r)
// of per-row losses ℓ (losses), π = prior/Σ prior (nil prior: uniform),
// and, when weights is not nil, writes there the worst-case weights
// w = softmax(ℓ/r + log π), which are ∂V/∂ℓ. Rows with prior 0 get weight
// 0 and may hold any loss except NaN; with no prior mass at all V is 0.
// Losses must be finite and the prior finite and ≥ 0.
func DROAggregate(losses, prior []float64, r float64, weights []float64) (float64, error) {
	const name = nameDro
	switch {
	case !(r > 0) || math.IsInf(r, 0):
		return 0, valueErr(name, "r = %v, want a positive finite number", r)
	case prior != nil && len(prior) != len(losses):
		return 0, shapeErr(name, "len(prior) = %d, want %d (one per loss)", len(prior), len(losses))
	case weights != nil && len(weights) != len(losses):
		return 0, shapeErr(name, "len(weights) = %d, want %d (one per loss)", len(weights), len(losses))
	}
	pi := func(i int) float64 {
		if prior == nil {
			return 1
		}
		return prior[i]
	}
	// V = L + r·(M + log Σ_i exp(u_i − M) − log mass) with L the largest
	// loss, u_i = (ℓ_i − L)/r + log π_i ≤ log π_i and M = max u_i: no
	// ℓ/r is formed, so a tiny r cannot overflow it (u_i may be −Inf).
	var mass float64
	L := math.Inf(-1)
	for i, l := range losses {
		p := pi(i)
		if !(p >= 0) || math.IsInf(p, 0) {
			return 0, valueErr(name, "prior %v at row %d, want a finite number ≥ 0", p, i)
		}
		if l != l || (p > 0 && math.IsInf(l, 0)) {
			return 0, valueErr(name, "loss %v at row %d", l, i)
		}
		if p > 0 {
			mass += p
			L = max(L, l)
		}
	}
	if mass == 0 {
		clear(weights)
		return 0, nil
	}
	u := func(l, p float64) float64 { return (l-L)/r + math.Log(p) }
	m := math.Inf(-1)
	for i, l := range losses {
		if p := pi(i); p > 0 {
			m = max(m, u(l, p))
		}
	}
	var s float64
	for i, l := range losses {
		if p := pi(i); p > 0 {
			s += math.Exp(u(l, p) - m)
		}
	}
	if weights != nil {
		for i, l := range losses {
			weights[i] = 0
			if p := pi(i); p > 0 {
				weights[i] = math.Exp(u(l, p)-m) / s
			}
		}
	}
	v := L + r*(m+math.Log(s)-math.Log(mass))
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, valueErr(name, "the aggregate overflows (%v)", v)
	}
	return v, nil
}

func init() {
	Register(Spec{
		Name:    nameDro,
		Catalog: "B21",
		Summary: "KL-DRO aggregate r·log mean exp(ℓ_i/r) of per-row cross-entropies (weights softmax(ℓ/r))",
		Needs:   NeedsLabels | AcceptsSoftTargets,
		Params:  []Param{{"r", 1, "KL regularization strength r > 0 (∞: mean, → 0: max)"}},
		New: func(p map[string]float64, opts []Option) (Loss, error) {
			return NewDRO(p["r"], opts...)
		},
	})
}
