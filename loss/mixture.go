package loss

import (
	"math"
	"unsafe"

	"github.com/xentlab/xent/internal/rowstat"
)

// nameMixture is the registry name of this file's loss.
const nameMixture = "mixture"

// Mixture is the cross-entropy of a convex mixture of two softmax heads,
// the mixed classifier of Bai, Anderson, Kim and Sojoudi, "Improving the
// Accuracy-Robustness Trade-Off of Classifiers via Adaptive Smoothing"
// (SIAM Journal on Mathematics of Data Science, 2024), catalog B19:
//
//	h = log((1 − α)·softmax(c₁·z₁) + α·softmax(c₂·z₂)),   ℓ = −h_y
//
// with z₁ the first head's logits (Input.Logits), z₂ the second head's
// (Input.Teacher, the same shape: the Input has no field of its own for a
// second head), mixing weight α ∈ [0, 1] (default 0.5) and scales c₁,
// c₂ > 0 (default 1; the paper's CIFAR models use c₁ = 2, c₂ = 1 with α in
// [0.84, 0.99]). Input.Targets, when set, holds one α per row (the output
// of the paper's mixing network) in place of the constant.
//
// With p = softmax(c₁z₁), q = softmax(c₂z₂), m = (1 − α)p + αq and the
// posterior weights w₁ = (1 − α)p_y/m_y, w₂ = αq_y/m_y = 1 − w₁:
//
//	∂ℓ/∂z₁ = c₁·w₁·(p − e_y),   ∂ℓ/∂z₂ = c₂·w₂·(q − e_y),   ∂ℓ/∂α = (p_y − q_y)/m_y.
//
// Eval writes ∂ℓ/∂z₁ into Output.Grad; EvalMixture also writes ∂ℓ/∂z₂
// and ∂ℓ/∂α (for α = σ(γ), ∂ℓ/∂γ = α(1 − α)·∂ℓ/∂α).
//
// Stable form: h_y = logaddexp(log(1 − α) + log p_y, log α + log q_y)
// with max-shifted log-softmax values, log p_y = −[(max − z_y)·c + log1p(T)]
// from the tail T kept to full precision, and w₁, w₂ as exponentials of
// differences of logs. The official code (AdaptiveSmoothing,
// models/comp_model.py) takes the log of the mixed probabilities, which
// is −Inf once both heads' p_y underflow (a logit gap beyond about 100 in
// float32); here the loss stays finite whenever one head gives the target
// a finite logit and a positive weight. −Inf logits are masks in either
// head; a row whose target is masked in both heads (or masked where the
// other head has weight 0) has infinite loss and is an error.
//
// Options: reduction, ignore index, class weights (row i's loss is
// w_{y_i}·ℓ_i, Mean divides by Σ r_i·w_{y_i}), row weights. Accuracy:
// float64 about 1e-14 relative per row; float32 logits give rows within
// 1e-5 relative and gradients within 1e-6 + 1e-5·|g| of the float64
// values.
type Mixture struct {
	o             Options
	alpha, c1, c2 float64
}

// NewMixture returns the mixture loss with weight α ∈ [0, 1] on the second
// head and scales c₁, c₂ > 0.
func NewMixture(alpha, c1, c2 float64, opts ...Option) (*Mixture, error) {
	const name = nameMixture
	switch {
	case !(alpha >= 0 && alpha <= 1):
		return nil, valueErr(name, "alpha = %v, want a number in [0, 1]", alpha)
	case !(c1 > 0) || math.IsInf(c1, 0) || !(c2 > 0) || math.IsInf(c2, 0):
		return nil, valueErr(name, "c1 = %v, c2 = %v, want positive finite scales", c1, c2)
	}
	o, err := buildHard(name, opts, true)
	if err != nil {
		return nil, err
	}
	return &Mixture{o, alpha, c1, c2}, nil
}

// Name returns "mixture".
func (*Mixture) Name() string { return nameMixture }

// Eval32 evaluates the loss on float32 logits (Logits: head 1, Teacher:
// head 2, Labels; Targets: an optional α per row); Output.Grad receives
// the gradient with respect to head 1.
func (l *Mixture) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return evalMixture(k32, l, in, out, nil, nil)
}

// Eval64 evaluates the loss on float64 inputs.
func (l *Mixture) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return evalMixture(k64, l, in, out, nil, nil)
}

// EvalMixture evaluates l like Eval and also writes the gradient with
// respect to the second head into grad2 (nil, or the shape of the logits;
// it may be in.Teacher) and with respect to each row's α into dAlpha
// (nil, or one per row; 0 for ignored rows). Both are of the reduced loss.
func EvalMixture[T Float](l *Mixture, in Input[T], out Output[T], grad2, dAlpha []T) (float64, error) {
	var z T
	if unsafe.Sizeof(z) == 4 {
		return evalMixture(k32, l, convertInput[T, float32](in), convertOutput[T, float32](out), rowstat.AsExact[T, float32](grad2), rowstat.AsExact[T, float32](dAlpha))
	}
	return evalMixture(k64, l, convertInput[T, float64](in), convertOutput[T, float64](out), rowstat.AsExact[T, float64](grad2), rowstat.AsExact[T, float64](dAlpha))
}

// mixHead holds one head's reduction at the target.
type mixHead struct {
	st     tailStats
	m      float64
	logp   float64 // log softmax(c·z)_y (−Inf for a masked target)
	q      float64 // 1 − p_y
	scalar bool    // c·z may overflow the vector kernels: scalar float64 path
}

// kernelScaleLimit bounds c·|z| for the vector kernels, which form the
// scaled logits in the element type (float32 overflows at 3.4e38).
const kernelScaleLimit = 1e30

// mixHeadAt reduces row z (scale c) for target y; ok is false when the
// row has a NaN or +Inf (col) or no finite logit (col −1). When c·|z|
// could overflow the element type, it works in float64 on c·(z_j − m),
// which is finite or −Inf (z_j − m ≤ 0, c finite) and never NaN.
func mixHeadAt[E exact](k *kernels[E], z []E, y int, c float64) (mixHead, int, bool) {
	m := E(math.Inf(-1))
	lo := E(math.Inf(1))
	for j, v := range z {
		if v != v || math.IsInf(float64(v), 1) {
			return mixHead{}, j, false
		}
		m = max(m, v)
		if !math.IsInf(float64(v), -1) {
			lo = min(lo, v)
		}
	}
	if math.IsInf(float64(m), -1) {
		return mixHead{}, -1, false
	}
	big := max(c, c*math.Abs(float64(m)), c*math.Abs(float64(lo))) // c itself must fit the element type
	h := mixHead{m: float64(m), scalar: c != 1 && big > kernelScaleLimit}
	if h.scalar {
		h.st = scaledTail64(z, m, c)
	} else {
		h.st = scaledTail(k, z, m, c)
	}
	if math.IsInf(float64(z[y]), -1) {
		h.logp, h.q = math.Inf(-1), 1
		return h, 0, true
	}
	a, q := targetTerms(z, m, y, c, h.st)
	h.logp, h.q = -a, q
	return h, 0, true
}

// scaledTail64 is scaledTail in scalar float64: S = Σ exp(c·(z_j − m)),
// T = S − 1 without the first maximal entry.
func scaledTail64[E exact](z []E, m E, c float64) tailStats {
	a := rowstat.ArgmaxOf(z, m)
	var t float64
	for j, v := range z {
		if j != a {
			t += math.Exp(c * (float64(v) - float64(m)))
		}
	}
	return tailStats{s: 1 + t, t: t}
}

// writeCEShape64 is writeCEShape in scalar float64: g = coef·(p − e_y).
func writeCEShape64[E exact](g, z []E, m E, c float64, y int, st tailStats, q, coef float64) {
	for j, v := range z {
		g[j] = E(coef * math.Exp(c*(float64(v)-float64(m))) / st.s)
	}
	g[y] = E(-coef * q)
}

// mixShape writes a head's gradient coef·(p − e_y) by the path its
// reduction took.
func mixShape[E exact](k *kernels[E], h mixHead, g, z []E, c float64, y int, coef float64) {
	if h.scalar {
		writeCEShape64(g, z, E(h.m), c, y, h.st, h.q, coef)
		return
	}
	writeCEShape(k, g, z, E(h.m), c, y, h.st, h.q, coef)
}

func evalMixture[E exact](k *kernels[E], l *Mixture, in Input[E], out Output[E], grad2, dAlpha []E) (float64, error) {
	const name = nameMixture
	if in.Cols > 0 && len(in.Logits)%in.Cols == 0 {
		rows := len(in.Logits) / in.Cols
		switch {
		case grad2 != nil && len(grad2) != len(in.Logits):
			return 0, shapeErr(name, "len(grad2) = %d, want %d (the shape of Logits)", len(grad2), len(in.Logits))
		case grad2 != nil && (rowstat.OverlapPartially(grad2, in.Teacher) || overlaps(grad2, in.Logits) || overlaps(grad2, out.Grad)):
			return 0, shapeErr(name, "grad2 overlaps the inputs (other than Teacher itself) or Grad")
		case out.Grad != nil && overlaps(out.Grad, in.Teacher):
			return 0, shapeErr(name, "Grad overlaps Teacher")
		case dAlpha != nil && len(dAlpha) != rows:
			return 0, shapeErr(name, "len(dAlpha) = %d, want %d (one per row)", len(dAlpha), rows)
		}
		clear(dAlpha)
	}
	cfg := hardCfg{name: name, o: l.o, infinities: true, teacher: true, rowTargets: true}
	cols := in.Cols
	return evalHardRows(cfg, in, out, func() hardRowFn[E] {
		return func(i int, x []E, _ E, y int, g []E, gs float64) (float64, error) {
			z2 := in.Teacher[i*cols : (i+1)*cols]
			alpha := l.alpha
			if in.Targets != nil {
				alpha = float64(in.Targets[i])
				if !(alpha >= 0 && alpha <= 1) {
					return 0, valueErr(name, "alpha %v at row %d outside [0, 1]", in.Targets[i], i)
				}
			}
			h1, j, ok := mixHeadAt(k, x, y, l.c1)
			if !ok {
				if j < 0 {
					return 0, valueErr(name, "head 1 (Logits) row %d is entirely −Inf", i)
				}
				return 0, valueErr(name, "head 1 (Logits) logit %v at row %d, column %d", x[j], i, j)
			}
			h2, j, ok := mixHeadAt(k, z2, y, l.c2)
			if !ok {
				if j < 0 {
					return 0, valueErr(name, "head 2 (Teacher) row %d is entirely −Inf", i)
				}
				return 0, valueErr(name, "head 2 (Teacher) logit %v at row %d, column %d", z2[j], i, j)
			}
			l1 := math.Log1p(-alpha) + h1.logp
			l2 := math.Log(alpha) + h2.logp
			hy := rowstat.LogAddExp(l1, l2)
			if math.IsInf(hy, -1) {
				return 0, valueErr(name, "the target has probability 0 in the mixture at row %d, column %d", i, y)
			}
			w1, w2 := math.Exp(l1-hy), math.Exp(l2-hy)
			if dAlpha != nil {
				dAlpha[i] = E(gs * (math.Exp(h1.logp-hy) - math.Exp(h2.logp-hy)))
			}
			if grad2 != nil {
				mixShape(k, h2, grad2[i*cols:(i+1)*cols], z2, l.c2, y, gs*l.c2*w2)
			}
			if g != nil {
				mixShape(k, h1, g, x, l.c1, y, gs*l.c1*w1)
			}
			return -hy, nil
		}
	})
}

// overlaps reports whether a and b share memory.
func overlaps[E exact](a, b []E) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	return &a[0] == &b[0] || rowstat.OverlapPartially(a, b)
}

func init() {
	Register(Spec{
		Name:    nameMixture,
		Catalog: "B19",
		Summary: "cross-entropy of the mixture (1 − α)·softmax(c1·z1) + α·softmax(c2·z2); z2 from the teacher input (optional Targets: one α per row)",
		Needs:   NeedsLabels | NeedsTeacher,
		Params: []Param{
			{"alpha", 0.5, "weight α ∈ [0, 1] of the second head"},
			{"c1", 1, "scale of the first head's logits"},
			{"c2", 1, "scale of the second head's logits"},
		},
		New: func(p map[string]float64, opts []Option) (Loss, error) {
			return NewMixture(p["alpha"], p["c1"], p["c2"], opts...)
		},
	})
}
