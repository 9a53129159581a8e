package loss

import "math"

// nameNkd is the registry name of this file's loss.
const nameNkd = "nkd"

// NKD is the Normalized Knowledge Distillation loss (Yang et al., "From
// Knowledge Distillation to Self-Knowledge Distillation: A Unified
// Approach with Normalized Loss and Customized Soft Labels", ICCV 2023;
// catalog B15). It splits KD at the target class y (Input.Labels): the
// teacher's target probability weights the student's target
// log-likelihood, and the non-target classes are matched as normalized
// distributions over the C−1 other classes at temperature λ:
//
//	ℓ_i = r_i·[ −T_y·log S_y − γ·λ²·Σ_{k≠y} T̂_k·log Ŝ_k ]
//
// with S = softmax(s) the student (Input.Logits), T = softmax(t) the
// teacher (Input.Teacher), Ŝ = softmax(s_{≠y}/λ) and T̂ = softmax(t_{≠y}/λ)
// over the non-target logits (at λ = 1, Ŝ_k = S_k/(1 − S_y)). The gradient
// with respect to the student logits is
//
//	∂ℓ/∂s_j = r_i·[ T_y·(S_j − δ_jy) + γ·λ·(Ŝ_j − T̂_j)·1[j≠y] ].
//
// This is the official NKDLoss term; the paper trains with it added to
// the usual cross-entropy CE(s, y), which a caller adds with
// CrossEntropy. Being a cross-entropy, its value includes the teacher's
// non-target entropy (it does not vanish when student equals teacher).
// Mean divides by the number of counted rows (Σ r_i; the official mean
// over the batch), Sum adds, None writes per-row values; rows whose label
// is the ignore index are skipped. Defaults γ = 1.5, λ = 1 (ImageNet;
// the paper uses λ = 3, γ = 3.5 on CIFAR-100).
//
// Stable form: the non-target distributions are log-softmaxes of the C−1
// non-target logits (max-shifted, in float64), never S_k/(1 − S_y), which
// would lose all precision as S_y → 1. Accuracy: about 1e-13 relative per
// row in float64. With one class the non-target term is empty (0); a row
// whose non-target teacher logits are all −Inf has no non-target
// distribution and its non-target term is 0. −Inf logits are masks; a
// −Inf student logit where the teacher has mass is an error.
type NKD struct {
	o             Options
	gamma, lambda float64
}

// NewNKD returns the NKD loss with weight γ ≥ 0 on the non-target term and
// non-target temperature λ > 0.
func NewNKD(gamma, lambda float64, opts ...Option) (*NKD, error) {
	const name = nameNkd
	o, err := tsrBuild(name, opts)
	if err != nil {
		return nil, err
	}
	if !(gamma >= 0) || math.IsInf(gamma, 0) {
		return nil, valueErr(name, "gamma %v, want a finite number ≥ 0", gamma)
	}
	if !(lambda > 0) || math.IsInf(lambda, 0) {
		return nil, valueErr(name, "temperature %v, want a positive finite number", lambda)
	}
	return &NKD{o, gamma, lambda}, nil
}

// Name returns "nkd".
func (*NKD) Name() string { return nameNkd }

func (l *NKD) cfg() tsrCfg { return tsrCfg{name: nameNkd, o: l.o, labels: true, dists: true} }

// Eval32 evaluates the loss on float32 logits (Teacher and Labels or
// Labels64; optional RowWeights).
func (l *NKD) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return tsrEval(l.cfg(), in, out, l.row)
}

// Eval64 evaluates the loss on float64 logits.
func (l *NKD) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return tsrEval(l.cfg(), in, out, l.row)
}

func (l *NKD) row(r *tsrRow) (float64, error) {
	y, lam := r.y, l.lambda
	lS, lT := r.a, r.b
	tsrLogSoftmax(lS, r.s, 1)
	tsrLogSoftmax(lT, r.t, 1)
	Ty := math.Exp(lT[y])
	var loss float64
	if Ty > 0 {
		if math.IsInf(lS[y], -1) {
			return 0, valueErr(nameNkd, "student target logit −Inf where the teacher has mass, row %d, column %d", r.i, y)
		}
		loss = -Ty * lS[y]
	}
	// Non-target distributions: the target column set to −Inf.
	ns, nt := r.c, r.d
	copy(ns, r.s)
	copy(nt, r.t)
	ns[y], nt[y] = math.Inf(-1), math.Inf(-1)
	hasNon := len(r.s) > 1 && !allNegInf(nt)
	if hasNon {
		if allNegInf(ns) {
			return 0, valueErr(nameNkd, "student non-target logits all −Inf at row %d while the teacher's are not", r.i)
		}
		tsrLogSoftmax(ns, ns, lam)
		tsrLogSoftmax(nt, nt, lam)
		var ce float64
		for k, v := range nt {
			if math.IsInf(v, -1) {
				continue
			}
			if math.IsInf(ns[k], -1) {
				return 0, valueErr(nameNkd, "student logit −Inf where the teacher has mass, row %d, column %d", r.i, k)
			}
			ce -= math.Exp(v) * ns[k]
		}
		loss += l.gamma * lam * lam * ce
	}
	if r.g != nil {
		for j, v := range lS {
			g := Ty * math.Exp(v)
			if j == y {
				g -= Ty
			} else if hasNon {
				g += l.gamma * lam * (math.Exp(ns[j]) - math.Exp(nt[j]))
			}
			r.g[j] = g
		}
	}
	return loss, nil
}

func init() {
	Register(Spec{
		Name:    nameNkd,
		Catalog: "B15",
		Summary: "normalized KD: −T_y·log S_y − γλ²·Σ_{k≠y} T̂_k·log Ŝ_k (add cross-entropy for the paper's objective)",
		Needs:   NeedsLabels | NeedsTeacher,
		Params: []Param{
			{"gamma", 1.5, "weight γ ≥ 0 of the non-target term"},
			{"temperature", 1, "non-target temperature λ > 0"},
		},
		New: func(p map[string]float64, opts []Option) (Loss, error) {
			return NewNKD(p["gamma"], p["temperature"], opts...)
		},
	})
}
