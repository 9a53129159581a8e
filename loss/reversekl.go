package loss

import "math"

// nameReverseKl is the registry name of this file's loss.
const nameReverseKl = "reverse-kl"

// ReverseKL is the reverse (mode-seeking) distillation divergence, the
// student's softened distribution against the teacher's:
//
//	ℓ_i = r_i·T²·KL(softmax(s_i/T) ‖ softmax(t_i/T)) = r_i·T²·Σ_j p_j·(log p_j − log q_j)
//
// with s the student logits (Input.Logits), t the teacher's
// (Input.Teacher), p = softmax(s/T), q = softmax(t/T). It is KD with the
// roles swapped in the divergence (the value equals KD's with Logits and
// Teacher exchanged), as used for on-policy distillation of language
// models (Gu et al., "MiniLLM: Knowledge Distillation of Large Language
// Models", ICLR 2024; Agarwal et al., "On-Policy Distillation of Language
// Models: Learning from Self-Generated Mistakes", ICLR 2024, where it is
// the β = 1 end of the generalized JSD). The gradient with respect to the
// student logits is
//
//	∂ℓ/∂s_j = r_i·T·p_j·(d_j − KL),  d_j = log p_j − log q_j,
//
// written in the same pass. Mean divides by the number of rows (Σ r_i;
// "batchmean"), Sum adds, None writes per-row values. Default T = 1.
// The T² factor follows KD (Hinton et al.) so that gradients keep their
// scale across temperatures; TRL's generalized_jsd_loss at β = 1 has no
// T² factor (the same value at T = 1).
//
// Stable form: max-shifted log-softmax of both rows in float64, the
// divergence from the difference of log-probabilities (exactly 0 when the
// student equals the teacher). Accuracy: about 1e-13 relative per row in
// float64, float32 rounding for float32 logits. −Inf student logits are
// masks (probability 0); a −Inf teacher logit where the student has mass
// gives an infinite divergence, an error naming the row and column.
type ReverseKL struct {
	o Options
	t float64
}

// NewReverseKL returns the reverse KL at temperature t > 0.
func NewReverseKL(t float64, opts ...Option) (*ReverseKL, error) {
	const name = nameReverseKl
	o, err := tsrBuild(name, opts)
	if err != nil {
		return nil, err
	}
	if !(t > 0) || math.IsInf(t, 0) {
		return nil, valueErr(name, "temperature %v, want a positive finite number", t)
	}
	return &ReverseKL{o, t}, nil
}

// Name returns "reverse-kl".
func (*ReverseKL) Name() string { return nameReverseKl }

func (l *ReverseKL) cfg() tsrCfg { return tsrCfg{name: nameReverseKl, o: l.o, dists: true} }

// Eval32 evaluates the loss on float32 logits (Teacher; optional
// RowWeights).
func (l *ReverseKL) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return tsrEval(l.cfg(), in, out, l.row)
}

// Eval64 evaluates the loss on float64 logits.
func (l *ReverseKL) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return tsrEval(l.cfg(), in, out, l.row)
}

func (l *ReverseKL) row(r *tsrRow) (float64, error) {
	kl, err := tsrReverseKL(r, l.t, nameReverseKl)
	if err != nil {
		return 0, err
	}
	t2 := l.t * l.t
	if r.g != nil {
		for j, v := range r.g {
			r.g[j] = t2 * v
		}
	}
	return t2 * kl, nil
}

// tsrReverseKL returns KL(p ‖ q) for p = softmax(s/T), q = softmax(t/T)
// and, when r.g is set, writes ∂KL/∂s_j = p_j·(d_j − KL)/T there. It
// uses r.a and r.b.
func tsrReverseKL(r *tsrRow, T float64, name string) (float64, error) {
	lp, lq := r.a, r.b
	tsrLogSoftmax(lp, r.s, T)
	tsrLogSoftmax(lq, r.t, T)
	var kl float64
	for k, v := range lp {
		if math.IsInf(v, -1) {
			continue
		}
		if math.IsInf(lq[k], -1) {
			return 0, valueErr(name, "teacher logit −Inf where the student has mass, row %d, column %d", r.i, k)
		}
		kl += math.Exp(v) * (v - lq[k])
	}
	if r.g != nil {
		for j, v := range lp {
			if math.IsInf(v, -1) {
				r.g[j] = 0
				continue
			}
			r.g[j] = math.Exp(v) * (v - lq[j] - kl) / T
		}
	}
	return kl, nil
}

func init() {
	Register(Spec{
		Name:    nameReverseKl,
		Summary: "reverse distillation divergence T²·KL(softmax(student/T) ‖ softmax(teacher/T)), batchmean",
		Needs:   NeedsTeacher,
		Params:  []Param{{"temperature", 1, "softening temperature T > 0"}},
		New: func(p map[string]float64, opts []Option) (Loss, error) {
			return NewReverseKL(p["temperature"], opts...)
		},
	})
}
