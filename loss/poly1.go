package loss

import (
	"math"

	"github.com/xentlab/xent/internal/par"
	"github.com/xentlab/xent/internal/rowstat"
)

// namePoly1 is the registry name of this file's loss.
const namePoly1 = "poly1"

// Poly1 is the Poly-1 loss of Leng, Tan, Liu, Cubuk et al., "PolyLoss: A
// Polynomial Expansion Perspective of Classification Loss Functions"
// (ICLR 2022): cross-entropy plus ε times the first term of its Taylor
// expansion in (1 − p_y),
//
//	ℓ = −log p_y + ε·(1 − p_y),    p = softmax(z)
//
// with ε ≥ −1 (default 1; ε = 0 is cross-entropy; ε < −1 would make ℓ
// decrease in p_y near p_y = 1). The gradient is
//
//	∂ℓ/∂z = (1 + ε·p_y)·(p − e_y).
//
// Stable form: −log p_y = (max − z_y) + log1p(T) and 1 − p_y = T/(1 + T)
// when the target holds the maximum (T the softmax tail summed without
// the maximum's term), −expm1(log p_y) otherwise, so a confident row keeps
// its tiny loss and gradient at any logit scale.
//
// Soft targets (Input.Targets, the shape of the logits, in place of
// labels) give Optax's poly_loss_cross_entropy,
//
//	ℓ = −Σ_j t_j·log p_j + ε·Σ_j t_j·(1 − p_j),
//	∂ℓ/∂z_k = p_k·(T + ε·P) − t_k·(1 + ε·p_k),   T = Σ_j t_j,  P = Σ_j t_j·p_j,
//
// which is the hard-label loss for one-hot t (Optax's default ε is 2).
// Targets must be finite and ≥ 0 (they need not sum to 1); 1 − p_j comes
// from the tail as above, and the argmax column's gradient is computed as
// −(1 − p_a)(T + εP) + Σ_{j≠a} t_j(1 + εp_j), free of cancellation, so a
// confident row keeps its tiny gradient. Row weights apply (Mean divides
// by Σ r_i); class weights and the ignore index do not.
//
// Difference from the paper's code (TensorFlow, in its appendix): that
// code applies label smoothing inside the cross-entropy and computes p_t
// against the smoothed labels; here label smoothing is rejected (give
// smoothed soft targets instead). Options: reduction, ignore index, class
// weights (row i's loss is w_{y_i}·ℓ_i, Mean divides by Σ r_i·w_{y_i})
// and row weights; −Inf logits off the target are masks.
//
// Accuracy: float64 about 1e-14 relative per row; float32 logits give
// rows within 1e-5 relative and gradients within 1e-6 + 1e-5·|g| of the
// float64 values. Sums are in float64.
type Poly1 struct {
	o   Options
	eps float64
}

// NewPoly1 returns the Poly-1 loss with coefficient ε ≥ −1.
func NewPoly1(eps float64, opts ...Option) (*Poly1, error) {
	if !(eps >= -1) || math.IsInf(eps, 0) {
		return nil, valueErr(namePoly1, "epsilon = %v, want a finite number ≥ −1", eps)
	}
	o, err := buildHard(namePoly1, opts, true)
	if err != nil {
		return nil, err
	}
	return &Poly1{o, eps}, nil
}

// Name returns "poly1".
func (*Poly1) Name() string { return namePoly1 }

// Eval32 evaluates the loss on float32 logits and labels.
func (p *Poly1) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return evalPoly1(k32, p, in, out)
}

// Eval64 evaluates the loss on float64 logits and labels.
func (p *Poly1) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return evalPoly1(k64, p, in, out)
}

func evalPoly1[E exact](k *kernels[E], p *Poly1, in Input[E], out Output[E]) (float64, error) {
	if in.Targets != nil {
		return evalPoly1Soft(k, p, in, out)
	}
	eps := p.eps
	cfg := hardCfg{name: namePoly1, o: p.o, masks: true}
	return evalHardRows(cfg, in, out, func() hardRowFn[E] {
		return func(i int, x []E, m E, y int, g []E, gs float64) (float64, error) {
			st := scaledTail(k, x, m, 1)
			a, q := targetTerms(x, m, y, 1, st)
			if g != nil {
				writeCEShape(k, g, x, m, 1, y, st, q, gs*(1+eps*(1-q)))
			}
			return a + eps*q, nil
		}
	})
}

// evalPoly1Soft is Poly-1 against soft targets.
func evalPoly1Soft[E exact](k *kernels[E], p *Poly1, in Input[E], out Output[E]) (float64, error) {
	const name = namePoly1
	rows, err := checkMatrix(name, in, out, p.o.Reduction)
	if err != nil {
		return 0, err
	}
	cols := in.Cols
	switch {
	case out.LSE != nil:
		return 0, shapeErr(name, "Output.LSE is not computed by this loss")
	case in.Labels != nil || in.Labels64 != nil:
		return 0, shapeErr(name, "both labels and soft Targets are set")
	case in.Teacher != nil:
		return 0, shapeErr(name, "Teacher is not used by this loss")
	case len(in.Targets) != len(in.Logits):
		return 0, shapeErr(name, "len(Targets) = %d, want %d (the shape of Logits)", len(in.Targets), len(in.Logits))
	case p.o.ClassWeights != nil:
		return 0, valueErr(name, "class weights do not apply to soft targets")
	}
	var den float64
	for i := 0; i < rows; i++ {
		den += rowWeight(in, i)
	}
	sc := 1.0
	if p.o.Reduction == Mean {
		sc = 0
		if den > 0 {
			sc = 1 / den
		}
	}
	eps := p.eps
	total, err := sumBlocks(rows, max(1, blockElems/cols), par.Threads(p.o.Threads), func(lo, hi int) (float64, error) {
		pj := make([]float64, cols)
		var part float64
		for i := lo; i < hi; i++ {
			x, t := in.Logits[i*cols:(i+1)*cols], in.Targets[i*cols:(i+1)*cols]
			var g []E
			if out.Grad != nil {
				g = out.Grad[i*cols : (i+1)*cols]
			}
			r := rowWeight(in, i)
			m, nan := k.MaxNaN(x)
			if nan || math.IsInf(float64(m), 0) {
				for j, v := range x {
					if v != v || math.IsInf(float64(v), 1) {
						return 0, valueErr(name, "logit %v at row %d, column %d", v, i, j)
					}
				}
				return 0, valueErr(name, "every logit is −Inf at row %d", i)
			}
			st := scaledTail(k, x, m, 1)
			var ce, om, tot, pt float64
			for j, v := range t {
				tv := float64(v)
				if !(tv >= 0) || math.IsInf(tv, 1) {
					return 0, valueErr(name, "soft target %v at row %d, column %d (want finite and ≥ 0)", v, i, j)
				}
				if tv == 0 {
					pj[j] = 0
					continue
				}
				if math.IsInf(float64(x[j]), -1) {
					return 0, valueErr(name, "target mass on a −Inf logit at row %d, column %d", i, j)
				}
				a, q := targetTerms(x, m, j, 1, st)
				pj[j] = math.Exp(-a)
				ce += tv * a
				om += tv * q
				tot += tv
				pt += tv * pj[j]
			}
			l := r * (ce + eps*om)
			if f := float64(E(l)); math.IsInf(f, 0) || math.IsNaN(f) {
				return 0, valueErr(name, "the loss overflows at row %d", i)
			}
			if out.Rows != nil {
				out.Rows[i] = E(l)
			}
			part += l
			if g == nil {
				continue
			}
			gs := sc * r
			c := tot + eps*pt
			// t and x may be read below after g overwrote x: keep what
			// the argmax column needs first.
			a := rowstat.ArgmaxOf(x, m)
			_, qa := targetTerms(x, m, a, 1, st)
			var rest float64 // Σ_{j≠a} t_j(1 + εp_j)
			for j, v := range t {
				if j != a && v != 0 {
					rest += float64(v) * (1 + eps*pj[j])
				}
			}
			k.ExpAffine(g, x, m, 1, E(gs*c/st.s), 0)
			for j, v := range t {
				if v != 0 {
					g[j] = E(float64(g[j]) - gs*float64(v)*(1+eps*pj[j]))
				}
			}
			g[a] = E(gs * (rest - qa*c))
		}
		return part, nil
	})
	return finiteTotal(name, total, sc, err)
}

func init() {
	Register(Spec{
		Name:    namePoly1,
		Summary: "Poly-1: cross-entropy + ε·(1 − p_y); soft targets: Optax's poly_loss_cross_entropy",
		Needs:   NeedsLabels | AcceptsSoftTargets,
		Params:  []Param{{"epsilon", 1, "coefficient ε ≥ −1 of (1 − p_y) (0: cross-entropy)"}},
		New: func(p map[string]float64, opts []Option) (Loss, error) {
			return NewPoly1(p["epsilon"], opts...)
		},
	})
}
