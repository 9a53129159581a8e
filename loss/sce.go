package loss

import "math"

// nameSce is the registry name of this file's loss.
const nameSce = "sce"

// SCE is the symmetric cross-entropy between the student's and the
// teacher's distributions, the consistency loss of Robust Mean Teacher
// (Döbler, Marsden and Yang, "Robust Mean Teacher for Continual and
// Gradual Test-Time Adaptation", CVPR 2023; catalog A27):
//
//	ℓ_i = r_i·[ −(1−α)·Σ_k q_k·log p_k − α·Σ_k p_k·log q_k ]
//
// with p = softmax(s) the student (Input.Logits), q = softmax(t) the
// teacher (Input.Teacher) or, instead of a teacher, soft targets q given
// directly in Input.Targets (Wang et al.'s symmetric cross-entropy for
// noisy labels, "Symmetric Cross Entropy for Robust Learning with Noisy
// Labels", ICCV 2019). The teacher is a constant: the gradient with
// respect to the student logits is
//
//	∂ℓ/∂s_j = r_i·[ (1−α)·(Q·p_j − q_j) − α·p_j·(L_j − Σ_k p_k·L_k) ],  L = log q, Q = Σ_k q_k
//
// (Q = 1 for a teacher). Mean divides by the number of rows (Σ r_i with
// row weights), as the official code's per-sample mean; Sum adds; None
// writes per-row values. Default α = 0.5 (the official configuration).
// α = 0 is soft-target cross-entropy (CrossEntropy with Targets =
// softmax(t)); α = 1 is the reverse cross-entropy KL(p‖q) + H(p).
// Note that SCE(p, p) = H(p): unlike a divergence it does not vanish when
// the student equals the teacher.
//
// Log-probabilities come from max-shifted log-softmax in float64 (never
// the log of a softmax output). With soft targets, log q_k of a zero
// target is −Inf, which makes the reverse term infinite wherever the
// student has mass; Wang et al. clamp log 0 to A = −4. LogFloor sets that
// clamp (log q is replaced by max(log q, LogFloor), on the teacher side
// only, so the gradient formula is unchanged); the default −Inf applies
// none, and an infinite loss is then an error naming the row and column.
//
// Differences from the official code (SymmetricCrossEntropy in
// mariodoebler/test-time-adaptation): none in the value; the RMT
// objective averages two such terms (on the image and an augmented view),
// which a caller does by evaluating twice.
//
// Accuracy: float64 throughout; about 1e-13 relative per row for float64
// logits up to 1e4 in magnitude, float32 rounding of the result for
// float32. −Inf student logits are masks (probability 0); a −Inf student
// logit where q has mass is an error when α < 1.
type SCE struct {
	o     Options
	alpha float64
	floor float64
}

// NewSCE returns the symmetric cross-entropy with weight α ∈ [0, 1] on
// the reverse term and the log floor A ≤ 0 for log q (math.Inf(−1): no
// floor).
func NewSCE(alpha, logFloor float64, opts ...Option) (*SCE, error) {
	const name = nameSce
	o, err := tsrBuild(name, opts)
	if err != nil {
		return nil, err
	}
	if !(alpha >= 0 && alpha <= 1) {
		return nil, valueErr(name, "alpha %v outside [0, 1]", alpha)
	}
	if !(logFloor <= 0) {
		return nil, valueErr(name, "log floor %v, want a number ≤ 0 (or −Inf for none)", logFloor)
	}
	return &SCE{o: o, alpha: alpha, floor: logFloor}, nil
}

// Name returns "sce".
func (*SCE) Name() string { return nameSce }

func (l *SCE) cfg() tsrCfg { return tsrCfg{name: nameSce, o: l.o, targets: true, dists: true} }

// Eval32 evaluates the loss on float32 logits (Teacher or soft Targets;
// optional RowWeights).
func (l *SCE) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return tsrEval(l.cfg(), in, out, l.row)
}

// Eval64 evaluates the loss on float64 logits.
func (l *SCE) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return tsrEval(l.cfg(), in, out, l.row)
}

func (l *SCE) row(r *tsrRow) (float64, error) {
	a := l.alpha
	lp, L, q := r.a, r.b, r.c
	tsrLogSoftmax(lp, r.s, 1)
	Q := 1.0
	if r.soft {
		Q = 0
		for k, v := range r.t {
			Q += v
			q[k] = v
			L[k] = max(math.Log(v), l.floor)
		}
	} else {
		tsrLogSoftmax(L, r.t, 1)
		for k, v := range L {
			q[k] = math.Exp(v)
			L[k] = max(v, l.floor) // the floor changes log q, not q
		}
	}
	var fwd, rev float64 // −Σ q·log p and −Σ p·L
	for k := range lp {
		if a < 1 && q[k] > 0 {
			if math.IsInf(lp[k], -1) {
				return 0, valueErr(nameSce, "student logit −Inf where the target has mass, row %d, column %d", r.i, k)
			}
			fwd -= q[k] * lp[k]
		}
		if a > 0 && !math.IsInf(lp[k], -1) {
			if math.IsInf(L[k], -1) {
				return 0, valueErr(nameSce, "zero target probability where the student has mass, row %d, column %d (the reverse term is infinite; see the log floor)", r.i, k)
			}
			rev -= math.Exp(lp[k]) * L[k]
		}
	}
	if r.g != nil {
		// rev = −Σ p·L, so Σ p·L = −rev.
		for j := range r.g {
			p := math.Exp(lp[j])
			var g float64
			if a < 1 {
				g = (1 - a) * (Q*p - q[j])
			}
			if a > 0 && p > 0 {
				g -= a * p * (L[j] + rev)
			}
			r.g[j] = g
		}
	}
	return (1-a)*fwd + a*rev, nil
}

func init() {
	Register(Spec{
		Name:    nameSce,
		Catalog: "A27",
		Summary: "symmetric cross-entropy −(1−α)Σq·log p − αΣp·log q between student and teacher (Robust Mean Teacher)",
		Needs:   NeedsTeacher,
		Params: []Param{
			{"alpha", 0.5, "weight of the reverse term Σp·log q, in [0, 1]"},
			{"logfloor", math.Inf(-1), "clamp for log q (Wang et al. use −4 with one-hot targets); −inf: none"},
		},
		New: func(p map[string]float64, opts []Option) (Loss, error) {
			return NewSCE(p["alpha"], p["logfloor"], opts...)
		},
	})
}
