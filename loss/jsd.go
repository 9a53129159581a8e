package loss

import (
	"math"

	"github.com/xentlab/xent/internal/rowstat"
)

// nameJsd is the registry name of this file's loss.
const nameJsd = "jsd"

// JSD is the generalized Jensen–Shannon divergence between the teacher's
// and the student's softened distributions, the distillation loss of GKD
// (Agarwal et al., "On-Policy Distillation of Language Models: Learning
// from Self-Generated Mistakes", ICLR 2024, Eq. 1):
//
//	ℓ_i = r_i·JSD_β = r_i·[ β·KL(q ‖ m) + (1−β)·KL(p ‖ m) ],  m = β·q + (1−β)·p
//
// with p = softmax(s/T) the student (Input.Logits), q = softmax(t/T) the
// teacher (Input.Teacher). β = 0.5 is the symmetric Jensen–Shannon
// divergence (bounded by log 2, and unchanged when student and teacher
// swap). Following TRL's generalized_jsd_loss, the end points are the KL
// divergences JSD_β/β and JSD_β/(1−β) tend to: β = 0 is the forward
// KL(q ‖ p) (KD without its T² factor) and β = 1 the reverse KL(p ‖ q).
// The gradient with respect to the student logits is
//
//	∂ℓ/∂s_j = (r_i/T)·p_j·(g_j − Σ_k p_k·g_k),  g_k = (1−β)·log(p_k/m_k)
//
// (∂JSD/∂p_k = (1−β)·log(p_k/m_k): the terms from m cancel). Mean divides
// by the number of rows (Σ r_i; TRL's "batchmean"), Sum adds, None
// writes per-row values. Defaults β = 0.5, T = 1; as in TRL there is no
// T² factor.
//
// Stable form: max-shifted log-softmax in float64, and the log-ratios
// log(p/m) = −log1p(β·expm1(log q − log p)) and log(q/m) =
// −log1p((1−β)·expm1(log p − log q)) where the log-probabilities differ
// by less than 30 (log m as a log-sum-exp otherwise), so that a student
// close to the teacher keeps a relatively accurate small divergence and
// an equal one gives exactly 0. −Inf logits are masks on either side (the
// divergence stays finite for 0 < β < 1). Accuracy: about 1e-13 relative
// per row in float64.
type JSD struct {
	o    Options
	beta float64
	t    float64
}

// NewJSD returns the generalized JSD with β ∈ [0, 1] at temperature t > 0.
func NewJSD(beta, t float64, opts ...Option) (*JSD, error) {
	const name = nameJsd
	o, err := tsrBuild(name, opts)
	if err != nil {
		return nil, err
	}
	if !(beta >= 0 && beta <= 1) {
		return nil, valueErr(name, "beta %v outside [0, 1]", beta)
	}
	if !(t > 0) || math.IsInf(t, 0) {
		return nil, valueErr(name, "temperature %v, want a positive finite number", t)
	}
	return &JSD{o, beta, t}, nil
}

// Name returns "jsd".
func (*JSD) Name() string { return nameJsd }

func (l *JSD) cfg() tsrCfg { return tsrCfg{name: nameJsd, o: l.o, dists: true} }

// Eval32 evaluates the loss on float32 logits (Teacher; optional
// RowWeights).
func (l *JSD) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return tsrEval(l.cfg(), in, out, l.row)
}

// Eval64 evaluates the loss on float64 logits.
func (l *JSD) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return tsrEval(l.cfg(), in, out, l.row)
}

func (l *JSD) row(r *tsrRow) (float64, error) {
	b, T := l.beta, l.t
	switch b {
	case 1:
		return tsrReverseKL(r, T, nameJsd)
	case 0:
		return tsrForwardKL(r, T, nameJsd)
	}
	lp, lq, B := r.a, r.b, r.c // B_k = log(p_k/m_k)
	tsrLogSoftmax(lp, r.s, T)
	tsrLogSoftmax(lq, r.t, T)
	logB, log1mB := math.Log(b), math.Log1p(-b)
	var js, pg float64
	for k := range lp {
		a, c := lp[k], lq[k]
		var A float64 // log(q_k/m_k)
		switch {
		case math.IsInf(a, -1) && math.IsInf(c, -1):
			B[k] = 0
			continue
		case math.IsInf(a, -1):
			A, B[k] = -logB, 0
		case math.IsInf(c, -1):
			A, B[k] = 0, -log1mB
		case math.Abs(c-a) < 30:
			B[k] = -math.Log1p(b * math.Expm1(c-a))
			A = -math.Log1p((1 - b) * math.Expm1(a-c))
		default:
			m := rowstat.LogAddExp(logB+c, log1mB+a)
			A, B[k] = c-m, a-m
		}
		p, q := math.Exp(a), math.Exp(c)
		js += b*q*A + (1-b)*p*B[k]
		pg += p * B[k]
	}
	if r.g != nil {
		for j, a := range lp {
			r.g[j] = math.Exp(a) * (1 - b) * (B[j] - pg) / T
		}
	}
	return js, nil
}

// tsrForwardKL returns KL(q ‖ p) for p = softmax(s/T), q = softmax(t/T)
// and, when r.g is set, writes ∂KL/∂s = (p − q)/T there. It uses r.a and
// r.b.
func tsrForwardKL(r *tsrRow, T float64, name string) (float64, error) {
	lp, lq := r.a, r.b
	tsrLogSoftmax(lp, r.s, T)
	tsrLogSoftmax(lq, r.t, T)
	var kl float64
	for k, c := range lq {
		if math.IsInf(c, -1) {
			continue
		}
		if math.IsInf(lp[k], -1) {
			return 0, valueErr(name, "student logit −Inf where the teacher has mass, row %d, column %d", r.i, k)
		}
		kl += math.Exp(c) * (c - lp[k])
	}
	if r.g != nil {
		for j := range r.g {
			r.g[j] = (math.Exp(lp[j]) - math.Exp(lq[j])) / T
		}
	}
	return kl, nil
}

func init() {
	Register(Spec{
		Name:    nameJsd,
		Summary: "generalized Jensen–Shannon divergence β·KL(q‖m) + (1−β)·KL(p‖m), m = βq + (1−β)p (GKD)",
		Needs:   NeedsTeacher,
		Params: []Param{
			{"beta", 0.5, "mixture weight in [0, 1]; 0: KL(teacher‖student), 1: KL(student‖teacher)"},
			{"temperature", 1, "softening temperature T > 0 (no T² factor)"},
		},
		New: func(p map[string]float64, opts []Option) (Loss, error) {
			return NewJSD(p["beta"], p["temperature"], opts...)
		},
	})
}
