package loss

import (
	"math"
	"math/rand/v2"
	"sort"
	"sync"
)

// nameEnsloss is the registry name of this file's loss.
const nameEnsloss = "ensloss"

// EnsLoss is the stochastic calibrated loss ensemble of Dai, "EnsLoss:
// Stochastic Calibrated Loss Ensembles for Preventing Overfitting in
// Classification", 2024, arXiv:2409.00908 (catalog B2), for binary
// classification with logits z (Input.Logits; every element is one
// binary decision) and targets t ∈ {0, 1} (Input.Targets, the shape of
// the logits). Instead of a fixed margin loss φ(s) of the margin
// s = y·z, y = 2t − 1, every evaluation draws a fresh loss derivative
// that is non-decreasing in s and negative at 0 — the derivative of a
// convex, classification-calibrated loss — and uses it as the gradient:
//
//  1. draw ε_i ~ N(0, 1) and set g̃_i = −BC⁻¹_λ(ε_i), the inverse Box–Cox
//     transform (e^ε for λ = 0, max(1 + λε, 0)^{1/λ} otherwise);
//  2. sort g̃ ascending and clip it at −1;
//  3. give the k-th smallest g̃ to the element with the k-th smallest
//     margin (ties in margins go to the lower index);
//  4. superlinear tail: g_i ← g_i/s_i where s_i > 1;
//  5. g_i ← g_i − 1e−6 (strictly negative, so φ′(0) < 0).
//
// The surrogate value is L = (1/B)·Σ_i g_i·s_i with g held constant, so
// ∂L/∂z_i = g_i·y_i/B exactly. B is the number of elements (Mean); Sum
// drops the 1/B; None writes each row's Σ_i g_i·s_i. The logistic loss,
// with φ′(s) = −σ(−s), is the deterministic member of the same class.
//
// The draws come from a PCG generator seeded at construction and
// advanced by every Eval (B normal draws, in row-major order, under a
// lock), so a run is reproducible from the seed and the sequence of
// calls, and Eval32 and Eval64 of the same state draw the same numbers.
// EnsLossDerivatives applies steps 2–5 to given draws. Default λ = 0
// (log-normal magnitudes), as the official code.
//
// Differences from the official code (statmlben/ensLoss, losses.py,
// ensLoss.forward): a seeded generator instead of torch's global one; a
// stable sort of the margins (torch.sort does not promise an order for
// ties); any number of columns (the official loss takes one logit per
// example). The value L is the surrogate whose gradient is the drawn
// derivative, not the value of a fixed loss.
//
// Accuracy: exact up to float64 rounding of g·s. Errors: non-finite
// logits, targets other than 0 and 1, row weights.
type EnsLoss struct {
	o      Options
	lambda float64
	mu     sync.Mutex
	rng    *rand.Rand
}

// NewEnsLoss returns the loss-derivative ensemble with Box–Cox parameter
// λ, drawing from a generator seeded with seed.
func NewEnsLoss(lambda float64, seed uint64, opts ...Option) (*EnsLoss, error) {
	const name = nameEnsloss
	o, err := tsrBuild(name, opts)
	if err != nil {
		return nil, err
	}
	if math.IsNaN(lambda) || math.IsInf(lambda, 0) {
		return nil, valueErr(name, "lambda %v, want a finite number", lambda)
	}
	return &EnsLoss{o: o, lambda: lambda, rng: rand.New(rand.NewPCG(seed, 0x656e736c6f7373))}, nil
}

// Name returns "ensloss".
func (*EnsLoss) Name() string { return nameEnsloss }

// Eval32 evaluates the loss on float32 logits (Targets in {0, 1}).
func (e *EnsLoss) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return evalEnsLoss(e, in, out)
}

// Eval64 evaluates the loss on float64 logits.
func (e *EnsLoss) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return evalEnsLoss(e, in, out)
}

func evalEnsLoss[E exact](e *EnsLoss, in Input[E], out Output[E]) (float64, error) {
	const name = nameEnsloss
	rows, err := checkMatrix(name, in, out, e.o.Reduction)
	if err != nil {
		return 0, err
	}
	cols := in.Cols
	switch {
	case out.LSE != nil:
		return 0, shapeErr(name, "Output.LSE is not computed by this loss")
	case in.Teacher != nil || in.Labels != nil || in.Labels64 != nil:
		return 0, shapeErr(name, "takes Targets in {0, 1} only (no labels, no teacher)")
	case in.RowWeights != nil:
		return 0, shapeErr(name, "row weights are not accepted")
	case len(in.Targets) != len(in.Logits):
		return 0, shapeErr(name, "len(Targets) = %d, want %d (the shape of Logits)", len(in.Targets), len(in.Logits))
	}
	B := len(in.Logits)
	s := make([]float64, B)
	y := make([]float64, B)
	for i, v := range in.Logits {
		z := float64(v)
		if math.IsNaN(z) || math.IsInf(z, 0) {
			return 0, valueErr(name, "logit %v at row %d, column %d", v, i/cols, i%cols)
		}
		switch in.Targets[i] {
		case 0:
			y[i] = -1
		case 1:
			y[i] = 1
		default:
			return 0, valueErr(name, "target %v at row %d, column %d, want 0 or 1", in.Targets[i], i/cols, i%cols)
		}
		s[i] = y[i] * z
	}
	eps := make([]float64, B)
	e.mu.Lock()
	for i := range eps {
		eps[i] = e.rng.NormFloat64()
	}
	e.mu.Unlock()
	g := make([]float64, B)
	if err := EnsLossDerivatives(s, eps, e.lambda, g); err != nil {
		return 0, err
	}
	sc := 1.0
	if e.o.Reduction == Mean && B > 0 {
		sc = 1 / float64(B)
	}
	var total float64
	for i := 0; i < rows; i++ {
		var r float64
		for j := i * cols; j < (i+1)*cols; j++ {
			r += g[j] * s[j]
		}
		if f := float64(E(r)); math.IsInf(f, 0) || math.IsNaN(f) {
			return 0, valueErr(name, "the loss overflows at row %d (the row sums to %v)", i, r)
		}
		if out.Rows != nil {
			out.Rows[i] = E(r)
		}
		total += r
	}
	v, err := finiteTotal(name, total, sc, nil)
	if err != nil {
		return 0, err
	}
	if out.Grad != nil {
		for i := range g {
			e := E(sc * g[i] * y[i])
			if e != e || math.IsInf(float64(e), 0) {
				return 0, valueErr(name, "the gradient overflows at row %d, column %d", i/cols, i%cols)
			}
			out.Grad[i] = e
		}
	}
	return v, nil
}

// EnsLossDerivatives writes into g the loss derivatives EnsLoss assigns
// to the margins s given the normal draws eps (one per margin; steps 1–5
// of EnsLoss, with Box–Cox parameter λ). Every g_i is in [−1 − 1e−6, 0)
// and g is non-decreasing in s up to the superlinear tail.
func EnsLossDerivatives(s, eps []float64, lambda float64, g []float64) error {
	const name = nameEnsloss
	n := len(s)
	switch {
	case len(eps) != n || len(g) != n:
		return shapeErr(name, "%d margins, %d draws, %d outputs (want equal)", n, len(eps), len(g))
	case math.IsNaN(lambda) || math.IsInf(lambda, 0):
		return valueErr(name, "lambda %v, want a finite number", lambda)
	}
	raw := make([]float64, n)
	for i, u := range eps {
		if math.IsNaN(u) {
			return valueErr(name, "draw %v at %d", u, i)
		}
		var b float64
		if lambda == 0 {
			b = math.Exp(u)
		} else {
			b = math.Pow(max(1+lambda*u, 0), 1/lambda)
		}
		raw[i] = max(-b, -1)
	}
	sort.Float64s(raw)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return s[order[a]] < s[order[b]] })
	for k, i := range order {
		v := raw[k]
		if s[i] > 1 {
			v /= s[i]
		}
		g[i] = v - 1e-6
	}
	return nil
}

func init() {
	Register(Spec{
		Name:    nameEnsloss,
		Catalog: "B2",
		Summary: "stochastic calibrated loss-derivative ensemble for binary logits (fresh random convex-loss derivative per call)",
		Needs:   NeedsTargets,
		Params: []Param{
			{"lambda", 0, "Box–Cox parameter λ of the derivative magnitudes (0: log-normal)"},
			{"seed", 1, "seed of the draws (an integer ≥ 0)"},
		},
		New: func(p map[string]float64, opts []Option) (Loss, error) {
			sd := p["seed"]
			if sd != math.Trunc(sd) || sd < 0 || sd >= 1<<53 {
				return nil, valueErr(nameEnsloss, "seed %v, want an integer ≥ 0", sd)
			}
			return NewEnsLoss(p["lambda"], uint64(sd), opts...)
		},
	})
}
