package loss

import "math"

// nameSCELabels is the registry name of this file's loss.
const nameSCELabels = "sce-labels"

// SCELabels is the symmetric cross-entropy for learning with noisy class
// labels (Wang, Ma, Chen, Luo, Yi and Bailey, "Symmetric Cross Entropy
// for Robust Learning with Noisy Labels", ICCV 2019): cross-entropy plus
// the reverse cross-entropy, with log 0 of the one-hot label clamped to
// A:
//
//	ℓ_i = r_i·[ α·(−log p_y) + β·(−Σ_k p_k·log q_k) ] = r_i·[ −α·log p_y − β·A·(1 − p_y) ]
//
// with p = softmax(z), q the one-hot distribution of label y and
// log q_k = A for k ≠ y. Its gradient is
//
//	∂ℓ/∂z_j = r_i·[ α·(p_j − 1[j=y]) − β·A·p_y·(p_j − 1[j=y]) ]·… in the general form α·(p − q) − β·p_j·(L_j − Σ_k p_k·L_k), L = log q clamped.
//
// It is the sce of xent lab (trained on labels), and differs from the
// registry's "sce" (catalog A27), Robust Mean Teacher's consistency loss
// between a student and a teacher distribution, by taking labels and
// weighting the two terms with α and β (the paper's notation) instead of
// (1−α) and α. Defaults: α = 0.1, β = 1, A = −4 (the paper's CIFAR-10
// setting; it uses α = 0.01 on MNIST).
//
// Labels equal to the ignore index give rows of loss and gradient 0,
// left out of the mean; Mean divides by the number (Σ r_i with row
// weights) of the other rows, Sum adds, None writes each row's value.
// It is computed as (α+β)·SCE with weight β/(α+β) on the reverse term,
// on one-hot targets (see SCE for the numerics).
//
// Accuracy: float64 throughout, about 1e-13 relative per row for float64
// logits up to 1e4 in magnitude; float32 rounding of the result for
// float32.
type SCELabels struct {
	o           Options
	sce         *SCE
	alpha, beta float64
}

// NewSCELabels returns the symmetric cross-entropy on labels with weights
// α ≥ 0 on the cross-entropy and β ≥ 0 on the reverse term (not both 0)
// and the clamp A < 0 of log 0 (finite: without it the reverse term of a
// one-hot label is infinite).
func NewSCELabels(alpha, beta, logZero float64, opts ...Option) (*SCELabels, error) {
	const name = nameSCELabels
	o, err := tsrBuild(name, opts)
	if err != nil {
		return nil, err
	}
	switch {
	case !(alpha >= 0) || math.IsInf(alpha, 0):
		return nil, valueErr(name, "alpha %v, want a finite number ≥ 0", alpha)
	case !(beta >= 0) || math.IsInf(beta, 0):
		return nil, valueErr(name, "beta %v, want a finite number ≥ 0", beta)
	case alpha+beta == 0:
		return nil, valueErr(name, "alpha and beta are both 0")
	case !(logZero < 0) || math.IsInf(logZero, 0):
		return nil, valueErr(name, "A = %v, want a finite number < 0 (the clamp of log 0)", logZero)
	}
	sce, err := NewSCE(beta/(alpha+beta), logZero, WithReduction(o.Reduction), WithThreads(o.Threads))
	if err != nil {
		return nil, err
	}
	return &SCELabels{o: o, sce: sce, alpha: alpha, beta: beta}, nil
}

// Name returns "sce-labels".
func (*SCELabels) Name() string { return nameSCELabels }

// Eval32 evaluates the loss on float32 logits with Labels or Labels64
// (optional RowWeights).
func (l *SCELabels) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return evalSCELabels(l, in, out, l.sce.Eval32)
}

// Eval64 evaluates the loss on float64 logits.
func (l *SCELabels) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return evalSCELabels(l, in, out, l.sce.Eval64)
}

func evalSCELabels[E float32 | float64](l *SCELabels, in Input[E], out Output[E], eval func(Input[E], Output[E]) (float64, error)) (float64, error) {
	const name = nameSCELabels
	if in.Targets != nil || in.Teacher != nil {
		return 0, shapeErr(name, "takes labels (Labels or Labels64), not Targets or Teacher")
	}
	if in.Labels != nil && in.Labels64 != nil {
		return 0, shapeErr(name, "both Labels and Labels64 are set")
	}
	rows := len(in.Labels) + len(in.Labels64)
	if in.Cols < 1 || len(in.Logits) != rows*in.Cols {
		return 0, shapeErr(name, "%d logits for %d labels of %d columns", len(in.Logits), rows, in.Cols)
	}
	cols := in.Cols
	label := func(i int) int64 {
		if in.Labels != nil {
			return int64(in.Labels[i])
		}
		return in.Labels64[i]
	}
	targets := make([]E, rows*cols)
	weights := in.RowWeights
	copied := false
	for i := range rows {
		y := label(i)
		if y == l.o.IgnoreIndex {
			if !copied { // a copy with the ignored rows' weights 0
				w := make([]E, rows)
				for k := range w {
					w[k] = 1
					if k < len(in.RowWeights) {
						w[k] = in.RowWeights[k]
					}
				}
				weights, copied = w, true
			}
			weights[i] = 0
			targets[i*cols] = 1 // any distribution: the row's weight is 0
			continue
		}
		if y < 0 || y >= int64(cols) {
			return 0, valueErr(name, "label %d at row %d outside [0, %d)", y, i, cols)
		}
		targets[i*cols+int(y)] = 1
	}
	v, err := eval(Input[E]{Logits: in.Logits, Cols: cols, Targets: targets, RowWeights: weights}, out)
	if err != nil {
		return 0, err
	}
	if s := l.alpha + l.beta; s != 1 {
		v *= s
		if math.IsInf(v, 0) {
			return 0, valueErr(name, "the loss overflows float64 (alpha + beta = %g)", s)
		}
		for i := range out.Grad {
			g := E(float64(out.Grad[i]) * s)
			if math.IsInf(float64(g), 0) {
				return 0, valueErr(name, "gradient at row %d, column %d overflows the output's precision", i/cols, i%cols)
			}
			out.Grad[i] = g
		}
		for i := range out.Rows {
			r := float64(out.Rows[i]) * s
			out.Rows[i] = E(r)
			if math.IsInf(float64(out.Rows[i]), 0) && !math.IsInf(r, 0) {
				return 0, valueErr(name, "row %d: loss %g overflows the output's precision", i, r)
			}
		}
	}
	return v, nil
}

func init() {
	Register(Spec{
		Name:    nameSCELabels,
		Summary: "symmetric cross-entropy on labels for noisy labels (Wang et al. 2019): α·CE + β·reverse CE, log 0 clamped to A; sce is the teacher variant",
		Needs:   NeedsLabels,
		Params: []Param{
			{"alpha", 0.1, "weight α ≥ 0 of the cross-entropy"},
			{"beta", 1, "weight β ≥ 0 of the reverse cross-entropy"},
			{"a", -4, "A < 0, the clamp of log 0 in the reverse term"},
		},
		New: func(p map[string]float64, opts []Option) (Loss, error) {
			return NewSCELabels(p["alpha"], p["beta"], p["a"], opts...)
		},
	})
}
