package loss

import (
	"math"

	"github.com/xentlab/xent/internal/rowstat"
)

// nameLdrKl is the registry name of this file's loss.
const nameLdrKl = "ldr-kl"

// LDRKL is the label-distributionally-robust KL loss of Zhu, Ying and
// Yang, "Label Distributionally Robust Losses for Multi-class
// Classification: Consistency, Robustness and Adaptivity" (ICML 2023),
// catalog A11. With margin c, temperature λ > 0, K classes and
// u_k = c·[k ≠ y] + z_k − z_y:
//
//	ψ = max_{w ∈ Δ} Σ_k w_k·u_k − λ·KL(w ‖ 1/K) = λ·log((1/K)·Σ_k exp(u_k/λ))
//
// the worst case over label distributions near uniform. With c = 0 it is
// λ·CE(z/λ, y) − λ·log K (temperature-scaled cross-entropy minus λ·log K),
// so ψ may be negative. The gradient is ∂ψ/∂z = w − e_y with
// w = softmax(u/λ), the margin-shifted softmax at temperature λ.
// Defaults λ = 1, margin 0.1 (the official experiments search λ over
// {0.1, 1, 10}).
//
// Stable form: ψ = λ·(a − log K) with a = −log w_y. With f = exp(c/λ) and
// E_k = exp((z_k − max)/λ) (the vector kernels), a = log1p(f·T) when the
// target holds the maximum (T the tail summed without the maximum's term,
// to full precision) and log(f·(S − E_y) + E_y) + (max − z_y)/λ otherwise;
// the target's gradient is −f·(S − E_y)/(f·(S − E_y) + E_y), never 1 − w_y.
// When |c/λ| > 30 (f beyond 1e13) the row is evaluated in float64 on the
// shifted scores u/λ instead. Small λ sharpens the softmax; it stays
// exact down to λ of about 1e-300/|z|.
//
// Difference from the official code (ICML2023_LDR, loss.py, LDRLoss_V1):
// it first rescales the scores, z ← softplus(z)/mean(softplus(z)); that is
// a choice of the model's head, not of the loss, and is left to the
// caller (apply it to the logits and chain its Jacobian). K counts every
// column, masked ones included.
//
// Options: reduction, ignore index, class weights (row i's loss is
// w_{y_i}·ψ_i, Mean divides by Σ r_i·w_{y_i}), row weights; −Inf logits
// off the target are masks.
//
// Accuracy: float64 about 1e-14·max(1, |ψ|/λ) relative; float32 logits
// give rows within 1e-5 relative (plus 1e-6·λ absolute, as ψ is a
// difference) and gradients within 1e-6 + 1e-5·|g| of the float64 values.
type LDRKL struct {
	o              Options
	lambda, margin float64
}

// NewLDRKL returns the LDR-KL loss with temperature λ > 0 and margin c.
func NewLDRKL(lambda, margin float64, opts ...Option) (*LDRKL, error) {
	const name = nameLdrKl
	if !(lambda > 0) || math.IsInf(lambda, 0) {
		return nil, valueErr(name, "lambda = %v, want a positive finite number", lambda)
	}
	if math.IsNaN(margin) || math.IsInf(margin, 0) {
		return nil, valueErr(name, "margin = %v, want a finite number", margin)
	}
	o, err := buildHard(name, opts, true)
	if err != nil {
		return nil, err
	}
	return &LDRKL{o, lambda, margin}, nil
}

// Name returns "ldr-kl".
func (*LDRKL) Name() string { return nameLdrKl }

// Eval32 evaluates the loss on float32 logits and labels.
func (l *LDRKL) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return evalLDRKL(l, in, out)
}

// Eval64 evaluates the loss on float64 logits and labels.
func (l *LDRKL) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return evalLDRKL(l, in, out)
}

func evalLDRKL[E exact](l *LDRKL, in Input[E], out Output[E]) (float64, error) {
	cfg := hardCfg{name: nameLdrKl, o: l.o, masks: true}
	return evalHardRows(cfg, in, out, func() hardRowFn[E] {
		var e []float64
		return func(i int, x []E, m E, y int, g []E, gs float64) (float64, error) {
			if len(e) != len(x) {
				e = make([]float64, len(x))
			}
			return ldrRow(e, x, m, y, l.lambda, l.margin, g, gs), nil
		}
	})
}

// ldrRow returns ψ_λ(x, y) with margin c and, when g is not nil, writes
// gs·(w − e_y) into it; m is the row's maximum and e float64 scratch of
// the row's length.
func ldrRow[E exact](e []float64, x []E, m E, y int, lambda, c float64, g []E, gs float64) float64 {
	logK := math.Log(float64(len(x)))
	if cl := c / lambda; math.Abs(cl) <= 30 {
		// With E_k = exp((z_k − max)/λ) from the vector kernels and
		// f = exp(c/λ), Σ_k exp(u_k/λ) ∝ f·(S − E_y) + E_y.
		k := rowstat.For[E]()
		s := 1 / lambda
		st := scaledTail(k, x, m, s)
		f := math.Exp(cl)
		var other, ey, a float64
		if x[y] == m {
			other, ey = st.t, 1
			a = math.Log1p(f * other)
		} else {
			d := s * (float64(m) - float64(x[y]))
			ey = math.Exp(-d)
			other = st.s - ey // ≥ 1: the maximum is another column
			a = math.Log(f*other+ey) + d
		}
		if g != nil {
			den := f*other + ey
			k.ExpAffine(g, x, m, E(s), E(gs*f/den), 0)
			g[y] = E(-gs * f * other / den)
		}
		return lambda * (a - logK)
	}
	for j, v := range x {
		u := float64(v)
		if j != y {
			u += c
		}
		e[j] = u / lambda
	}
	vy := e[y]
	mv, st := expTail(e)
	a, q := targetTerms64(vy, mv, st)
	if g != nil {
		for j := range g {
			g[j] = E(gs * e[j] / st.s)
		}
		g[y] = E(-gs * q)
	}
	return lambda * (a - logK)
}

func init() {
	Register(Spec{
		Name:    nameLdrKl,
		Catalog: "A11",
		Summary: "label-distributionally-robust KL loss λ·log((1/K)·Σ exp((c·[k≠y] + z_k − z_y)/λ))",
		Needs:   NeedsLabels,
		Params: []Param{
			{"lambda", 1, "temperature λ > 0 of the KL penalty"},
			{"margin", 0.1, "margin c added to the non-target scores"},
		},
		New: func(p map[string]float64, opts []Option) (Loss, error) {
			return NewLDRKL(p["lambda"], p["margin"], opts...)
		},
	})
}
