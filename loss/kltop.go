package loss

import (
	"math"
)

// nameKlTop is the registry name of this file's loss.
const nameKlTop = "kl-top"

// KLTop is OSTQuant's KL-Top loss (Hu et al., "OstQuant: Refining Large
// Language Model Quantization with Orthogonal and Scaling Transformations
// for Better Distribution Fitting", ICLR 2025; catalog B13): the KL
// divergence from the full-precision model's distribution (the teacher,
// Input.Teacher) to the quantized model's (the student, Input.Logits),
// summed over the teacher's k most probable classes only,
//
//	ℓ_i = r_i·Σ_{j∈S} p_j·(log p_j − log q_j),  S = top-k of t,  p = softmax(t),  q = softmax(s),
//
// so that calibration on little data is not driven by the long tail of a
// large vocabulary. Its gradient with respect to the student logits is
//
//	∂ℓ/∂s_j = r_i·(q_j·P_S − p_j·1[j∈S]),  P_S = Σ_{j∈S} p_j.
//
// The sum is not a divergence: it can be negative when the student puts
// more mass than the teacher on S. Renormalized (renorm = 1) instead uses
// the distributions restricted to S, p̃ = p_S/P_S and q̃ = q_S/Q_S, and
// ℓ_i = r_i·KL(p̃ ‖ q̃) ≥ 0 with gradient r_i·1[j∈S]·(q̃_j − p̃_j) (zero
// outside S). Mean divides by the number of rows (Σ r_i; the average over
// tokens), Sum adds, None writes per-row values. Defaults: k = 1000 (the
// value OSTQuant's training code passes for its kl_top loss), not
// renormalized; k ≥ Cols gives the full KL(p ‖ q) (both forms).
//
// The official training code has two paths: with post_attn=True it takes
// both log-softmaxes over the full vocabulary and sums the teacher's
// top-k terms, which is renorm = 0 here; otherwise it takes the
// log-softmaxes over the selected top-k logits only, which is the
// renormalized renorm = 1. S is taken from the raw teacher logits (ties
// go to the lower column, so S and the gradient are deterministic), with
// a heap in O(Cols·log k).
//
// Stable form: max-shifted log-softmax over the whole row in float64
// (renormalized: log q̃_j = s_j − LSE_{S}(s)). Accuracy: about 1e-13
// relative per row. −Inf logits are masks; a −Inf student logit in S
// where the teacher has mass is an error (infinite loss).
type KLTop struct {
	o      Options
	k      int
	renorm bool
}

// NewKLTop returns the KL-Top loss over the teacher's top k ≥ 1 classes,
// renormalized to S or not.
func NewKLTop(k int, renorm bool, opts ...Option) (*KLTop, error) {
	const name = nameKlTop
	o, err := tsrBuild(name, opts)
	if err != nil {
		return nil, err
	}
	if k < 1 {
		return nil, valueErr(name, "k = %d, want ≥ 1", k)
	}
	return &KLTop{o, k, renorm}, nil
}

// Name returns "kl-top".
func (*KLTop) Name() string { return nameKlTop }

func (l *KLTop) cfg() tsrCfg { return tsrCfg{name: nameKlTop, o: l.o, dists: true} }

// Eval32 evaluates the loss on float32 logits (Teacher; optional
// RowWeights).
func (l *KLTop) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return tsrEval(l.cfg(), in, out, l.row)
}

// Eval64 evaluates the loss on float64 logits.
func (l *KLTop) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return tsrEval(l.cfg(), in, out, l.row)
}

func (l *KLTop) row(r *tsrRow) (float64, error) {
	cols := len(r.s)
	k := min(l.k, cols)
	if cap(r.ints) < k {
		r.ints = make([]int, k)
	}
	S := klTopSelect(r.ints[:k], r.t)
	lq, lp := r.a, r.b
	if l.renorm {
		// Log-softmax over S only, written at the columns of S.
		ms, mt := math.Inf(-1), math.Inf(-1)
		for _, j := range S {
			ms, mt = max(ms, r.s[j]), max(mt, r.t[j])
		}
		if math.IsInf(ms, -1) {
			return 0, valueErr(nameKlTop, "student logits are −Inf on the whole top-k set at row %d", r.i)
		}
		var ss, st float64
		for _, j := range S {
			ss += math.Exp(r.s[j] - ms)
			st += math.Exp(r.t[j] - mt)
		}
		lss, lst := math.Log(ss), math.Log(st)
		for _, j := range S {
			lq[j] = r.s[j] - ms - lss
			lp[j] = r.t[j] - mt - lst
		}
	} else {
		tsrLogSoftmax(lq, r.s, 1)
		tsrLogSoftmax(lp, r.t, 1)
	}
	var kl, ps float64
	for _, j := range S {
		if math.IsInf(lp[j], -1) {
			continue
		}
		if math.IsInf(lq[j], -1) {
			return 0, valueErr(nameKlTop, "student logit −Inf where the teacher has mass, row %d, column %d", r.i, j)
		}
		p := math.Exp(lp[j])
		kl += p * (lp[j] - lq[j])
		ps += p
	}
	if r.g != nil {
		if l.renorm {
			clear(r.g)
			for _, j := range S {
				r.g[j] = math.Exp(lq[j]) - math.Exp(lp[j])
			}
		} else {
			for j, v := range lq {
				r.g[j] = math.Exp(v) * ps
			}
			for _, j := range S {
				r.g[j] -= math.Exp(lp[j])
			}
		}
	}
	return kl, nil
}

// klTopSelect writes into idx (len k ≤ len(t)) the columns of the k
// largest t, ties going to the lower column, and returns idx. It keeps a
// min-heap whose root is the worst kept column.
func klTopSelect(idx []int, t []float64) []int {
	k := len(idx)
	// worse reports whether column a ranks below column b.
	worse := func(a, b int) bool { return t[a] < t[b] || (t[a] == t[b] && a > b) }
	down := func(i int) {
		for {
			c := 2*i + 1
			if c >= k {
				return
			}
			if c+1 < k && worse(idx[c+1], idx[c]) {
				c++
			}
			if !worse(idx[c], idx[i]) {
				return
			}
			idx[i], idx[c] = idx[c], idx[i]
			i = c
		}
	}
	for j := 0; j < k; j++ {
		idx[j] = j
	}
	for i := k/2 - 1; i >= 0; i-- {
		down(i)
	}
	for j := k; j < len(t); j++ {
		if worse(idx[0], j) {
			idx[0] = j
			down(0)
		}
	}
	return idx
}

func init() {
	Register(Spec{
		Name:    nameKlTop,
		Catalog: "B13",
		Summary: "KL(teacher ‖ student) summed over the teacher's top-k classes (OSTQuant KL-Top)",
		Needs:   NeedsTeacher,
		Params: []Param{
			{"k", 1000, "number of top teacher classes (an integer ≥ 1; OSTQuant's training code uses 1000)"},
			{"renorm", 0, "1: KL between the distributions renormalized to the top-k set; 0: the plain partial sum"},
		},
		New: func(p map[string]float64, opts []Option) (Loss, error) {
			k, rn := p["k"], p["renorm"]
			if k != math.Trunc(k) || k < 1 || k > math.MaxInt32 {
				return nil, valueErr(nameKlTop, "k = %v, want an integer ≥ 1", k)
			}
			if rn != 0 && rn != 1 {
				return nil, valueErr(nameKlTop, "renorm = %v, want 0 or 1", rn)
			}
			return NewKLTop(int(k), rn == 1, opts...)
		},
	})
}
