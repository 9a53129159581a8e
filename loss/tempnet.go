package loss

import (
	"math"
	"unsafe"

	"github.com/xentlab/xent/internal/rowstat"
)

// nameTempnet is the registry name of this file's loss.
const nameTempnet = "tempnet"

// TempNet is the temperature-scaled robust cross-entropy of Qiu et al.,
// "To Cool or not to Cool? Temperature Network Meets Large Foundation
// Models via DRO" (ICML 2024), catalog B32: for a row
// with K classes, temperature τ > 0 and KL budget ρ,
//
//	ℓ = τ·CE(z/τ, y) + τ·(ρ − log K) = τ·log((1/K)·Σ_j exp((z_j − z_y)/τ)) + τ·ρ
//
// the dual of max_{π: KL(π ‖ uniform) ≤ ρ} Σ_j π_j·(z_j − z_y). With τ = 1
// and ρ = log K it is cross-entropy. Defaults τ = 1, ρ = 0 (the paper's
// GPT-2 runs use ρ = 1 with τ from a temperature network in [0.5, 5]).
//
// Per-row temperatures: Input.Targets, when set, holds one τ per row (the
// output of a temperature network) in place of the constant τ. The
// gradients are
//
//	∂ℓ/∂z = softmax(z/τ) − e_y,    ∂ℓ/∂τ = H(softmax(z/τ)) + ρ − log K,
//
// the second written by EvalTempNet, which trains the temperature network
// (τ is stationary where the predictive entropy is log K − ρ).
//
// Stable form: CE(z/τ, y) = (max − z_y)/τ + log1p(T) with T the tail of
// exp((z_j − max)/τ) summed without the maximum's term (no Softmax
// Collapse at small τ), H = log S + Σ_j p_j·(max − z_j)/τ with S the
// normaliser, and the target's gradient −(1 − p_y) from the tail. K counts
// every column, masked ones included.
//
// Differences from the official code (TempNet, GPT-2/megatron/model/
// tempnet.py, tau_cross_entropy): the temperature network itself (a small
// MLP on the logits) is the caller's; the loss and its gradients are the
// same.
//
// Options: reduction, ignore index, class weights (row i's loss is
// w_{y_i}·ℓ_i, Mean divides by Σ r_i·w_{y_i}), row weights; −Inf logits
// off the target are masks.
//
// Accuracy: float64 about 1e-14·max(1, |ℓ|) per row; float32 logits give
// rows within 1e-5 relative (plus 1e-6·τ absolute: ℓ is a difference) and
// gradients within 1e-6 + 1e-5·|g| of the float64 values.
type TempNet struct {
	o        Options
	tau, rho float64
}

// NewTempNet returns the loss with constant temperature τ > 0 (used when
// Input.Targets is nil) and budget ρ.
func NewTempNet(tau, rho float64, opts ...Option) (*TempNet, error) {
	const name = nameTempnet
	if !(tau > 0) || math.IsInf(tau, 0) || math.IsNaN(rho) || math.IsInf(rho, 0) {
		return nil, valueErr(name, "tau = %v, rho = %v, want a positive finite τ and a finite ρ", tau, rho)
	}
	o, err := buildHard(name, opts, true)
	if err != nil {
		return nil, err
	}
	return &TempNet{o, tau, rho}, nil
}

// Name returns "tempnet".
func (*TempNet) Name() string { return nameTempnet }

// Eval32 evaluates the loss on float32 logits and labels (Targets: an
// optional τ per row).
func (l *TempNet) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return evalTempNet(k32, l, in, out, nil)
}

// Eval64 evaluates the loss on float64 logits and labels.
func (l *TempNet) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return evalTempNet(k64, l, in, out, nil)
}

// EvalTempNet evaluates l like Eval and also writes into dTau (one per
// row) the derivative of the returned (reduced) loss with respect to each
// row's temperature: r_i·w_{y_i}·(H_i + ρ − log K), divided by the Mean
// denominator; 0 for ignored rows. Without Input.Targets every row uses
// the constant τ, and dTau holds each row's share of ∂loss/∂τ.
func EvalTempNet[T Float](l *TempNet, in Input[T], out Output[T], dTau []T) (float64, error) {
	var z T
	if unsafe.Sizeof(z) == 4 {
		return evalTempNet(k32, l, convertInput[T, float32](in), convertOutput[T, float32](out), rowstat.AsExact[T, float32](dTau))
	}
	return evalTempNet(k64, l, convertInput[T, float64](in), convertOutput[T, float64](out), rowstat.AsExact[T, float64](dTau))
}

func evalTempNet[E exact](k *kernels[E], l *TempNet, in Input[E], out Output[E], dTau []E) (float64, error) {
	const name = nameTempnet
	if dTau != nil {
		if in.Cols > 0 && len(dTau) != len(in.Logits)/in.Cols {
			return 0, shapeErr(name, "len(dTau) = %d, want %d (one per row)", len(dTau), len(in.Logits)/in.Cols)
		}
		clear(dTau)
	}
	cfg := hardCfg{name: name, o: l.o, masks: true, rowTargets: true}
	rho := l.rho
	return evalHardRows(cfg, in, out, func() hardRowFn[E] {
		return func(i int, x []E, m E, y int, g []E, gs float64) (float64, error) {
			tau := l.tau
			if in.Targets != nil {
				tau = float64(in.Targets[i])
				if !(tau > 0) || math.IsInf(tau, 0) {
					return 0, valueErr(name, "temperature %v at row %d, want a positive finite number", in.Targets[i], i)
				}
			}
			s := 1 / tau
			logK := math.Log(float64(len(x)))
			st := scaledTail(k, x, m, s)
			a, q := targetTerms(x, m, y, s, st)
			if dTau != nil {
				// H = log S + s·Σ_j p_j·(m − z_j), over the unmasked columns.
				var h float64
				for _, v := range x {
					if d := float64(m) - float64(v); !math.IsInf(d, 0) {
						h += math.Exp(-s*d) * d
					}
				}
				h = math.Log1p(st.t) + s*h/st.s
				dTau[i] = E(gs * (h + rho - logK))
			}
			if g != nil {
				writeCEShape(k, g, x, m, s, y, st, q, gs)
			}
			return tau*a + tau*(rho-logK), nil
		}
	})
}

func init() {
	Register(Spec{
		Name:    nameTempnet,
		Catalog: "B32",
		Summary: "DRO temperature-scaled cross-entropy τ·CE(z/τ) + τ·(ρ − log K) (optional Targets: one τ per row)",
		Needs:   NeedsLabels,
		Params: []Param{
			{"tau", 1, "temperature τ > 0 when no per-row temperatures are given"},
			{"rho", 0, "KL budget ρ"},
		},
		New: func(p map[string]float64, opts []Option) (Loss, error) {
			return NewTempNet(p["tau"], p["rho"], opts...)
		},
	})
}
