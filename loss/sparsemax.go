package loss

import (
	"github.com/xentlab/xent/softmax"
)

// nameSparsemax is the registry name of this file's loss.
const nameSparsemax = "sparsemax"

// SparsemaxLoss is the sparsemax loss of Martins and Astudillo, "From
// Softmax to Sparsemax: A Sparse Model of Attention and Multi-Label
// Classification" (ICML 2016), the Fenchel–Young loss of the Gini entropy
// (Blondel, Martins and Niculae, "Learning with Fenchel-Young Losses",
// JMLR 2020). With p = sparsemax(z) (softmax.Sparsemax) and support
// S = {j : p_j > 0}:
//
//	ℓ = −z_y + ½·Σ_{j∈S} (z_j² − τ²) + ½ = Σ_{j∈S} p_j·(z_j − z_y) + ½·(1 − ‖p‖²)
//
// ℓ ≥ 0, with ℓ = 0 exactly when p = e_y (the target beats every other
// logit by at least 1); its gradient is ∂ℓ/∂z = p − e_y, sparse like p.
// There are no parameters. ℓ is differentiable everywhere (its gradient
// is continuous but piecewise linear).
//
// Stable form: the right-hand expression, which is shift-invariant, so
// large offsets cancel exactly (the paper's z_j² − τ² form loses every
// digit at logits of 1e4), with ½(1 − ‖p‖²) = ½·Σ_j p_j·(1 − p_j) and
// 1 − p_j of the largest p_j summed from the other entries, and the
// target's gradient −Σ_{j≠y} p_j. All in float64.
//
// Options: reduction, ignore index, class weights (row i's loss is
// w_{y_i}·ℓ_i, Mean divides by Σ r_i·w_{y_i}), row weights; −Inf logits
// off the target are masks. Accuracy: about 1e-15·max(1, |z|) absolute per
// row; float32 logits are read exactly.
type SparsemaxLoss struct{ o Options }

// NewSparsemaxLoss returns the sparsemax loss.
func NewSparsemaxLoss(opts ...Option) (*SparsemaxLoss, error) {
	o, err := buildHard(nameSparsemax, opts, true)
	if err != nil {
		return nil, err
	}
	return &SparsemaxLoss{o}, nil
}

// Name returns "sparsemax".
func (*SparsemaxLoss) Name() string { return nameSparsemax }

// Eval32 evaluates the loss on float32 logits and labels.
func (s *SparsemaxLoss) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return evalSparsemax(s, in, out)
}

// Eval64 evaluates the loss on float64 logits and labels.
func (s *SparsemaxLoss) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return evalSparsemax(s, in, out)
}

func evalSparsemax[E exact](s *SparsemaxLoss, in Input[E], out Output[E]) (float64, error) {
	cfg := hardCfg{name: nameSparsemax, o: s.o, masks: true}
	return evalHardRows(cfg, in, out, func() hardRowFn[E] {
		var p []float64
		return func(i int, x []E, _ E, y int, g []E, gs float64) (float64, error) {
			cols := len(x)
			if len(p) != cols {
				p = make([]float64, cols)
			}
			for j, v := range x {
				p[j] = float64(v)
			}
			if err := softmax.Sparsemax(p, p, cols, softmax.Threads(1)); err != nil {
				return 0, err
			}
			zy := float64(x[y])
			top := 0
			for j, v := range p {
				if v > p[top] {
					top = j
				}
			}
			var lin, rest, others float64
			for j, v := range p {
				if v == 0 {
					continue
				}
				lin += v * (float64(x[j]) - zy)
				if j != top {
					rest += v * (1 - v)
					others += v
				}
			}
			l := lin + 0.5*(rest+p[top]*others)
			if g != nil {
				var off float64 // Σ_{j≠y} p_j
				for j, v := range p {
					if j != y {
						off += v
					}
					g[j] = E(gs * v)
				}
				g[y] = E(-gs * off)
			}
			return l, nil
		}
	})
}

func init() {
	Register(Spec{
		Name:    nameSparsemax,
		Summary: "sparsemax loss (Fenchel–Young, Gini entropy): gradient sparsemax(z) − e_y",
		Needs:   NeedsLabels,
		New: func(_ map[string]float64, opts []Option) (Loss, error) {
			return NewSparsemaxLoss(opts...)
		},
	})
}
