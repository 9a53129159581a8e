package loss

import "math"

// nameGpg is the registry name of this file's loss.
const nameGpg = "gpg"

// GPG is one link of EQ-Net's Group Progressive Guidance (Xu et al.,
// "EQ-Net: Elastic Quantization Neural Networks", ICCV 2023; catalog
// A21): a sub-network (the student, Input.Logits) distils from the
// detached logits of the previous, larger one (the teacher,
// Input.Teacher) while also fitting the labels (Input.Labels):
//
//	ℓ_i = r_i·[ α·τ²·KL(softmax(t/τ) ‖ softmax(s/τ)) + (1−α)·CE(s, y) ]
//
// The chain itself (largest sub-network trained on CE alone, each next
// one on this loss against its predecessor) is the caller's loop. The
// gradient with respect to the student logits is
//
//	∂ℓ/∂s_j = r_i·[ α·τ·(p^τ_j − q^τ_j) + (1−α)·(p_j − δ_jy) ],
//
// p^τ = softmax(s/τ), q^τ = softmax(t/τ), p = softmax(s); at τ = 1 it is
// cross-entropy against the soft target α·q + (1−α)·e_y. Mean divides by
// the number of counted rows (Σ r_i: KL's batchmean and CE's mean
// coincide), Sum adds, None writes per-row values; rows whose label is
// the ignore index are skipped entirely (the official code has no ignored
// rows). Defaults α = 0.5, τ = 1 (the official KLLossSoft hard-codes
// τ = 1).
//
// Stable form: max-shifted log-softmax in float64 for both terms (KL with
// log-target, no 0·log 0). Accuracy: about 1e-13 relative per row.
// Errors as for KD and CrossEntropy: a −Inf student logit where the
// teacher has mass (α > 0) or on the label (α < 1).
type GPG struct {
	o        Options
	alpha, t float64
}

// NewGPG returns the GPG loss with KL weight α ∈ [0, 1] at temperature
// t > 0.
func NewGPG(alpha, t float64, opts ...Option) (*GPG, error) {
	const name = nameGpg
	o, err := tsrBuild(name, opts)
	if err != nil {
		return nil, err
	}
	if !(alpha >= 0 && alpha <= 1) {
		return nil, valueErr(name, "alpha %v outside [0, 1]", alpha)
	}
	if !(t > 0) || math.IsInf(t, 0) {
		return nil, valueErr(name, "temperature %v, want a positive finite number", t)
	}
	return &GPG{o, alpha, t}, nil
}

// Name returns "gpg".
func (*GPG) Name() string { return nameGpg }

func (l *GPG) cfg() tsrCfg { return tsrCfg{name: nameGpg, o: l.o, labels: true, dists: true} }

// Eval32 evaluates the loss on float32 logits (Teacher and Labels or
// Labels64; optional RowWeights).
func (l *GPG) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return tsrEval(l.cfg(), in, out, l.row)
}

// Eval64 evaluates the loss on float64 logits.
func (l *GPG) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return tsrEval(l.cfg(), in, out, l.row)
}

func (l *GPG) row(r *tsrRow) (float64, error) {
	a, T, y := l.alpha, l.t, r.y
	var loss float64
	if a > 0 {
		kl, err := tsrForwardKL(r, T, nameGpg) // gradient (p^τ − q^τ)/τ in r.g
		if err != nil {
			return 0, err
		}
		loss = a * T * T * kl
		if r.g != nil {
			for j := range r.g {
				r.g[j] *= a * T * T
			}
		}
	} else if r.g != nil {
		clear(r.g)
	}
	if a < 1 {
		lp := r.c
		tsrLogSoftmax(lp, r.s, 1)
		if math.IsInf(lp[y], -1) {
			return 0, valueErr(nameGpg, "the target logit is −Inf at row %d, column %d", r.i, y)
		}
		loss -= (1 - a) * lp[y]
		if r.g != nil {
			for j, v := range lp {
				r.g[j] += (1 - a) * math.Exp(v)
			}
			r.g[y] -= 1 - a
		}
	}
	return loss, nil
}

func init() {
	Register(Spec{
		Name:    nameGpg,
		Catalog: "A21",
		Summary: "EQ-Net progressive guidance α·τ²·KL(teacher ‖ student) + (1−α)·CE(student, y)",
		Needs:   NeedsLabels | NeedsTeacher,
		Params: []Param{
			{"alpha", 0.5, "weight of the KL term, in [0, 1]"},
			{"temperature", 1, "softening temperature τ > 0"},
		},
		New: func(p map[string]float64, opts []Option) (Loss, error) {
			return NewGPG(p["alpha"], p["temperature"], opts...)
		},
	})
}
