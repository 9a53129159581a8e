package loss

import "math"

// nameListwise is the registry name of this file's loss.
const nameListwise = "listwise"

// Listwise is the soft-label listwise cross-entropy with which AR2
// distils a ranker into a retriever (Zhang et al., "Adversarial
// Retriever-Ranker for Dense Text Retrieval", ICLR 2022; catalog B26):
// for each query, the retriever's scores s over its candidate list
// (Input.Logits, one row per query) are trained towards the ranker's
// tempered distribution over the same list (Input.Teacher):
//
//	ℓ_i = −r_i·Σ_j p_j·log q_j,  p = softmax(t/T), q = softmax(s),
//
// which is KL(p ‖ q) + H(p). The gradient with respect to the student
// scores is ∂ℓ/∂s_j = r_i·(q_j − p_j). Mean divides by the number of
// queries (Σ r_i; the official per-query mean), Sum adds, None writes
// per-row values. Default T = 1 (the training script's
// temperature_normal); only the teacher is tempered, with no T² factor.
// At T = 1 it equals sce with α = 0.
//
// Differences from the official code (microsoft/AR2,
// co_training_wiki_train.py): log q is an exact log-softmax, where the
// code takes log(q + 1e−7), which caps the loss at about 16.1 nats per
// candidate and biases the gradient; the adversarial term
// λ·Σ_j log σ(t_0 − t_j)·log q_j (adv_lambda, 0 in the training script) is
// not included — it is a policy-gradient surrogate summed rather than
// averaged over the batch, specific to the retriever–ranker game.
// Candidate order does not matter here (the positive need not be first).
//
// Stable form: max-shifted log-softmax in float64. Accuracy: about 1e-13
// relative per row. −Inf logits are masks; a −Inf student score where
// the teacher has mass is an error (infinite loss).
type Listwise struct {
	o Options
	t float64
}

// NewListwise returns the listwise loss with teacher temperature t > 0.
func NewListwise(t float64, opts ...Option) (*Listwise, error) {
	const name = nameListwise
	o, err := tsrBuild(name, opts)
	if err != nil {
		return nil, err
	}
	if !(t > 0) || math.IsInf(t, 0) {
		return nil, valueErr(name, "temperature %v, want a positive finite number", t)
	}
	return &Listwise{o, t}, nil
}

// Name returns "listwise".
func (*Listwise) Name() string { return nameListwise }

func (l *Listwise) cfg() tsrCfg { return tsrCfg{name: nameListwise, o: l.o, dists: true} }

// Eval32 evaluates the loss on float32 scores (Teacher; optional
// RowWeights).
func (l *Listwise) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return tsrEval(l.cfg(), in, out, l.row)
}

// Eval64 evaluates the loss on float64 scores.
func (l *Listwise) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return tsrEval(l.cfg(), in, out, l.row)
}

func (l *Listwise) row(r *tsrRow) (float64, error) {
	lq, lp := r.a, r.b
	tsrLogSoftmax(lq, r.s, 1)
	tsrLogSoftmax(lp, r.t, l.t)
	var ce float64
	for k, v := range lp {
		if math.IsInf(v, -1) {
			continue
		}
		if math.IsInf(lq[k], -1) {
			return 0, valueErr(nameListwise, "student score −Inf where the teacher has mass, row %d, column %d", r.i, k)
		}
		ce -= math.Exp(v) * lq[k]
	}
	if r.g != nil {
		for j := range r.g {
			r.g[j] = math.Exp(lq[j]) - math.Exp(lp[j])
		}
	}
	return ce, nil
}

func init() {
	Register(Spec{
		Name:    nameListwise,
		Catalog: "B26",
		Summary: "soft-label listwise cross-entropy −Σ softmax(teacher/T)·log softmax(student) (AR2 ranker→retriever)",
		Needs:   NeedsTeacher,
		Params:  []Param{{"temperature", 1, "teacher temperature T > 0"}},
		New: func(p map[string]float64, opts []Option) (Loss, error) {
			return NewListwise(p["temperature"], opts...)
		},
	})
}
