package loss

import (
	"math"
	"unsafe"
)

// nameStablemaxCe is the registry name of this file's loss.
const nameStablemaxCe = "stablemax-ce"

// StableMaxCE is the StableMax cross-entropy of Prieto, Barsbey, Mediano
// and Birdal, "Grokking at the Edge of Numerical Stability" (ICLR 2025),
// catalog B16: softmax's exp replaced by the ramp
//
//	s(x) = x + 1 for x ≥ 0,   1/(1 − x) for x < 0    (C¹ at 0)
//	StableMax(z)_i = s(z_i)/Σ_j s(z_j),   ℓ = −log StableMax(z)_y
//
// Probabilities approach 1 only polynomially in the logit gap, so the loss
// does not collapse to 0 at gaps of about 17 as float32 softmax does
// (Softmax Collapse; see SoftmaxCollapse). It is not shift-invariant. The
// gradient, with s'(x) = 1 for x ≥ 0 and 1/(1 − x)² for x < 0, is
//
//	∂ℓ/∂z_j = s'(z_j)/Σ_l s(z_l) − δ_jy·s'(z_y)/s(z_y).
//
// Stable form, all in float64 (the official code also casts to float64):
// ℓ = log1p(R) with R = Σ_{j≠y} s(z_j)/s(z_y), the other classes' sum
// accumulated without the target's term, and the target's gradient as
// −s'(z_y)·R/Σ_l s(z_l), so neither the loss nor the gradient cancels when
// StableMax(z)_y is near 1. No exponentials: nothing overflows for any
// finite logits. −Inf logits are masks (s(−∞) = 0, s'(−∞) = 0).
//
// Difference from the official code (utils.py, stablemax_cross_entropy):
// it evaluates log(s(z)/Σ s(z)) with s(x) = 1/(1 − x + 1e-30) for x < 0;
// the 1e-30 changes nothing representable and is left out.
//
// Options: reduction, ignore index, class weights (row i's loss is
// w_{y_i}·ℓ_i, Mean divides by Σ r_i·w_{y_i}), row weights. Accuracy:
// about 1e-15 relative per row and per gradient entry (float64
// arithmetic on exactly converted inputs, for float32 and float64 alike).
type StableMaxCE struct{ o Options }

// NewStableMaxCE returns the StableMax cross-entropy.
func NewStableMaxCE(opts ...Option) (*StableMaxCE, error) {
	o, err := buildHard(nameStablemaxCe, opts, true)
	if err != nil {
		return nil, err
	}
	return &StableMaxCE{o}, nil
}

// Name returns "stablemax-ce".
func (*StableMaxCE) Name() string { return nameStablemaxCe }

// Eval32 evaluates the loss on float32 logits and labels.
func (s *StableMaxCE) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return evalStableMax(s, in, out)
}

// Eval64 evaluates the loss on float64 logits and labels.
func (s *StableMaxCE) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return evalStableMax(s, in, out)
}

// stableS returns s(x) and s'(x).
func stableS(x float64) (float64, float64) {
	if x >= 0 {
		return x + 1, 1
	}
	r := 1 / (1 - x)
	return r, r * r
}

func evalStableMax[E exact](s *StableMaxCE, in Input[E], out Output[E]) (float64, error) {
	cfg := hardCfg{name: nameStablemaxCe, o: s.o, masks: true}
	return evalHardRows(cfg, in, out, func() hardRowFn[E] {
		return func(i int, x []E, m E, y int, g []E, gs float64) (float64, error) {
			var others float64
			for j, v := range x {
				if j != y {
					sv, _ := stableS(float64(v))
					others += sv
				}
			}
			sy, dy := stableS(float64(x[y]))
			total := others + sy
			r := others / sy
			if g != nil {
				for j, v := range x {
					_, d := stableS(float64(v))
					g[j] = E(gs * d / total)
				}
				g[y] = E(-gs * dy * r / total)
			}
			return math.Log1p(r), nil
		}
	})
}

// CollapseStats counts Softmax Collapse (catalog B16) in a batch of
// logits: rows whose softmax normaliser Σ_j exp(z_j − max) rounds to
// exactly 1 in the logits' precision, so that their cross-entropy and the
// target's gradient are exactly 0 in a plain evaluation.
type CollapseStats struct {
	// Rows is the number of rows inspected (rows whose label is the
	// ignore index are skipped).
	Rows int
	// Collapsed counts rows whose Σ_j exp(z_j − max) == 1 in the working
	// precision (the official code's softmax_collapse).
	Collapsed int
	// ZeroLoss counts rows (with labels) whose cross-entropy
	// −[(z_y − max) − log Σ_j exp(z_j − max)] is exactly 0 in the working
	// precision (the official code's zero_terms); 0 without labels.
	ZeroLoss int
}

// CollapsedFraction returns Collapsed/Rows (0 for no rows).
func (c CollapseStats) CollapsedFraction() float64 { return frac(c.Collapsed, c.Rows) }

// ZeroLossFraction returns ZeroLoss/Rows (0 for no rows).
func (c CollapseStats) ZeroLossFraction() float64 { return frac(c.ZeroLoss, c.Rows) }

func frac(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// SoftmaxCollapse measures Softmax Collapse in the logits of in (float32
// logits are examined in float32, float64 in float64): the normaliser is
// accumulated in that precision as 1 + Σ_{j≠argmax} exp(z_j − max) in
// column order, each exponential rounded to the precision first, so a row
// collapses exactly when every other class's term is absorbed by the 1
// (in float32, a gap above log 2²⁴ ≈ 16.64 to every other class). The
// official code sums with PyTorch's reduction order, which can differ for
// rows of many classes just at the threshold. Labels (Labels or
// Labels64) are optional: with labels, rows labelled ignoreIndex are
// skipped and ZeroLoss is counted. NaN and +Inf logits, and rows that are
// entirely −Inf, are errors.
func SoftmaxCollapse[T Float](in Input[T], ignoreIndex int64) (CollapseStats, error) {
	var z T
	if unsafe.Sizeof(z) == 4 {
		return softmaxCollapse[float32](convertInput[T, float32](in), ignoreIndex)
	}
	return softmaxCollapse[float64](convertInput[T, float64](in), ignoreIndex)
}

func softmaxCollapse[E exact](in Input[E], ignoreIndex int64) (CollapseStats, error) {
	const name = "softmax-collapse"
	var st CollapseStats
	rows, err := checkMatrix(name, in, Output[E]{}, Sum)
	if err != nil {
		return st, err
	}
	labels := in.Labels != nil || in.Labels64 != nil
	if labels {
		if err := checkLabels(name, in, rows); err != nil {
			return st, err
		}
	}
	cols := in.Cols
	for i := 0; i < rows; i++ {
		y := int64(-1)
		if labels {
			if y = labelAt(in, i); y == ignoreIndex {
				continue
			}
			if y < 0 || y >= int64(cols) {
				return st, valueErr(name, "label %d at row %d outside [0, %d)", y, i, cols)
			}
		}
		x := in.Logits[i*cols : (i+1)*cols]
		m := E(math.Inf(-1))
		arg := -1
		for j, v := range x {
			if v != v || math.IsInf(float64(v), 1) {
				return st, valueErr(name, "logit %v at row %d, column %d", v, i, j)
			}
			if v > m {
				m, arg = v, j
			}
		}
		if arg < 0 {
			return st, valueErr(name, "row %d is entirely −Inf", i)
		}
		s := E(1)
		for j, v := range x {
			if j != arg {
				s += E(math.Exp(float64(v - m)))
			}
		}
		st.Rows++
		if s == 1 {
			st.Collapsed++
		}
		if labels {
			if l := -((x[y] - m) - E(math.Log(float64(s)))); l == 0 {
				st.ZeroLoss++
			}
		}
	}
	return st, nil
}

func init() {
	Register(Spec{
		Name:    nameStablemaxCe,
		Catalog: "B16",
		Summary: "StableMax cross-entropy (s(x) = x + 1 or 1/(1 − x) in place of exp; no Softmax Collapse)",
		Needs:   NeedsLabels,
		New: func(_ map[string]float64, opts []Option) (Loss, error) {
			return NewStableMaxCE(opts...)
		},
	})
}
