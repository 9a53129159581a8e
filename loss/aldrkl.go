package loss

import (
	"math"
)

// nameAldrKl is the registry name of this file's loss.
const nameAldrKl = "aldr-kl"

// ALDRKL is the adaptive LDR-KL loss (ALDR-KL) of Zhu, Ying and Yang,
// "Label Distributionally Robust Losses for Multi-class Classification:
// Consistency, Robustness and Adaptivity" (ICML 2023), catalog A11: the
// LDR-KL loss ψ_λ (see LDRKL) with a per-sample temperature λ_i that is
// updated in closed form at every visit of the sample, as in the official
// code (ICML2023_LDR, loss.py, ALDRLoss_V1):
//
//	p  = softmax(z/λ_old),  p̃ = (p + 1e-5)/Σ(p + 1e-5)
//	λ_new = λ₀ − λ₀·KL(p̃ ‖ 1/K)/(α·log K)
//	ℓ = ψ_{λ_new}(z, y) − (α·log K/(2λ₀))·(λ_new − λ₀)²
//
// with the margin c inside ψ. λ_new is a constant for the gradient (the
// code detaches it), so ∂ℓ/∂z = softmax(u/λ_new) − e_y, u as in LDRKL.
// KL(p̃ ‖ 1/K) < log K, so λ_new lies in (λ₀·(1 − 1/α), λ₀]; α ≥ 1 keeps
// it positive. Defaults α = 2, λ₀ = 10, margin 0.1 (the official
// experiments' settings). One class: λ_new = λ₀ and ℓ = 0.
//
// # State
//
// The per-sample temperatures are the caller's: a []float64 holding the
// current λ of every sample in the batch (gather them from a
// dataset-sized slice by sample index, scatter them back afterwards;
// fill it with λ₀ before the first epoch — InitialState does). Step32 and
// Step64 read λ_old from it and overwrite it with λ_new (rows whose label
// is the ignore index keep theirs). Eval32 and Eval64, the Loss interface
// and the registry's "aldr-kl", keep no state: they read λ_old from
// Input.Targets (one value per row) when it is set, and use λ₀ for every
// row otherwise, and compute the loss with λ_new without storing it.
//
// Differences from the official code: the score normalization it applies
// first (z ← z/(‖z‖₁/K), with a softplus before it on CIFAR-100) is left
// to the caller, as for LDRKL; its 1e-5 smoothing of p is kept, as it is
// part of the update rule.
//
// Options: reduction, ignore index, class weights (row i's loss is
// w_{y_i}·ℓ_i, Mean divides by Σ r_i·w_{y_i}), row weights; −Inf logits
// off the target are masks. Accuracy as LDRKL (the update is float64).
type ALDRKL struct {
	o                      Options
	alpha, lambda0, margin float64
}

// NewALDRKL returns the ALDR-KL loss with α ≥ 1, λ₀ > 0 and margin c.
func NewALDRKL(alpha, lambda0, margin float64, opts ...Option) (*ALDRKL, error) {
	const name = nameAldrKl
	switch {
	case !(alpha >= 1) || math.IsInf(alpha, 0):
		return nil, valueErr(name, "alpha = %v, want a finite number ≥ 1 (smaller values can make λ negative)", alpha)
	case !(lambda0 > 0) || math.IsInf(lambda0, 0):
		return nil, valueErr(name, "lambda0 = %v, want a positive finite number", lambda0)
	case math.IsNaN(margin) || math.IsInf(margin, 0):
		return nil, valueErr(name, "margin = %v, want a finite number", margin)
	}
	o, err := buildHard(name, opts, true)
	if err != nil {
		return nil, err
	}
	return &ALDRKL{o, alpha, lambda0, margin}, nil
}

// Name returns "aldr-kl".
func (*ALDRKL) Name() string { return nameAldrKl }

// InitialState returns the state of n samples before their first visit:
// λ₀ each.
func (l *ALDRKL) InitialState(n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = l.lambda0
	}
	return s
}

// Eval32 evaluates the loss on float32 logits and labels; Input.Targets,
// if set, holds each row's current λ (see the type's State section).
func (l *ALDRKL) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return evalALDRKL(l, in, out, nil)
}

// Eval64 evaluates the loss on float64 logits and labels.
func (l *ALDRKL) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return evalALDRKL(l, in, out, nil)
}

// Step32 evaluates the loss with the batch's per-sample temperatures
// lambda (one per row), which it updates in place.
func (l *ALDRKL) Step32(in Input[float32], out Output[float32], lambda []float64) (float64, error) {
	return stepALDRKL(l, in, out, lambda)
}

// Step64 is Step32 for float64 inputs.
func (l *ALDRKL) Step64(in Input[float64], out Output[float64], lambda []float64) (float64, error) {
	return stepALDRKL(l, in, out, lambda)
}

func stepALDRKL[E exact](l *ALDRKL, in Input[E], out Output[E], lambda []float64) (float64, error) {
	const name = nameAldrKl
	switch {
	case in.Targets != nil:
		return 0, shapeErr(name, "the state is passed to Step, not in Targets")
	case in.Cols <= 0 || len(in.Logits)%in.Cols != 0:
		return evalALDRKL(l, in, out, lambda) // the shape error
	case len(lambda) != len(in.Logits)/in.Cols:
		return 0, shapeErr(name, "len(lambda) = %d, want %d (one per row)", len(lambda), len(in.Logits)/in.Cols)
	}
	return evalALDRKL(l, in, out, lambda)
}

func evalALDRKL[E exact](l *ALDRKL, in Input[E], out Output[E], state []float64) (float64, error) {
	const name = nameAldrKl
	cfg := hardCfg{name: name, o: l.o, masks: true, rowTargets: true}
	return evalHardRows(cfg, in, out, func() hardRowFn[E] {
		var e []float64
		return func(i int, x []E, m E, y int, g []E, gs float64) (float64, error) {
			if len(e) != len(x) {
				e = make([]float64, len(x))
			}
			old := l.lambda0
			switch {
			case state != nil:
				old = state[i]
			case in.Targets != nil:
				old = float64(in.Targets[i])
			}
			if !(old > 0) || math.IsInf(old, 0) {
				return 0, valueErr(name, "lambda %v at row %d, want a positive finite number", old, i)
			}
			lam := aldrUpdate(e, x, old, l.lambda0, l.alpha)
			if state != nil {
				state[i] = lam
			}
			K := float64(len(x))
			pen := -l.alpha * math.Log(K) / (2 * l.lambda0) * (lam - l.lambda0) * (lam - l.lambda0)
			return ldrRow(e, x, m, y, lam, l.margin, g, gs) + pen, nil
		}
	})
}

// aldrUpdate returns λ_new for row x from λ_old (e: float64 scratch of
// the row's length).
func aldrUpdate[E exact](e []float64, x []E, old, lambda0, alpha float64) float64 {
	K := float64(len(x))
	if len(x) == 1 {
		return lambda0
	}
	for j, v := range x {
		e[j] = float64(v) / old
	}
	_, st := expTail(e)
	const smooth = 1e-5
	norm := 1 + K*smooth
	var kl float64
	for _, v := range e {
		p := (v/st.s + smooth) / norm
		kl += p * math.Log(K*p)
	}
	return lambda0 - lambda0*kl/(alpha*math.Log(K))
}

func init() {
	Register(Spec{
		Name:    nameAldrKl,
		Catalog: "A11",
		Summary: "adaptive LDR-KL: per-sample λ updated in closed form (state: optional Targets, one λ per row)",
		Needs:   NeedsLabels,
		Params: []Param{
			{"alpha", 2, "α ≥ 1 of the λ update and penalty"},
			{"lambda0", 10, "reference temperature λ₀ > 0 (the initial λ)"},
			{"margin", 0.1, "margin c added to the non-target scores"},
		},
		New: func(p map[string]float64, opts []Option) (Loss, error) {
			return NewALDRKL(p["alpha"], p["lambda0"], p["margin"], opts...)
		},
	})
}
