package embedding

import (
	"math"
	"math/rand/v2"
	"sync/atomic"

	"github.com/xentlab/xent/internal/rowstat"
)

// The registry names of this file's losses.
const (
	nameDecoupledSoftmax = "decoupled-softmax"
	nameSoftTopk         = "soft-topk"
)

// The DEXML losses (catalog A7: Gupta et al., "Dual-Encoders for Extreme
// Multi-Label Classification", 2024) score each query against a pool of
// label vectors, s_ij = ⟨q̂_i, l̂_j⟩/τ, with several positive labels per
// query.
//
// The pool is either Classes [C, Dim] — the positives of query i are the
// classes with Relevance[i, j] > 1e-8 (the official EPSILON), with their
// relevance r_ij as weights, or its single class Labels[i] — or the
// in-batch Positives [N, Dim] — the positives of query i are the rows j
// with Labels[j] = Labels[i], or row i alone without Labels (relevance 1).
// Relevance must be finite and ≥ 0; entries in (0, 1e-8] are negatives,
// as in the official code. A query with no positive contributes 0, and
// the loss is divided by the whole batch N, as the official code divides
// by sim.shape[0] (an error if no query has a positive).
//
// Sampling. The official training (loss_sample, on by default) draws,
// for every query at every step, positives by relevance without
// replacement — one for the decoupled softmax, min(K, |P|) for soft
// top-k — and sets the scores of the positives it did not draw to −100
// before the loss (their gradient is then 0). With Sample set, the losses
// do the same, seeded: the n-th evaluation draws the n-th sample of the
// seed, query i from its own stream, so the draws do not depend on the
// thread count. Without it they are deterministic: see each type.

// dexmlEps is the official threshold on relevance (EPSILON).
const dexmlEps = 1e-8

// dexmlMasked is the score the official code gives a positive it did not
// draw.
const dexmlMasked = -100.0

// pool builds the score matrix of the DEXML losses and the positive sets.
type pool struct {
	s          []float64 // [n, m] scores
	m          int
	pos        [][]int     // positives of each query
	rel        [][]float64 // their relevance (1 without Relevance)
	relSum     []float64   // Σ_j r_ij over the whole row (the official K = num_pos uses it)
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
	for i, r := range b.rel {
		if r < 0 {
			return nil, valueErr(b.name, "Relevance has %v at row %d, column %d (want ≥ 0)", r, i/p.m, i%p.m)
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
	p.rel = make([][]float64, b.n)
	p.relSum = make([]float64, b.n)
	for i := range p.pos {
		for j := 0; j < p.m; j++ {
			r := 0.0
			switch {
			case onClasses && b.rel != nil:
				r = b.rel[i*p.m+j]
			case onClasses && b.labels[i] == int64(j):
				r = 1
			case !onClasses && b.labels != nil && b.labels[i] == b.labels[j]:
				r = 1
			case !onClasses && b.labels == nil && i == j:
				r = 1
			}
			p.relSum[i] += r
			if r > dexmlEps {
				p.pos[i] = append(p.pos[i], j)
				p.rel[i] = append(p.rel[i], r)
			}
		}
	}
	return p, nil
}

// dexmlSampler draws the official per-step samples of positives: the
// n-th evaluation uses stream (seed, n, query).
type dexmlSampler struct {
	calls atomic.Uint64
}

// next returns the draw function of a new evaluation.
func (d *dexmlSampler) next(seed uint64) func(query int) *rand.Rand {
	call := d.calls.Add(1) - 1
	return func(query int) *rand.Rand {
		return rand.New(rand.NewPCG(seed, call<<32^uint64(query)))
	}
}

// drawPositives draws k of the positives (indices into pos) without
// replacement, each draw proportional to the relevance of those left
// (torch.multinomial's sampling without replacement).
func drawPositives(rng *rand.Rand, rel []float64, k int) []int {
	left := make([]int, len(rel))
	for t := range left {
		left[t] = t
	}
	var out []int
	for len(out) < k && len(left) > 0 {
		var tot float64
		for _, t := range left {
			tot += rel[t]
		}
		u := rng.Float64() * tot
		pick := len(left) - 1
		for q, t := range left {
			if u < rel[t] {
				pick = q
				break
			}
			u -= rel[t]
		}
		out = append(out, left[pick])
		left = append(left[:pick], left[pick+1:]...)
	}
	return out
}

// maskUndrawn returns a copy of row s with the positives of pos not in
// drawn set to the official −100, and the list of those columns.
func maskUndrawn(s []float64, pos []int, drawn []int) ([]float64, []int) {
	keep := map[int]bool{}
	for _, t := range drawn {
		keep[pos[t]] = true
	}
	row := append([]float64(nil), s...)
	var masked []int
	for _, j := range pos {
		if !keep[j] {
			row[j] = dexmlMasked
			masked = append(masked, j)
		}
	}
	return row, masked
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
// the other positives are removed from each positive's denominator. For
// query i with positives P and relevance r,
//
//	ℓ_i = −Σ_{p∈P} (r_p/Σ_{q∈P} r_q)·[ s_p − log( e^{s_p} + Σ_{n∉P} e^{s_n} ) ],   L = (1/N) Σ_i ℓ_i,
//
// with gradient ∂ℓ/∂s_p = −w_p(1 − e^{s_p}/D_p), ∂ℓ/∂s_n = Σ_p w_p e^{s_n}/D_p,
// w_p = r_p/Σr, D_p = e^{s_p} + Σ_{n∉P} e^{s_n}, all in the log domain.
// This is the expectation of the official default (loss_sample), which
// draws one positive per query with probability r_p/Σr and scores it
// against the negatives, the other positives set to −100 (e^{−100}, left
// out here: relative 4e-44); with binary relevance w_p = 1/|P|. With
// Sample the loss draws as the official code does (see the package's
// DEXML notes), other positives at −100 included. Defaults: τ = 0.05,
// normalised, no sampling.
type DecoupledSoftmax struct {
	Temperature float64
	Normalize   bool
	// Sample draws one positive per query and step by relevance, seeded
	// by Seed, as the official training does.
	Sample  bool
	Seed    uint64
	sampler dexmlSampler
}

// Name returns "decoupled-softmax".
func (*DecoupledSoftmax) Name() string { return nameDecoupledSoftmax }

// Eval32 evaluates the loss on float32 inputs.
func (l *DecoupledSoftmax) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return run(l, in, out)
}

// Eval64 evaluates the loss on float64 inputs.
func (l *DecoupledSoftmax) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return run(l, in, out)
}

func (*DecoupledSoftmax) lossName() string { return nameDecoupledSoftmax }
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
	var draw func(int) *rand.Rand
	if l.Sample {
		draw = l.sampler.next(l.Seed)
	}
	gs := make([]float64, len(p.s))
	var total float64
	counted := 0
	n := float64(b.n)
	for i := 0; i < b.n; i++ {
		if len(p.pos[i]) == 0 {
			continue
		}
		counted++
		row := p.s[i*p.m : (i+1)*p.m]
		var loss float64
		var g []float64
		if draw != nil {
			drawn := drawPositives(draw(i), p.rel[i], 1)
			masked, cols := maskUndrawn(row, p.pos[i], drawn)
			loss, g = decoupledWeighted(masked, []int{p.pos[i][drawn[0]]}, []float64{1})
			for _, j := range cols {
				g[j] = 0 // overwritten scores carry no gradient
			}
		} else {
			loss, g = decoupledWeighted(row, p.pos[i], p.rel[i])
		}
		total += loss / n
		for j, v := range g {
			gs[i*p.m+j] = v / (n * l.Temperature)
		}
	}
	if counted == 0 {
		return 0, valueErr(b.name, "no query has a positive in the pool")
	}
	p.back(b, gs)
	return total, nil
}

// decoupled returns the decoupled softmax loss of one row of scores with
// positive set pos weighted 1/|P|, and its gradient with respect to the
// scores.
func decoupled(s []float64, pos []int) (float64, []float64) {
	w := make([]float64, len(pos))
	for t := range w {
		w[t] = 1
	}
	return decoupledWeighted(s, pos, w)
}

// decoupledWeighted is the decoupled softmax loss of one row with
// positives pos weighted r/Σr; every other column is a negative (after
// sampling, the undrawn positives too, at −100, as in the official code).
func decoupledWeighted(s []float64, pos []int, r []float64) (float64, []float64) {
	isPos := make([]bool, len(s))
	for _, j := range pos {
		isPos[j] = true
	}
	lseN := math.Inf(-1)
	for j, v := range s {
		if !isPos[j] {
			lseN = rowstat.LogAddExp(lseN, v)
		}
	}
	var rs float64
	for _, v := range r {
		rs += v
	}
	g := make([]float64, len(s))
	var loss float64
	for t, p := range pos {
		k := r[t] / rs
		logD := rowstat.LogAddExp(s[p], lseN)
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

// SoftTopK is DEXML's soft top-k loss: a differentiable top-k membership
// m_j = σ(α(s_j + t)), with the threshold t solving Σ_j m_j = k, and
//
//	ℓ_i = −(1/|P_i|) Σ_{p∈P_i} log m_p,   L = (1/N) Σ_i ℓ_i.
//
// Backward by the implicit function theorem on the constraint (the
// authors' closed form): with v_j = α m_j(1 − m_j) and S = Σ v,
// ∂(−log m_p)/∂s_j = −α(1 − m_p)(δ_pj − v_j/S), where 1 − m_p is computed
// as σ(−u_p) and v_j as α·σ(u_j)·σ(−u_j) so that they keep their value
// when m rounds to 1. t is found by bisection to full float64 precision
// (the authors stop after 32 steps). k must be below the pool size; K = 0
// is the official num_pos mode, k_i = ⌈Σ_j r_ij⌉ per query.
//
// Difference from the official default: without Sample every positive is
// in the constraint and the loss; the official training (loss_sample)
// draws min(K, |P|) positives by relevance, sets the others' scores to
// −100 before solving and averages over the drawn ones — the same when a
// query has at most K positives. Sample does what the official code does
// (see the package's DEXML notes). Defaults: k = 5, α = 2, τ = 0.05,
// normalised, no sampling.
type SoftTopK struct {
	K, Alpha, Temperature float64
	Normalize             bool
	// Sample draws min(K, |P|) positives per query and step by relevance,
	// seeded by Seed, as the official training does.
	Sample  bool
	Seed    uint64
	sampler dexmlSampler
}

// Name returns "soft-topk".
func (*SoftTopK) Name() string { return nameSoftTopk }

// Eval32 evaluates the loss on float32 inputs.
func (l *SoftTopK) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return run(l, in, out)
}

// Eval64 evaluates the loss on float64 inputs.
func (l *SoftTopK) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return run(l, in, out)
}

func (*SoftTopK) lossName() string { return nameSoftTopk }
func (*SoftTopK) reads() needs     { return optPositives | optClasses | optLabels | optRelevance }

func (l *SoftTopK) eval(b *batch) (float64, error) {
	if err := param(b.name, "temperature", l.Temperature, l.Temperature > 0); err != nil {
		return 0, err
	}
	if err := param(b.name, "alpha", l.Alpha, l.Alpha > 0); err != nil {
		return 0, err
	}
	if err := param(b.name, "k", l.K, l.K >= 0); err != nil {
		return 0, err
	}
	p, err := newPool(b, l.Temperature, l.Normalize)
	if err != nil {
		return 0, err
	}
	var draw func(int) *rand.Rand
	if l.Sample {
		draw = l.sampler.next(l.Seed)
	}
	gs := make([]float64, len(p.s))
	counted := 0
	var total float64
	n := float64(b.n)
	for i := 0; i < b.n; i++ {
		if len(p.pos[i]) == 0 {
			continue
		}
		k := l.K
		if k == 0 {
			k = math.Ceil(p.relSum[i]) // the official num_pos
		}
		if !(k > 0 && k < float64(p.m)) {
			return 0, valueErr(b.name, "k = %v at query %d, want 0 < k < %d (the pool size)", k, i, p.m)
		}
		counted++
		row, pos := p.s[i*p.m:(i+1)*p.m], p.pos[i]
		var masked []int
		if draw != nil {
			drawn := drawPositives(draw(i), p.rel[i], min(int(math.Ceil(k)), len(pos)))
			row, masked = maskUndrawn(row, pos, drawn)
			sel := make([]int, len(drawn))
			for t, d := range drawn {
				sel[t] = pos[d]
			}
			pos = sel
		}
		loss, g := softTopK(row, pos, k, l.Alpha)
		for _, j := range masked {
			g[j] = 0 // overwritten scores carry no gradient
		}
		total += loss / n
		for j, v := range g {
			gs[i*p.m+j] = v / (n * l.Temperature)
		}
	}
	if counted == 0 {
		return 0, valueErr(b.name, "no query has a positive in the pool")
	}
	p.back(b, gs)
	return total, nil
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
	v := make([]float64, len(s))
	var sv float64
	for j, x := range s {
		u := alpha * (x + t)
		v[j] = alpha * sigmoid(u) * sigmoid(-u) // α·m(1 − m), also where m rounds to 1
		sv += v[j]
	}
	g := make([]float64, len(s))
	var loss float64
	w := 1 / float64(len(pos))
	for _, p := range pos {
		u := alpha * (s[p] + t)
		loss += w * softplus(-u)      // −log σ(u)
		c := -alpha * sigmoid(-u) * w // 1 − m_p as σ(−u): exact for large u
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

func init() {
	dexml := func(name string, topk bool) Spec {
		s := Spec{
			Name:    name,
			Catalog: "A7",
			Needs:   AcceptsPositives | AcceptsLabels | AcceptsClasses,
			Params: []Param{{"temperature", 0.05, "τ > 0"}, {"normalize", 1, "1: L2-normalise the rows"},
				{"sample", 0, "1: draw positives by relevance at every evaluation, as the official training (seeded); 0: deterministic"},
				{"seed", 0, "seed of the draws (an integer ≥ 0)"}},
		}
		if topk {
			s.Summary = "DEXML soft top-k: −log of a differentiable top-k membership of the positives"
			s.Params = append(s.Params, Param{"k", 5, "0 < k < pool size; 0: the official num_pos, ⌈Σ relevance⌉ per query"}, Param{"alpha", 2, "sharpness α > 0"})
		} else {
			s.Summary = "DEXML decoupled softmax: InfoNCE without the other positives in each denominator"
		}
		s.New = func(p map[string]float64) (Loss, error) {
			norm, err := flag(p, "normalize")
			if err != nil {
				return nil, err
			}
			if err := param(name, "temperature", p["temperature"], p["temperature"] > 0); err != nil {
				return nil, err
			}
			sample, err := flag(p, "sample")
			if err != nil {
				return nil, err
			}
			seed := p["seed"]
			if err := param(name, "seed", seed, seed == math.Trunc(seed) && seed >= 0 && seed <= 1<<53); err != nil {
				return nil, err
			}
			if topk {
				if err := param(name, "alpha", p["alpha"], p["alpha"] > 0); err != nil {
					return nil, err
				}
				if err := param(name, "k", p["k"], p["k"] >= 0); err != nil {
					return nil, err
				}
				return &SoftTopK{K: p["k"], Alpha: p["alpha"], Temperature: p["temperature"], Normalize: norm, Sample: sample, Seed: uint64(seed)}, nil
			}
			return &DecoupledSoftmax{Temperature: p["temperature"], Normalize: norm, Sample: sample, Seed: uint64(seed)}, nil
		}
		return s
	}
	Register(dexml(nameDecoupledSoftmax, false))
	Register(dexml(nameSoftTopk, true))
}
