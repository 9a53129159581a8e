package loss

import "math"

// The registry names of this file's losses.
const (
	nameBinaryKl     = "binary-kl"
	nameBinaryKlNorm = "binary-kl-norm"
)

// BinaryKL is the logit-level distillation loss of Dual-Head Knowledge
// Distillation (Yang et al., "Dual-Head Knowledge Distillation: Enhancing
// Logits Utilization with an Auxiliary Head", 2024, arXiv:2411.08937;
// catalog B29):
// every column is treated as its own binary problem, and the student's
// sigmoid probabilities (Input.Logits) are matched to the teacher's
// (Input.Teacher) with the Bernoulli KL divergence at temperature T,
//
//	ℓ_i = r_i·T²·Σ_k KL(Bern(σ(t_k/T)) ‖ Bern(σ(s_k/T))),
//
// which, unlike the softmax KL, sees the logits' absolute level and not
// only their differences. The gradient with respect to the student
// logits is ∂ℓ/∂s_k = r_i·T·(σ(s_k/T) − σ(t_k/T)). Mean divides by the
// number of rows (Σ r_i; the official sum/N), Sum adds, None writes
// per-row values. Default T = 2 (the official class default); the paper
// trains it on an auxiliary linear head next to the main head's
// cross-entropy.
//
// BinaryKLNorm (registered as binary-kl-norm) is the variant the
// official DHKD distiller applies to the auxiliary head: a Bernoulli KL
// between ½ and σ((s_k − t_k)/T), which simplifies to
//
//	ℓ_i = r_i·T²·Σ_k log cosh((s_k − t_k)/(2T)),  ∂ℓ/∂s_k = r_i·(T/2)·tanh((s_k − t_k)/(2T)),
//
// zero exactly when the student's logits equal the teacher's.
//
// Stable form: instead of the official clamp of the probabilities to
// [1e−8, 1 − 1e−8] (which flattens the loss and zeroes its gradient once
// |z/T| passes about 18.4), the divergence is computed from the logits:
// with a = t/T, b = s/T and, by the symmetry KL(a, b) = KL(−a, −b),
// a ≤ 0, KL = log1p(σ(a)·expm1(b − a)) − σ(a)·(b − a) (or the difference
// of softplus terms when b − a > 30), and log cosh x = log1p(2·sinh²(x/2))
// for |x| ≤ 1, |x| + log1p(e^{−2|x|}) − log 2 beyond. Accuracy: absolute
// error about 1e-16·(1 + |z/T|) per element in float64. A −Inf teacher
// logit is probability 0 (KL = softplus(s/T)); a −Inf student logit is an
// error unless the teacher's is −Inf too; +Inf and NaN are errors.
type BinaryKL struct {
	o    Options
	t    float64
	norm bool
}

// NewBinaryKL returns the Bernoulli-KL distillation loss at temperature
// t > 0; norm selects the BinaryKLNorm variant.
func NewBinaryKL(t float64, norm bool, opts ...Option) (*BinaryKL, error) {
	name := binaryKLName(norm)
	o, err := tsrBuild(name, opts)
	if err != nil {
		return nil, err
	}
	if !(t > 0) || math.IsInf(t, 0) {
		return nil, valueErr(name, "temperature %v, want a positive finite number", t)
	}
	return &BinaryKL{o, t, norm}, nil
}

func binaryKLName(norm bool) string {
	if norm {
		return nameBinaryKlNorm
	}
	return nameBinaryKl
}

// Name returns "binary-kl" or "binary-kl-norm".
func (l *BinaryKL) Name() string { return binaryKLName(l.norm) }

func (l *BinaryKL) cfg() tsrCfg { return tsrCfg{name: l.Name(), o: l.o} }

// Eval32 evaluates the loss on float32 logits (Teacher; optional
// RowWeights).
func (l *BinaryKL) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return tsrEval(l.cfg(), in, out, l.row)
}

// Eval64 evaluates the loss on float64 logits.
func (l *BinaryKL) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return tsrEval(l.cfg(), in, out, l.row)
}

func (l *BinaryKL) row(r *tsrRow) (float64, error) {
	T := l.t
	var sum float64
	for k, sv := range r.s {
		tv := r.t[k]
		sInf, tInf := math.IsInf(sv, -1), math.IsInf(tv, -1)
		var v, g float64
		switch {
		case sInf && tInf:
			// Both certain negatives: no divergence.
		case sInf:
			return 0, valueErr(l.Name(), "student logit −Inf where the teacher's is finite, row %d, column %d", r.i, k)
		case l.norm && tInf:
			return 0, valueErr(l.Name(), "teacher logit −Inf where the student's is finite, row %d, column %d", r.i, k)
		case tInf:
			v, g = softplus(sv/T), T*sigmoid(sv/T)
		case l.norm:
			u := (sv - tv) / (2 * T)
			v, g = logCosh(u), T/2*math.Tanh(u)
		default:
			v, g = bernoulliKL(tv/T, sv/T), T*(sigmoid(sv/T)-sigmoid(tv/T))
		}
		sum += v
		if r.g != nil {
			r.g[k] = g
		}
	}
	return T * T * sum, nil
}

// bernoulliKL returns KL(Bern(σ(a)) ‖ Bern(σ(b))) for finite a, b.
func bernoulliKL(a, b float64) float64 {
	if a > 0 {
		a, b = -a, -b
	}
	t := sigmoid(a) // ≤ ½
	d := b - a
	var kl float64
	if d <= 30 {
		kl = math.Log1p(t*math.Expm1(d)) - t*d
	} else {
		kl = softplus(b) - softplus(a) - t*d
	}
	return max(kl, 0)
}

// logCosh returns log cosh x without overflow or cancellation.
func logCosh(x float64) float64 {
	ax := math.Abs(x)
	if ax <= 1 {
		s := math.Sinh(ax / 2)
		return math.Log1p(2 * s * s)
	}
	return ax + math.Log1p(math.Exp(-2*ax)) - math.Ln2
}

func init() {
	Register(Spec{
		Name:    nameBinaryKl,
		Catalog: "B29",
		Summary: "per-column Bernoulli KL T²·Σ KL(σ(teacher/T) ‖ σ(student/T)) (Dual-Head KD BinaryKL)",
		Needs:   NeedsTeacher,
		Params:  []Param{{"temperature", 2, "temperature T > 0"}},
		New: func(p map[string]float64, opts []Option) (Loss, error) {
			return NewBinaryKL(p["temperature"], false, opts...)
		},
	})
	Register(Spec{
		Name:    nameBinaryKlNorm,
		Catalog: "B29",
		Summary: "T²·Σ log cosh((student − teacher)/2T), the Bernoulli KL of ½ vs σ(Δ/T) (Dual-Head KD BinaryKLNorm)",
		Needs:   NeedsTeacher,
		Params:  []Param{{"temperature", 2, "temperature T > 0"}},
		New: func(p map[string]float64, opts []Option) (Loss, error) {
			return NewBinaryKL(p["temperature"], true, opts...)
		},
	})
}
