package sample

import (
	"cmp"
	"math"
	"slices"
	"sort"
)

// The float64 reference of the chain: every stage written out from its
// definition on a list of candidates, sorting freely. Value changes that
// the definitions state in float32 (logit_bias, penalties, DRY, temp) are
// made in float32; probabilities, sums and thresholds in float64.

type refCand struct {
	id int32
	z  float32
}

type refState struct {
	c    []refCand
	V    int
	near bool // a decision was within rounding of its threshold
	// After a cut at a cumulative probability: the candidates in the
	// stage's order, and the range of prefix lengths [lo, hi] that the
	// float32 rounding of the masses allows (lo = hi when the cut is
	// clear).
	order  []refCand
	lo, hi int
}

// refTol is the relative rounding of a cumulative probability computed
// from float32 masses (each within 2 ulp, 2.4e-7) and float64 sums,
// with a margin.
const refTol = 5e-7

func newRef(x []float32) *refState {
	r := &refState{V: len(x)}
	for i, v := range x {
		if !math.IsInf(float64(v), -1) {
			r.c = append(r.c, refCand{int32(i), v})
		}
	}
	return r
}

// probs returns the softmax of the candidates in float64 (same order).
func (r *refState) probs() []float64 {
	m := math.Inf(-1)
	for _, c := range r.c {
		m = math.Max(m, float64(c.z))
	}
	p := make([]float64, len(r.c))
	s := 0.0
	for i, c := range r.c {
		p[i] = math.Exp(float64(c.z) - m)
		s += p[i]
	}
	for i := range p {
		p[i] /= s
	}
	return p
}

// byLogit sorts the candidates by logit descending, id ascending.
func (r *refState) byLogit() {
	slices.SortFunc(r.c, func(a, b refCand) int {
		if a.z != b.z {
			return cmp.Compare(b.z, a.z)
		}
		return cmp.Compare(a.id, b.id)
	})
}

func (r *refState) byID() {
	slices.SortFunc(r.c, func(a, b refCand) int { return cmp.Compare(a.id, b.id) })
}

// prefixTo keeps the first n of the current order, at least min(k, all).
func (r *refState) prefixTo(n, k int) {
	n = max(n, min(k, len(r.c)))
	r.c = r.c[:n]
}

func (r *refState) topK(k, minKeep int) {
	if k <= 0 {
		return
	}
	k = max(k, minKeep)
	if k >= len(r.c) {
		return
	}
	r.byLogit()
	r.c = r.c[:k]
}

// cumPrefix returns the length of the shortest prefix of p (in order)
// whose sum is ≥ P, and the range of lengths the rounding allows.
func cumPrefix(p []float64, P float64) (n, lo, hi int) {
	n, lo, hi = len(p), len(p), len(p)
	cum := 0.0
	for i, x := range p {
		cum += x
		if cum >= P*(1-refTol) && lo == len(p) {
			lo = i + 1
		}
		if cum >= P && n == len(p) {
			n = i + 1
		}
		if cum >= P*(1+refTol) {
			hi = i + 1
			break
		}
	}
	return n, lo, hi
}

// cutAt keeps the first n of the current order (at least min(k, all)),
// recording the order and the allowed range.
func (r *refState) cutAt(n, lo, hi, k int) {
	k = min(k, len(r.c))
	r.order = append([]refCand(nil), r.c...)
	r.lo, r.hi = max(lo, k), max(hi, k)
	r.c = r.c[:max(n, k)]
}

func (r *refState) topP(P float64, minKeep int) {
	if P >= 1 {
		return
	}
	r.byLogit()
	if P <= 0 {
		r.prefixTo(1, max(1, minKeep))
		return
	}
	n, lo, hi := cumPrefix(r.probs(), P)
	r.cutAt(n, lo, hi, max(1, minKeep))
}

func (r *refState) minP(P float64, minKeep int) {
	if P <= 0 {
		return
	}
	r.byLogit()
	th := float64(r.c[0].z) + math.Log(P)
	n := 0
	for _, c := range r.c {
		if float64(c.z) >= th {
			n++
		}
	}
	r.prefixTo(n, max(1, minKeep))
}

func (r *refState) typical(P float64, minKeep int) {
	if P >= 1 {
		return
	}
	p := r.probs()
	H := 0.0
	for _, x := range p {
		if x > 0 {
			H -= x * math.Log(x)
		}
	}
	type sc struct {
		c     refCand
		p, sc float64
	}
	l := make([]sc, len(r.c))
	for i, c := range r.c {
		l[i] = sc{c, p[i], math.Abs(-math.Log(p[i]) - H)}
	}
	sort.Slice(l, func(i, j int) bool {
		if l[i].sc != l[j].sc {
			return l[i].sc < l[j].sc
		}
		return l[i].c.id < l[j].c.id
	})
	ps := make([]float64, len(l))
	for i := range l {
		r.c[i], ps[i] = l[i].c, l[i].p
	}
	n, lo, hi := 1, 1, 1
	if P > 0 {
		n, lo, hi = cumPrefix(ps, P)
	}
	// Scores equal within rounding near the cut: the order is rounding.
	for i := max(1, lo-1); i < min(len(l), hi+1); i++ {
		if math.Abs(l[i].sc-l[i-1].sc) < 3e-7*math.Max(1, l[i].sc) && l[i].c.z != l[i-1].c.z {
			r.near = true
		}
	}
	r.cutAt(n, lo, hi, max(1, minKeep))
}

func (r *refState) topNSigma(nsig float64, minKeep int) {
	if nsig <= 0 || len(r.c) <= 1 {
		return
	}
	mean, m := 0.0, math.Inf(-1)
	for _, c := range r.c {
		mean += float64(c.z)
		m = math.Max(m, float64(c.z))
	}
	mean /= float64(len(r.c))
	v := 0.0
	for _, c := range r.c {
		v += (float64(c.z) - mean) * (float64(c.z) - mean)
	}
	th := m - nsig*math.Sqrt(v/float64(len(r.c)))
	r.byLogit()
	n := 0
	for _, c := range r.c {
		if d := math.Abs(float64(c.z) - th); d > 0 && d < 1e-9*math.Max(1, math.Abs(th)) {
			r.near = true
		}
		if float64(c.z) >= th {
			n++
		}
	}
	r.prefixTo(n, max(1, minKeep))
}

func (r *refState) xtc(prob, thr float64, minKeep int, u float64) {
	if prob <= 0 || thr > 0.5 || len(r.c) < 2 || u > prob {
		return
	}
	r.byLogit()
	p := r.probs()
	last := -1
	for i, x := range p {
		if d := math.Abs(x - thr); d > 0 && d < 2*refTol*thr {
			r.near = true
		}
		if x >= thr {
			last = i
		}
	}
	if last >= 1 && len(r.c)-last >= minKeep {
		r.c = r.c[last:]
	}
}

func (r *refState) temp(t, delta, exponent float64) {
	if delta > 0 {
		if len(r.c) <= 1 {
			return
		}
		p := r.probs()
		H := 0.0
		for _, x := range p {
			if x > 0 {
				H -= x * math.Log(x)
			}
		}
		lo, hi := math.Max(0, t-delta), t+delta
		t = lo + (hi-lo)*math.Pow(H/math.Log(float64(len(r.c))), exponent)
	}
	m := float32(math.Inf(-1))
	for _, c := range r.c {
		m = max(m, c.z)
	}
	if float32(t) <= 0 || math.IsInf(float64(m/float32(t)), 0) {
		r.byLogit()
		r.c = r.c[:1]
		return
	}
	for i := range r.c {
		r.c[i].z /= float32(t)
	}
	r.dropInf()
}

func (r *refState) find(t int32) int {
	for i, c := range r.c {
		if c.id == t {
			return i
		}
	}
	return -1
}

func (r *refState) logitBias(b []Bias) {
	for _, x := range b {
		if i := r.find(x.Token); i >= 0 {
			r.c[i].z += x.Value
		}
	}
	r.dropInf()
}

func (r *refState) dropInf() {
	k := r.c[:0]
	for _, c := range r.c {
		if !math.IsInf(float64(c.z), -1) {
			k = append(k, c)
		}
	}
	r.c = k
}

func (r *refState) penalties(hist []int32, lastN int, rep, freq, pres float64) {
	if lastN == 0 || rep == 1 && freq == 0 && pres == 0 {
		return
	}
	if lastN > 0 && lastN < len(hist) {
		hist = hist[len(hist)-lastN:]
	}
	count := map[int32]int{}
	for _, t := range hist {
		count[t]++
	}
	for i, c := range r.c {
		n := count[c.id]
		if n == 0 {
			continue
		}
		z := c.z
		if z <= 0 {
			z *= float32(rep)
		} else {
			z /= float32(rep)
		}
		pen := float32(float32(n)*float32(freq)) + float32(pres)
		r.c[i].z = z - pen
	}
	r.dropInf()
}

// dry is DRY from its definition, with the suffix lengths found by
// direct comparison (O(N²)).
func (r *refState) dry(hist []int32, d DRYParams) {
	if d.Multiplier == 0 || d.Base < 1 || d.LastN == 0 {
		return
	}
	h := hist
	if d.LastN > 0 && d.LastN < len(h) {
		h = h[len(h)-d.LastN:]
	}
	N := len(h)
	if N <= d.AllowedLength {
		return
	}
	// R: tokens after the end of the last complete breaker.
	R := N
	end := -1 // index one past the breaker's last token, latest first
	for start := N - 1; start >= 0 && end < 0; start-- {
		best := -1
		for _, b := range d.Breakers {
			if start+len(b) > N {
				continue
			}
			ok := true
			for o, t := range b {
				if h[start+o] != t {
					ok = false
				}
			}
			if ok && start+len(b) > best {
				best = start + len(b)
			}
		}
		end = best
	}
	if end >= 0 {
		R = N - end
	}
	if R < d.AllowedLength {
		return
	}
	maxLen := map[int32]int{}
	for j := 1; j < N; j++ { // h[:j] ends one before the candidate h[j]
		L := 0
		for L < j && h[j-1-L] == h[N-1-L] {
			L++
		}
		L = min(L, R)
		if L >= d.AllowedLength && L > maxLen[h[j]]-1 {
			maxLen[h[j]] = L + 1
		}
	}
	maxExp := math.MaxInt
	if d.Base > 1.000001 {
		maxExp = int(88.7228391 / math.Log(d.Base))
	}
	for i, c := range r.c {
		L1, ok := maxLen[c.id]
		if !ok {
			continue
		}
		single := false
		for _, b := range d.Breakers {
			if len(b) == 1 && b[0] == c.id {
				single = true
			}
		}
		if single {
			continue
		}
		e := min(L1-1-d.AllowedLength, maxExp)
		r.c[i].z -= float32(d.Multiplier * math.Pow(d.Base, float64(e)))
	}
	r.dropInf()
}

// dist returns the final distribution as a dense row.
func (r *refState) dense() []float64 {
	out := make([]float64, r.V)
	p := r.probs()
	for i, c := range r.c {
		out[c.id] = p[i]
	}
	return out
}

// mirostatV2Cut keeps the candidates with −log₂ p ≤ μ (the first if
// none).
func (r *refState) mirostatV2Cut(mu float64) {
	r.byLogit()
	p := r.probs()
	n := 0
	for _, x := range p {
		s := -math.Log2(x)
		if d := math.Abs(s - mu); d > 0 && d < 1e-6*math.Max(1, mu) {
			r.near = true
		}
		if s <= mu {
			n++
		}
	}
	r.c = r.c[:max(1, n)]
}

// mirostatCut keeps the k most probable as Mirostat 1.0 computes k.
func (r *refState) mirostatCut(mu float64, m int) {
	r.byLogit()
	var tb, tt float64
	for i := 0; i < m-1 && i < len(r.c)-1; i++ {
		t := math.Log(float64(i+2) / float64(i+1))
		b := float64(r.c[i].z) - float64(r.c[i+1].z) // ln(p_i/p_{i+1})
		tb += t * b
		tt += t * t
	}
	if tt == 0 {
		return
	}
	s := tb / tt
	eps := s - 1
	var k float64
	if eps == 0 {
		k = math.Pow(2, mu) / math.Log(float64(r.V))
	} else {
		k = math.Pow(eps*math.Pow(2, mu)/(1-math.Pow(float64(r.V), -eps)), 1/s)
	}
	if math.Abs(k-math.Round(k)) < 1e-9*math.Max(1, k) {
		r.near = true
	}
	if !math.IsNaN(k) && k < float64(len(r.c)) {
		r.c = r.c[:max(1, int(k))]
	}
}

// apply runs one non-final stage on the reference (u: XTC's uniform).
func (r *refState) apply(s Stage, hist []int32, u float64) {
	if r.lo != r.hi {
		r.near = true // an uncertain cut followed by another stage
	}
	r.order, r.lo, r.hi = nil, 0, 0
	switch s.kind {
	case kLogitBias:
		r.logitBias(s.bias)
	case kPenalties:
		r.penalties(hist, s.n, s.f[0], s.f[1], s.f[2])
	case kDRY:
		r.dry(hist, s.dry)
	case kTopNSigma:
		r.topNSigma(s.f[0], s.minKeep)
	case kTopK:
		r.topK(s.n, s.minKeep)
	case kTypical:
		r.typical(s.f[0], s.minKeep)
	case kTopP:
		r.topP(s.f[0], s.minKeep)
	case kMinP:
		r.minP(s.f[0], s.minKeep)
	case kXTC:
		r.xtc(s.f[0], s.f[1], s.minKeep, u)
	case kTemp:
		r.temp(s.f[0], s.f[1], s.f[2])
	}
	r.byID()
}
