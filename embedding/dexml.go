package embedding

import "math"

// The DEXML losses (catalog A7: Gupta et al., "Dual-Encoders for Extreme
// Multi-Label Classification", 2024) score each query against a pool of
// label vectors, s_ij = ⟨q̂_i, l̂_j⟩/τ, with several positive labels per
// query.
//
// The pool is either Classes [C, Dim] — the positives of query i are the
// classes with Relevance[i, j] ≠ 0, or its single class Labels[i] — or the
// in-batch Positives [N, Dim] — the positives of query i are the rows j
// with Labels[j] = Labels[i], or row i alone without Labels. A query with
// no positive in the pool is skipped; the loss is the mean over the other
// queries (an error if there are none).

// pool builds the score matrix of the DEXML losses and the positive sets.
type pool struct {
	s          []float64 // [n, m] scores
	m          int
	pos        [][]int // positives of each query
	qu, qn     []float64
	lu, ln     []float64
	onClasses  bool
	normalized bool
}

func newPool(b *batch, tau float64, normalize bool) (*pool, error) {
	lab := b.pos
	onClasses := b.cls != nil
	if onClasses {
		if b.pos != nil {
			return nil, shapeErr(b.name, "give either Classes or Positives as the label pool, not both")
		}
		lab = b.cls
	} else if lab == nil {
		return nil, shapeErr(b.name, "needs a label pool: Classes (with Relevance or Labels) or Positives")
	}
	if onClasses && b.rel == nil && b.labels == nil {
		return nil, shapeErr(b.name, "Classes need Relevance or Labels to say which are positive")
	}
	if onClasses && b.rel != nil && b.labels != nil {
		return nil, shapeErr(b.name, "give either Relevance or Labels, not both")
	}
	p := &pool{m: len(lab) / b.d, onClasses: onClasses, normalized: normalize}
	if onClasses && b.labels != nil {
		if err := checkClassLabels(b.name, b.labels, p.m); err != nil {
			return nil, err
		}
	}
	var err error
	p.qu, p.qn, p.lu, p.ln, err = maybeUnit(b.name, normalize, b.z, lab, b.d)
	if err != nil {
		return nil, err
	}
	p.s = gram(p.qu, p.lu, b.d)
	for i := range p.s {
		p.s[i] /= tau
	}
	p.pos = make([][]int, b.n)
	for i := range p.pos {
		for j := 0; j < p.m; j++ {
			var is bool
			switch {
			case onClasses && b.rel != nil:
				is = b.rel[i*p.m+j] != 0
			case onClasses:
				is = b.labels[i] == int64(j)
			case b.labels != nil:
				is = b.labels[i] == b.labels[j]
			default:
				is = i == j
			}
			if is {
				p.pos[i] = append(p.pos[i], j)
			}
		}
	}
	return p, nil
}

// back sends gs (gradient with respect to the scores, already divided by
// τ) to the query and pool gradients.
func (p *pool) back(b *batch, gs []float64) {
	gl := b.gpos
	if p.onClasses {
		gl = b.gcls
	}
	if b.gz == nil && gl == nil {
		return
	}
	gq, gu := zeros(b.gz != nil, len(p.qu)), zeros(gl != nil, len(p.lu))
	backGram(gq, gu, gs, p.qu, p.lu, b.d)
	finish(b.gz, gq, p.qu, p.qn, p.normalized, b.d)
	finish(gl, gu, p.lu, p.ln, p.normalized, b.d)
}

// DecoupledSoftmax is DEXML's decoupled softmax loss: InfoNCE in which
// the other positives are removed from each positive's denominator,
//
//	ℓ_i = −(1/|P_i|) Σ_{p∈P_i} [ s_p − log( e^{s_p} + Σ_{n∉P_i} e^{s_n} ) ],
//
// with gradient ∂ℓ/∂s_p = −(1 − e^{s_p}/D_p)/|P|, ∂ℓ/∂s_n = Σ_p (e^{s_n}/D_p)/|P|,
// D_p = e^{s_p} + Σ_{n∉P} e^{s_n}, all in the log domain. The authors'
// default samples one positive per query per step (loss_sample); this is
// that estimator's expectation. Defaults: τ = 0.05, normalised.
type DecoupledSoftmax struct {
	Temperature float64
	Normalize   bool
}

// Name returns "decoupled-softmax".
func (*DecoupledSoftmax) Name() string { return "decoupled-softmax" }

// Eval32 evaluates the loss on float32 inputs.
func (l *DecoupledSoftmax) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return run(l, in, out)
}

// Eval64 evaluates the loss on float64 inputs.
func (l *DecoupledSoftmax) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return run(l, in, out)
}

func (*DecoupledSoftmax) lossName() string { return "decoupled-softmax" }
func (*DecoupledSoftmax) reads() needs {
	return optPositives | optClasses | optLabels | optRelevance
}

func (l *DecoupledSoftmax) eval(b *batch) (float64, error) {
	if err := param(b.name, "temperature", l.Temperature, l.Temperature > 0); err != nil {
		return 0, err
	}
	p, err := newPool(b, l.Temperature, l.Normalize)
	if err != nil {
		return 0, err
	}
	gs := make([]float64, len(p.s))
	var total float64
	counted := 0
	rowLoss := make([]float64, b.n)
	for i := 0; i < b.n; i++ {
		if len(p.pos[i]) == 0 {
			continue
		}
		counted++
		var g []float64
		rowLoss[i], g = decoupled(p.s[i*p.m:(i+1)*p.m], p.pos[i])
		copy(gs[i*p.m:], g)
	}
	if counted == 0 {
		return 0, valueErr(b.name, "no query has a positive in the pool")
	}
	for i := range rowLoss {
		total += rowLoss[i] / float64(counted)
	}
	for i := range gs {
		gs[i] /= float64(counted) * l.Temperature
	}
	p.back(b, gs)
	return total, nil
}

// decoupled returns the decoupled softmax loss of one row of scores with
// positive set pos, and its gradient with respect to the scores.
func decoupled(s []float64, pos []int) (float64, []float64) {
	isPos := make([]bool, len(s))
	for _, j := range pos {
		isPos[j] = true
	}
	lseN := math.Inf(-1)
	for j, v := range s {
		if !isPos[j] {
			lseN = logAddExp(lseN, v)
		}
	}
	g := make([]float64, len(s))
	var loss float64
	k := 1 / float64(len(pos))
	for _, p := range pos {
		logD := logAddExp(s[p], lseN)
		loss += k * (logD - s[p])
		g[p] -= k * -math.Expm1(s[p]-logD)
		for j, v := range s {
			if !isPos[j] {
				g[j] += k * math.Exp(v-logD)
			}
		}
	}
	return loss, g
}

// logAddExp returns log(eᵃ + eᵇ).
func logAddExp(a, b float64) float64 {
	if a < b {
		a, b = b, a
	}
	if math.IsInf(b, -1) {
		return a
	}
	return a + math.Log1p(math.Exp(b-a))
}

// SoftTopK is DEXML's soft top-k loss: a differentiable top-k membership
// m_j = σ(α(s_j + t)), with the threshold t solving Σ_j m_j = k, and
//
//	ℓ_i = −(1/|P_i|) Σ_{p∈P_i} log m_p.
//
// Backward by the implicit function theorem on the constraint (the
// authors' closed form): with v_j = α m_j(1 − m_j) and S = Σ v,
// ∂(−log m_p)/∂s_j = −α(1 − m_p)(δ_pj − v_j/S). t is found by bisection
// to full float64 precision (the authors stop after 32 steps). k must be
// below the pool size. Defaults: k = 5, α = 2, τ = 0.05, normalised.
type SoftTopK struct {
	K, Alpha, Temperature float64
	Normalize             bool
}

// Name returns "soft-topk".
func (*SoftTopK) Name() string { return "soft-topk" }

// Eval32 evaluates the loss on float32 inputs.
func (l *SoftTopK) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return run(l, in, out)
}

// Eval64 evaluates the loss on float64 inputs.
func (l *SoftTopK) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return run(l, in, out)
}

func (*SoftTopK) lossName() string { return "soft-topk" }
func (*SoftTopK) reads() needs     { return optPositives | optClasses | optLabels | optRelevance }

func (l *SoftTopK) eval(b *batch) (float64, error) {
	if err := param(b.name, "temperature", l.Temperature, l.Temperature > 0); err != nil {
		return 0, err
	}
	if err := param(b.name, "alpha", l.Alpha, l.Alpha > 0); err != nil {
		return 0, err
	}
	p, err := newPool(b, l.Temperature, l.Normalize)
	if err != nil {
		return 0, err
	}
	if !(l.K > 0 && l.K < float64(p.m)) {
		return 0, valueErr(b.name, "k = %v, want 0 < k < %d (the pool size)", l.K, p.m)
	}
	gs := make([]float64, len(p.s))
	counted := 0
	var total float64
	for i := 0; i < b.n; i++ {
		if len(p.pos[i]) == 0 {
			continue
		}
		counted++
		loss, g := softTopK(p.s[i*p.m:(i+1)*p.m], p.pos[i], l.K, l.Alpha)
		total += loss
		copy(gs[i*p.m:], g)
	}
	if counted == 0 {
		return 0, valueErr(b.name, "no query has a positive in the pool")
	}
	for i := range gs {
		gs[i] /= float64(counted) * l.Temperature
	}
	p.back(b, gs)
	return total / float64(counted), nil
}

// softTopKThreshold returns t with Σ_j σ(α(s_j + t)) = k (0 < k < len(s)).
func softTopKThreshold(s []float64, k, alpha float64) float64 {
	f := func(t float64) float64 {
		var sum float64
		for _, v := range s {
			sum += sigmoid(alpha * (v + t))
		}
		return sum - k
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range s {
		lo, hi = min(lo, -v), max(hi, -v)
	}
	lo, hi = lo-10/alpha, hi+10/alpha
	for f(lo) > 0 {
		lo -= hi - lo
	}
	for f(hi) < 0 {
		hi += hi - lo
	}
	for i := 0; i < 200; i++ {
		mid := lo + (hi-lo)/2
		if mid <= lo || mid >= hi {
			break
		}
		if f(mid) < 0 {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo + (hi-lo)/2
}

// softTopK returns the soft top-k loss of one row and its gradient with
// respect to the scores.
func softTopK(s []float64, pos []int, k, alpha float64) (float64, []float64) {
	t := softTopKThreshold(s, k, alpha)
	m := make([]float64, len(s))
	v := make([]float64, len(s))
	var sv float64
	for j, x := range s {
		m[j] = sigmoid(alpha * (x + t))
		v[j] = alpha * m[j] * (1 - m[j])
		sv += v[j]
	}
	g := make([]float64, len(s))
	var loss float64
	w := 1 / float64(len(pos))
	for _, p := range pos {
		u := alpha * (s[p] + t)
		loss += w * softplus(-u) // −log σ(u)
		c := -alpha * (1 - m[p]) * w
		g[p] += c
		if sv > 0 {
			for j := range s {
				g[j] -= c * v[j] / sv
			}
		}
	}
	return loss, g
}

func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

func softplus(z float64) float64 {
	return max(z, 0) + math.Log1p(math.Exp(-math.Abs(z)))
}
