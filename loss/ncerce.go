package loss

import (
	"math"
)

// nameNceRce is the registry name of this file's loss.
const nameNceRce = "nce-rce"

// NCERCE is the active–passive loss NCE+RCE of Ma, Huang, Wang, Romano,
// Erfani and Bailey, "Normalized Loss Functions for Deep Learning with
// Noisy Labels" (ICML 2020): normalized cross-entropy plus reverse
// cross-entropy,
//
//	ℓ = α·NCE + β·RCE
//	NCE = −log p_y / Σ_k (−log p_k)
//	RCE = −Σ_k p_k·log q_k = −A·(1 − p_y)
//
// where q is the one-hot label with log 0 replaced by the constant A. The
// official code (Active-Passive-Losses, loss.py, ReverseCrossEntropy)
// clamps the one-hot label at 1e-4 before the log, so A = log(1e-4) ≈
// −9.2103, not the A = −4 of the Symmetric Cross Entropy paper's text;
// this implementation follows the code (parameter a, default log 1e-4).
// Defaults α = 1, β = 1 (the paper's CIFAR-10 setting; CIFAR-100 uses
// α = 10, β = 0.1).
//
// Gradient, with a_k = −log p_k, D = Σ_k a_k and K classes:
//
//	∂NCE/∂z_j = [p_j·(D − K·a_y) + a_y − δ_jy·D]/D²
//	∂RCE/∂z_j = −A·p_y·(p_j − δ_jy)
//
// Stable form: D = K·log S + Σ_k (max − z_k), a sum of non-negative terms,
// a_y = (max − z_y) + log1p(T) and 1 − p_y from the softmax tail T kept to
// full precision, and the target's gradient written without cancellation
// of 1 − p_y. One class (K = 1) has NCE = 1 (the ratio of a sum to itself;
// also the value 1/K of a uniform row), RCE = 0 and gradient 0.
//
// Difference from the official code: it also clamps p at 1e-7 inside RCE,
// which only adds up to K·1e-7·|A| to the loss and zeroes the gradient of
// tiny probabilities; the exact form is used here.
//
// Options: reduction, ignore index, class weights (row i's loss is
// w_{y_i}·ℓ_i, Mean divides by Σ r_i·w_{y_i}), row weights. −Inf logits
// are rejected: a masked class makes the normalizer D infinite.
//
// Accuracy: float64 about 1e-13 relative per row; float32 logits give
// rows within 1e-5 relative and gradients within 1e-6 + 1e-5·|g| of the
// float64 values. Sums are in float64.
type NCERCE struct {
	o           Options
	alpha, beta float64
	a           float64
}

// NCERCELog0 is the official code's value of log 0 in the reverse
// cross-entropy: log(1e-4) = −4·log 10.
const NCERCELog0 = -9.210340371976182736

// NewNCERCE returns α·NCE + β·RCE with log 0 taken as a < 0 in RCE
// (NCERCELog0 in the official code).
func NewNCERCE(alpha, beta, a float64, opts ...Option) (*NCERCE, error) {
	const name = nameNceRce
	switch {
	case math.IsNaN(alpha) || math.IsInf(alpha, 0) || math.IsNaN(beta) || math.IsInf(beta, 0):
		return nil, valueErr(name, "alpha = %v, beta = %v, want finite numbers", alpha, beta)
	case !(a < 0) || math.IsInf(a, 0):
		return nil, valueErr(name, "a = %v, want a finite negative number (log 0 in RCE)", a)
	}
	o, err := buildHard(name, opts, true)
	if err != nil {
		return nil, err
	}
	return &NCERCE{o, alpha, beta, a}, nil
}

// Name returns "nce-rce".
func (*NCERCE) Name() string { return nameNceRce }

// Eval32 evaluates the loss on float32 logits and labels.
func (n *NCERCE) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return evalNCERCE(k32, n, in, out)
}

// Eval64 evaluates the loss on float64 logits and labels.
func (n *NCERCE) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return evalNCERCE(k64, n, in, out)
}

func evalNCERCE[E exact](k *kernels[E], n *NCERCE, in Input[E], out Output[E]) (float64, error) {
	cfg := hardCfg{name: nameNceRce, o: n.o}
	alpha, beta, negA := n.alpha, n.beta, -n.a
	return evalHardRows(cfg, in, out, func() hardRowFn[E] {
		return func(i int, x []E, m E, y int, g []E, gs float64) (float64, error) {
			K := float64(len(x))
			if len(x) == 1 {
				if g != nil {
					g[0] = 0
				}
				return alpha, nil
			}
			st := scaledTail(k, x, m, 1)
			a, q := targetTerms(x, m, y, 1, st)
			py := 1 - q
			if py < 0.5 {
				py = math.Exp(-a)
			}
			var spread float64 // Σ_k (max − z_k), each term exact or one rounding
			for _, v := range x {
				spread += float64(m) - float64(v)
			}
			D := K*math.Log1p(st.t) + spread
			l := alpha*a/D + beta*negA*q
			if g != nil {
				D2 := D * D
				P := alpha*(D-K*a)/D2 + beta*negA*py
				B := alpha * a / D2
				gy := alpha*(a*(1-K*py)-q*D)/D2 - beta*negA*py*q
				k.ExpAffine(g, x, m, 1, E(gs*P/st.s), E(-gs*B))
				g[y] = E(gs * gy)
			}
			return l, nil
		}
	})
}

func init() {
	Register(Spec{
		Name:    nameNceRce,
		Summary: "active–passive loss α·NCE + β·RCE (normalized CE + reverse CE, log 0 = a)",
		Needs:   NeedsLabels,
		Params: []Param{
			{"alpha", 1, "weight of the normalized cross-entropy"},
			{"beta", 1, "weight of the reverse cross-entropy"},
			{"a", NCERCELog0, "log 0 in the reverse cross-entropy (official code: log 1e-4)"},
		},
		New: func(p map[string]float64, opts []Option) (Loss, error) {
			return NewNCERCE(p["alpha"], p["beta"], p["a"], opts...)
		},
	})
}
