package sample

import (
	"fmt"
	"math"
	"slices"

	"github.com/xentlab/xent/internal/vek"
)

// drawBlock is the block of the draw's cumulative search.
const drawBlock = 4096

// run applies the sampler's chain to one row with the stream st: it
// draws a token into res, or, with res nil, writes the final
// distribution into probs.
func (w *work) run(s *Sampler, st *stream, in Input, res *Result, probs []float32) error {
	if err := checkRow(in); err != nil {
		return err
	}
	x := in.Logits
	var c cands
	w.start(&c, x)
	// The check of the row gives its max and its chunk maxima (for top-k).
	var m0 float32
	var nan bool
	if s.chunks {
		nb := (len(x) + chunkLen - 1) / chunkLen
		m0, nan = chunkMaxima(x, w.bmax[:nb])
	} else {
		m0, nan = vek.MaxNaN32(x)
	}
	if nan || math.IsInf(float64(m0), 1) {
		return badLogit(x)
	}
	if math.IsInf(float64(m0), -1) {
		return fmt.Errorf("sample: every logit is −Inf: %w", errNoCandidate)
	}
	c.m, c.mOK, c.bm = m0, true, s.chunks
	if in.Allowed != nil {
		w.mask(&c, in.Allowed)
	}
	for i, sg := range s.chain {
		if !c.mOK {
			// A stage changed the values: they must still have a finite max.
			if err := w.check(&c, m0); err != nil {
				return fmt.Errorf("%w before stage %d (%s)", err, i+1, sg.Name())
			}
		}
		// Stages that know the overlay (of changed tokens) or the cut (of
		// a top-p prefix) work on them; the others get plain values.
		overlay := sg.kind != kLogitBias && sg.kind != kPenalties && sg.kind != kDRY && sg.kind != kTopK || sg.kind.final()
		w.resolve(&c, overlay, sg.kind != kDist)
		if !sg.kind.final() {
			if err := w.apply(&c, sg, st, in.History); err != nil {
				return err
			}
			continue
		}
		var pos int
		var lse float64
		switch sg.kind {
		case kGreedy:
			pos = w.argmax(&c)
			if probs != nil {
				clear(probs)
				probs[c.id(pos)] = 1
				return nil
			}
			lse = float64(c.v[pos]) // the final distribution is one-hot
		case kDist:
			if probs != nil {
				w.writeProbs(&c, probs)
				return nil
			}
			var S float64
			pos, S = w.draw(&c, st.uniform())
			lse = float64(c.m) + math.Log(S)
		case kMirostat, kMirostatV2:
			var err error
			pos, lse, err = w.mirostat(&c, sg, st, probs)
			if err != nil || probs != nil {
				return err
			}
		}
		res.Token = c.id(pos)
		res.LogProb = float64(c.v[pos]) - lse
		if sg.kind == kGreedy {
			res.LogProb = 0
		}
		res.RawLogProb = math.NaN()
		res.Top = nil
		if s.logprobs {
			w.rawLogProbs(s, st, x, m0, res)
		}
		return nil
	}
	panic("sample: chain without a final stage")
}

// check verifies that changed values still have a finite max: no
// overflow to +Inf, and a candidate left. With an overlay on the row
// (whose max m0 is at some token t0), the overlay alone is checked when
// t0 is unchanged.
func (w *work) check(c *cands, m0 float32) error {
	if len(c.ov) > 0 {
		t0 := -1
		for b := 0; b*chunkLen < c.n && t0 < 0; b++ {
			if c.bm && w.bmax[b] != m0 {
				continue
			}
			for i := b * chunkLen; i < min(c.n, (b+1)*chunkLen); i++ {
				if c.v[i] == m0 {
					t0 = i
					break
				}
			}
		}
		m := negInf
		for _, p := range c.ov {
			if p.v > math.MaxFloat32 {
				return fmt.Errorf("sample: the logit of token %d overflowed to +Inf: %w", p.id, ErrValue)
			}
			m = max(m, p.v)
		}
		if _, changed := c.ovFind(int32(t0)); !changed {
			c.m, c.mOK = max(m, m0), true
			return nil
		}
		w.writable(c)
	}
	m := w.max(c)
	if m > math.MaxFloat32 {
		return fmt.Errorf("sample: a logit overflowed to +Inf: %w", ErrValue)
	}
	if !(m > negInf) {
		return fmt.Errorf("sample: no candidate left: %w", errNoCandidate)
	}
	return nil
}

// mask gives −Inf to the tokens whose bit of allowed is clear.
func (w *work) mask(c *cands, allowed []uint64) {
	w.writable(c)
	v := c.v
	for i := 0; i < c.n; i += 64 {
		word := allowed[i/64]
		if word == ^uint64(0) {
			continue
		}
		for j := i; j < min(c.n, i+64); j++ {
			if word&(1<<(j-i)) == 0 {
				v[j] = negInf
			}
		}
	}
	c.changed()
}

// apply runs one non-final stage.
func (w *work) apply(c *cands, sg Stage, st *stream, hist []int32) error {
	switch sg.kind {
	case kLogitBias:
		return w.logitBias(c, sg.bias)
	case kPenalties:
		w.penalties(c, hist, sg.n, sg.f[0], sg.f[1], sg.f[2])
	case kDRY:
		w.dry(c, hist, &sg.dry)
	case kTopNSigma:
		w.topNSigma(c, sg.f[0], sg.minKeep)
	case kTopK:
		if sg.n > 0 {
			w.topK(c, max(sg.n, sg.minKeep))
		}
	case kTypical:
		w.typical(c, sg.f[0], sg.minKeep)
	case kTopP:
		w.topP(c, sg.f[0], sg.minKeep)
	case kMinP:
		w.minP(c, sg.f[0], sg.minKeep)
	case kXTC:
		w.xtc(c, sg.f[0], sg.f[1], sg.minKeep, st.uniform())
	case kTemp:
		w.temp(c, sg.f[0], sg.f[1], sg.f[2])
	}
	return nil
}

// find returns the entry of token t in c, or −1.
func (c *cands) find(t int32) int {
	if c.dense {
		if int(t) < c.n {
			return int(t)
		}
		return -1
	}
	i, ok := slices.BinarySearch(c.ids[:c.n], t)
	if !ok {
		return -1
	}
	return i
}

func (w *work) logitBias(c *cands, bias []Bias) error {
	if len(bias) == 0 {
		return nil
	}
	for _, b := range bias {
		if int(b.Token) >= c.V {
			return fmt.Errorf("sample: logit_bias token %d is outside the vocabulary [0, %d): %w", b.Token, c.V, ErrValue)
		}
	}
	for _, b := range bias {
		if i := c.find(b.Token); i >= 0 {
			w.set(c, i, c.get(i)+b.Value)
		}
	}
	return nil
}

// window returns the last n tokens of hist (all of them for n < 0).
func window(hist []int32, n int) []int32 {
	if n >= 0 && n < len(hist) {
		return hist[len(hist)-n:]
	}
	return hist
}

func (w *work) penalties(c *cands, hist []int32, lastN int, repeat, freq, pres float64) {
	if lastN == 0 || repeat == 1 && freq == 0 && pres == 0 {
		return
	}
	win := window(hist, lastN)
	if len(win) == 0 {
		return
	}
	w.touch = w.touch[:0]
	for _, t := range win {
		if w.cnt[t] == 0 {
			w.touch = append(w.touch, t)
		}
		w.cnt[t]++
	}
	r, f, p := float32(repeat), float32(freq), float32(pres)
	for _, t := range w.touch {
		cnt := w.cnt[t]
		w.cnt[t] = 0
		i := c.find(t)
		if i < 0 {
			continue
		}
		z := c.get(i)
		if !(z > negInf) {
			continue
		}
		if z <= 0 {
			z *= r
		} else {
			z /= r
		}
		w.set(c, i, z-(float32(float32(cnt)*f)+p))
	}
}

// dry applies the DRY penalty (see DRY).
func (w *work) dry(c *cands, hist []int32, d *DRYParams) {
	if d.Multiplier == 0 || d.Base < 1 || d.LastN == 0 {
		return
	}
	win := window(hist, d.LastN)
	N := len(win)
	if N <= d.AllowedLength {
		return
	}
	// The repetition limit: tokens after the end of the last breaker.
	limit := N
	for i := 0; i < N && limit == N; i++ { // i: distance from the end of the head
		head := win[N-1-i]
		longest := -1
		for _, b := range d.Breakers {
			L := len(b) - 1
			if b[0] != head || L > i || L <= longest {
				continue
			}
			match := true
			for o := range L {
				if b[1+o] != win[N-i+o] {
					match = false
					break
				}
			}
			if match {
				longest = L
			}
		}
		if longest >= 0 {
			limit = i - longest
		}
	}
	if limit < d.AllowedLength {
		return
	}
	// Z-array of the reversed window: z[k] = the longest common suffix of
	// win[:N] and win[:N−k].
	if cap(w.zarr) < N {
		w.zarr = make([]int32, N)
	}
	z := w.zarr[:N]
	rev := func(j int) int32 { return win[N-1-j] }
	z[0] = int32(N)
	l, r := 0, 0
	for k := 1; k < N; k++ {
		zk := 0
		if k < r {
			zk = min(r-k, int(z[k-l]))
		}
		for k+zk < N && rev(zk) == rev(k+zk) {
			zk++
		}
		z[k] = int32(zk)
		if k+zk > r {
			l, r = k, k+zk
		}
	}
	w.touch = w.touch[:0]
	for k := 1; k < N; k++ {
		L := min(int(z[k]), limit)
		if L < d.AllowedLength {
			continue
		}
		t := win[N-k]
		if w.cnt[t] == 0 {
			w.touch = append(w.touch, t)
		}
		w.cnt[t] = int32(max(int(w.cnt[t]), L+1)) // +1: 0 means unset
	}
	if len(w.touch) == 0 {
		return
	}
	maxExp := math.MaxInt
	if d.Base > 1.000001 {
		maxExp = int(88.7228391 / math.Log(d.Base))
	}
	for _, t := range w.touch {
		L := int(w.cnt[t]) - 1
		w.cnt[t] = 0
		single := false
		for _, b := range d.Breakers {
			if len(b) == 1 && b[0] == t {
				single = true
			}
		}
		i := c.find(t)
		if single || i < 0 || !(c.get(i) > negInf) {
			continue
		}
		e := min(L-d.AllowedLength, maxExp)
		pen := float32(d.Multiplier * math.Pow(d.Base, float64(e)))
		w.set(c, i, c.get(i)-pen)
	}
}

// argmax returns the entry with the largest value, the first among ties.
func (w *work) argmax(c *cands) int {
	m := w.max(c)
	for i, x := range c.v[:c.n] {
		if x == m {
			return i
		}
	}
	return 0
}

// ceil32 returns the smallest float32 ≥ t (−MaxFloat32 for anything
// below it, +Inf above the float32 range).
func ceil32(t float64) float32 {
	if t <= -math.MaxFloat32 {
		return -math.MaxFloat32
	}
	f := float32(t)
	if float64(f) < t {
		f = nextUp(f)
	}
	return f
}

// keepMin makes sure a truncation keeps at least min(k, live) entries:
// when the set s (count n) the truncation wants holds fewer, c keeps its
// top min(k, live) by value instead; otherwise s becomes the candidates.
func (w *work) keepMin(c *cands, s *set, n, k int, eOK bool) {
	if n < k {
		if live := w.live(c); n < live {
			w.topK(c, k)
			return
		}
	}
	w.adopt(c, s, n, eOK)
}

func (w *work) topNSigma(c *cands, nsig float64, minKeep int) {
	if nsig <= 0 || c.n <= 1 {
		return
	}
	m := w.max(c)
	var sum float64
	cnt := 0
	for _, x := range c.v[:c.n] {
		if x > negInf {
			sum += float64(x)
			cnt++
		}
	}
	if cnt <= 1 {
		return
	}
	mean := sum / float64(cnt)
	var ss float64
	for _, x := range c.v[:c.n] {
		if x > negInf {
			d := float64(x) - mean
			ss += d * d
		}
	}
	sigma := math.Sqrt(ss / float64(cnt))
	s, n := w.from(c, ceil32(float64(m)-nsig*sigma))
	w.keepMin(c, s, n, max(1, minKeep), c.eOK)
}

func (w *work) minP(c *cands, p float64, minKeep int) {
	if p <= 0 {
		return
	}
	m := w.max(c)
	s, n := w.from(c, ceil32(float64(m)+math.Log(p)))
	w.keepMin(c, s, n, max(1, minKeep), c.eOK)
}

// splitMin is the number of entries from which top-p takes the split
// path (see topPSplit).
const splitMin = 64 * chunkLen

func (w *work) topP(c *cands, p float64, minKeep int) {
	if p >= 1 {
		return
	}
	k := max(1, minKeep)
	if p <= 0 {
		w.topK(c, k)
		return
	}
	m := w.max(c)
	if c.dense && c.n >= splitMin && w.topPSplit(c, p, k, m) {
		return
	}
	w.masses(c)
	kStar, idStar, ties, _ := w.prefix(c, c.v[:c.n], p, m)
	s, n := w.from(c, kStar)
	if ties {
		n = trim(s, s.v, n, kStar, idStar)
	}
	w.keepMin(c, s, n, k, true)
}

// topPSplit is top-p on the dense row, in about two reads of it. The
// crossing is estimated (bracket); one pass, block by block, computes the
// masses exp(z − max) into a small buffer and, with split, sums them,
// sums and counts those above the widened estimate [a, b) per block, and
// notes the positions of the entries in [a, b). The search then runs on
// those entries, and the prefix is kept as a cut of the row: the entries
// ≥ kStar, with their mass and count per draw block (the masses above b
// plus those of the search's entries above kStar), which the draw uses.
// Ties at the cut fall back to copying the prefix out; an estimate that
// misleads four times, to the general path, by returning false.
func (w *work) topPSplit(c *cands, p float64, k int, m float32) bool {
	var bm []float32
	if c.bm {
		bm = w.bmax[:(c.n+chunkLen-1)/chunkLen]
	}
	lo, hi := w.bracket(c.v[:c.n], bm, m, p)
	// The margin covers most of the estimate's error (a subsample's:
	// about a tenth of a nat on N(0, 9) logits); when the crossing is
	// outside [a, b) after all, the pass is made again on an interval
	// next to it, twice as wide, a few times before giving up.
	d := max(hi-lo, 0.125)
	a, b := lo-d, hi+d
	A := &w.lv[0]
	nb := (c.n + drawBlock - 1) / drawBlock
	bs, bc := w.bsum[:nb], w.bcnt[:nb]
	var na int
	var base, T float64
	for pass := 0; ; pass++ {
		if pass == 4 {
			return false
		}
		na = 0
		var total, above float64
		for blk := range nb {
			l, h := blk*drawBlock, min(c.n, (blk+1)*drawBlock)
			e := w.ebuf[:h-l]
			expInto(e, c.v[l:h], m)
			cnt, t, ab, nab := split(c.v[l:h], e, nil, int32(l), a, b, A.ids[na:])
			na += cnt
			total += t
			above += ab
			bs[blk], bc[blk] = ab, nab
		}
		T = p * total
		base = above
		if above >= T {
			a, b = b, b+2*(b-a) // the crossing is above b
			continue
		}
		for i, pos := range A.ids[:na] {
			A.v[i] = c.v[pos]
		}
		expInto(A.e[:na], A.v[:na], m)
		if base+sum64(A.e[:na]) < T {
			a, b = a-2*(b-a), a // below a
			continue
		}
		break
	}
	kStar, idStar, ties, _ := w.search(level{A.v[:na], A.e[:na], A.ids[:na]}, base, T, a, b, m, &w.lv[1], w.next(c))
	if ties {
		s, n := w.from(c, kStar)
		n = trim(s, s.v, n, kStar, idStar)
		w.keepMin(c, s, n, k, false)
		return true
	}
	// The search's entries at or above kStar, block by block (the
	// entries are in id order: a block's are a run).
	for i := 0; i < na; {
		blk := int(A.ids[i]) / drawBlock
		j, _ := slices.BinarySearch(A.ids[i:na], int32((blk+1)*drawBlock))
		x, cnt := sumAbove(A.v[i:i+j], A.e[i:i+j], kStar)
		bs[blk] += x
		bc[blk] += cnt
		i += j
	}
	n := 0
	for _, x := range bc {
		n += x
	}
	if n < k && n < w.live(c) {
		w.topK(c, k)
		return true
	}
	c.hasCut, c.cut = true, kStar
	return true
}

// expInto sets e_i = exp(x_i − m) (0 for −Inf).
func expInto(e, x []float32, m float32) { vek.ExpAffine32(e, x, m, 1, 1, 0) }

// prefix returns the last entry of the top-P prefix of c in descending
// order of key (see cut); c has its masses.
func (w *work) prefix(c *cands, key []float32, p float64, kmax float32) (float32, int32, bool, float64) {
	var ids []int32
	if !c.dense {
		ids = c.ids[:c.n]
	}
	e := c.e[:c.n]
	if c.n <= smallCut {
		T := p * sum64(e)
		return w.walkSorted(level{key: key, e: e, ids: ids}, 0, T)
	}
	return w.cut(key, e, ids, p, kmax)
}

// entropy returns S = Σ exp(v_i − m) and D = Σ exp(v_i − m)·(v_i − m)
// over the candidates, with float64 exponentials (package vek's float64
// kernel, within 2 ulp) so that the entropy ln S − D/S keeps float64
// accuracy even where float32 masses would underflow or round.
func (w *work) entropy(c *cands) (S, D float64) {
	m := float64(w.max(c))
	buf := w.f64[:]
	v := c.v[:c.n]
	for b := 0; b < len(v); b += len(buf) {
		x := v[b:min(len(v), b+len(buf))]
		d := buf[:len(x)]
		for i, z := range x {
			d[i] = float64(z) - m // exact; −Inf stays −Inf
		}
		S += vek.ExpStoreSum64(d, d, 0, 1)
		var d0, d1 float64
		i := 0
		for ; i+1 < len(x); i += 2 {
			if d[i] > 0 {
				d0 += d[i] * (float64(x[i]) - m)
			}
			if d[i+1] > 0 {
				d1 += d[i+1] * (float64(x[i+1]) - m)
			}
		}
		if i < len(x) && d[i] > 0 {
			d0 += d[i] * (float64(x[i]) - m)
		}
		D += d0 + d1
	}
	return S, D
}

func (w *work) typical(c *cands, p float64, minKeep int) {
	if p >= 1 {
		return
	}
	k := max(1, minKeep)
	m := w.masses(c)
	S, D := w.entropy(c)
	center := float64(m) + D/S
	key := w.key[:c.n]
	for i, x := range c.v[:c.n] {
		if x > negInf {
			key[i] = float32(-math.Abs(float64(x) - center))
		} else {
			key[i] = negInf
		}
	}
	if p <= 0 {
		w.topKBy(c, key, k)
		return
	}
	kmax, _ := vek.MaxNaN32(key)
	kStar, idStar, ties, _ := w.prefix(c, key, p, kmax)
	// Keep key ≥ kStar (keys land in s.e, values in s.v), then the ties.
	s := w.next(c)
	var ids []int32
	if !c.dense {
		ids = c.ids[:c.n]
	}
	n := compress(key, c.v[:c.n], ids, 0, kStar, posInf, s.ids, s.e, s.v)
	if ties {
		n = trim(s, s.e, n, kStar, idStar)
	}
	if n < k && n < w.live(c) {
		w.topKBy(c, key, k)
		return
	}
	w.adopt(c, s, n, false)
}

func (w *work) xtc(c *cands, prob, threshold float64, minKeep int, u float64) {
	if prob <= 0 || threshold > 0.5 || u > prob {
		return
	}
	live := w.live(c)
	if live < 2 {
		return
	}
	w.masses(c)
	S := sum64(c.e[:c.n])
	// A = the candidates with p ≥ threshold; the least probable of them
	// (smallest value, highest id among ties) stays.
	var na int
	last := -1
	for i, x := range c.v[:c.n] {
		if !(x > negInf) || float64(c.e[i])/S < threshold {
			continue
		}
		na++
		if last < 0 || x <= c.v[last] {
			last = i
		}
	}
	if na < 2 || live-(na-1) < minKeep {
		return
	}
	s := w.next(c)
	n := 0
	for i, x := range c.v[:c.n] {
		if !(x > negInf) || i != last && float64(c.e[i])/S >= threshold {
			continue
		}
		s.ids[n], s.v[n], s.e[n] = c.id(i), x, c.e[i]
		n++
	}
	w.adopt(c, s, n, true)
}

func (w *work) temp(c *cands, t, delta, exponent float64) {
	if delta > 0 {
		live := w.live(c)
		if live <= 1 {
			return
		}
		S, D := w.entropy(c)
		H := math.Log(S) - D/S
		tmin, tmax := max(0, t-delta), t+delta
		t = tmin + (tmax-tmin)*math.Pow(max(0, H)/math.Log(float64(live)), exponent)
	}
	t32 := float32(t)
	if !(t32 > 0) || math.IsInf(float64(w.max(c)/t32), 0) {
		// T ≤ 0, or so small that the largest logit over T overflows:
		// the limit, greedy.
		w.keepOnly(c, w.argmax(c))
		return
	}
	w.writable(c)
	for i, x := range c.v[:c.n] {
		c.v[i] = x / t32
	}
	c.changed()
}

// draw draws an entry of c from the softmax of its values with the
// uniform u (see Dist) and returns it with the total mass S (the
// softmax's denominator relative to the max). The cumulative search
// goes by blocks of drawBlock, then pieces of chunkLen, then entries, the
// sums of the first two by the kernels.
func (w *work) draw(c *cands, u float64) (int, float64) {
	if c.hasCut {
		return w.drawCut(c, u)
	}
	w.masses(c)
	e := c.e[:c.n]
	nb := (c.n + drawBlock - 1) / drawBlock
	bs := w.bsum[:nb]
	S := 0.0
	for b := range bs {
		bs[b] = sum64(e[b*drawBlock : min(c.n, (b+1)*drawBlock)])
		S += bs[b]
	}
	target := u * S
	acc := 0.0
	for b, x := range bs {
		if acc+x <= target && b < nb-1 {
			acc += x
			continue
		}
		l, h := b*drawBlock, min(c.n, (b+1)*drawBlock)
		if i := walk(c.v[l:h], e[l:h], negInf, acc, target); i >= 0 {
			return l + i, S
		}
		break
	}
	for i := c.n - 1; i >= 0; i-- {
		if e[i] > 0 {
			return i, S // rounding: the target lies past every block
		}
	}
	return w.argmax(c), S
}

// drawCut is draw for a row cut by top-p: the block sums are top-p's, and
// the masses of the one block the draw lands in are computed again.
func (w *work) drawCut(c *cands, u float64) (int, float64) {
	m := w.max(c)
	nb := (c.n + drawBlock - 1) / drawBlock
	bs := w.bsum[:nb]
	S := 0.0
	for _, x := range bs {
		S += x
	}
	target := u * S
	acc := 0.0
	for b, x := range bs {
		if acc+x <= target && b < nb-1 {
			acc += x
			continue
		}
		l, h := b*drawBlock, min(c.n, (b+1)*drawBlock)
		e := w.ebuf[:h-l]
		expInto(e, c.v[l:h], m)
		if i := walk(c.v[l:h], e, c.cut, acc, target); i >= 0 {
			return l + i, S
		}
		break
	}
	for i := c.n - 1; i >= 0; i-- {
		if c.v[i] >= c.cut {
			return i, S // rounding: the target lies past every block
		}
	}
	return w.argmax(c), S
}

// walk returns the first entry (value ≥ lo, mass > 0) of a block at which
// acc plus the running mass exceeds target, going by pieces of chunkLen
// summed by the kernels; the last such entry if none does; −1 if the
// block has none.
func walk(v, e []float32, lo float32, acc, target float64) int {
	last := -1
	for pl := 0; pl < len(v); pl += chunkLen {
		ph := min(len(v), pl+chunkLen)
		y, _ := sumAbove(v[pl:ph], e[pl:ph], lo)
		if acc+y <= target && ph < len(v) {
			acc += y
			continue
		}
		for i := pl; i < ph; i++ {
			if e[i] > 0 && v[i] >= lo {
				acc += float64(e[i])
				last = i
				if acc > target {
					return i
				}
			}
		}
		if last >= 0 {
			return last
		}
	}
	return last
}

// writeProbs writes the softmax of c into the dense row p.
func (w *work) writeProbs(c *cands, p []float32) {
	if c.hasCut {
		m := w.max(c)
		S := 0.0
		for _, x := range w.bsum[:(c.n+drawBlock-1)/drawBlock] {
			S += x
		}
		for l := 0; l < c.n; l += drawBlock {
			h := min(c.n, l+drawBlock)
			e := w.ebuf[:h-l]
			expInto(e, c.v[l:h], m)
			for i, x := range c.v[l:h] {
				p[l+i] = 0
				if x >= c.cut {
					p[l+i] = float32(float64(e[i]) / S)
				}
			}
		}
		return
	}
	w.masses(c)
	S := 0.0
	e := c.e[:c.n]
	for b := 0; b < c.n; b += drawBlock {
		S += sum64(e[b:min(c.n, b+drawBlock)])
	}
	inv := 1 / S
	if c.dense {
		for i, x := range e {
			p[i] = float32(float64(x) * inv)
		}
		return
	}
	clear(p)
	for i, x := range e {
		p[c.ids[i]] = float32(float64(x) * inv)
	}
}

// mirostat runs a final mirostat stage: it truncates c, then draws (or,
// with probs, writes the distribution) and updates μ.
func (w *work) mirostat(c *cands, sg Stage, st *stream, probs []float32) (int, float64, error) {
	tau, eta := sg.f[0], sg.f[1]
	if !st.muOK {
		st.mu, st.muOK = 2*tau, true
	}
	m := w.masses(c)
	if sg.kind == kMirostat {
		// The top min(m, n) candidates in descending order.
		s, n := w.selectTop(c, nil, sg.n)
		kv := w.kv[:0]
		for i := range n {
			kv = append(kv, kvItem{key: s.v[i], id: s.ids[i]})
		}
		w.kv = kv
		slices.SortFunc(kv, func(a, b kvItem) int {
			switch {
			case a.key > b.key:
				return -1
			case a.key < b.key:
				return 1
			}
			return int(a.id - b.id)
		})
		var sumTB, sumTT float64
		for i := 0; i+1 < len(kv); i++ {
			t := math.Log(float64(i+2) / float64(i+1))
			b := float64(kv[i].key) - float64(kv[i+1].key)
			sumTB += t * b
			sumTT += t * t
		}
		k := float64(c.n)
		if sumTT > 0 {
			sHat := sumTB / sumTT
			eps := sHat - 1
			V := float64(c.V)
			var kk float64
			if eps == 0 {
				kk = math.Pow(2, st.mu) / math.Log(V)
			} else {
				kk = math.Pow(eps*math.Pow(2, st.mu)/(1-math.Pow(V, -eps)), 1/sHat)
			}
			if !math.IsNaN(kk) {
				k = kk
			}
		}
		kInt := c.n
		if k < float64(c.n) {
			kInt = max(1, int(k))
		}
		w.topK(c, kInt)
	} else {
		S := sum64(c.e[:c.n])
		s, n := w.from(c, ceil32(float64(m)+math.Log(S)-st.mu*math.Ln2))
		if n == 0 {
			w.keepOnly(c, w.argmax(c))
		} else {
			w.adopt(c, s, n, true)
		}
	}
	if probs != nil {
		w.writeProbs(c, probs)
		return 0, 0, nil
	}
	pos, S := w.draw(c, st.uniform())
	mx := w.max(c)
	lse := float64(mx) + math.Log(S)
	surprise := -(float64(c.v[pos]) - lse) / math.Ln2
	st.mu -= eta * (surprise - tau)
	return pos, lse, nil
}

// rawLogProbs fills the raw log-probability of the token and the top-N
// raw alternatives.
func (w *work) rawLogProbs(s *Sampler, st *stream, x []float32, m0 float32, res *Result) {
	S := 0.0
	for b := 0; b < len(x); b += 1 << 16 {
		S += vek.ExpSum32(x[b:min(len(x), b+1<<16)], m0, 1)
	}
	lse := float64(m0) + math.Log(S)
	res.RawLogProb = float64(x[res.Token]) - lse
	if s.topN == 0 {
		return
	}
	var c cands
	w.start(&c, x)
	sel, n := w.selectTop(&c, nil, s.topN)
	top := st.top[:0]
	for i := range n {
		top = append(top, TokenLogProb{Token: sel.ids[i], LogProb: float64(sel.v[i]) - lse})
	}
	slices.SortFunc(top, func(a, b TokenLogProb) int {
		switch {
		case a.LogProb > b.LogProb:
			return -1
		case a.LogProb < b.LogProb:
			return 1
		}
		return int(a.Token - b.Token)
	})
	st.top = top
	res.Top = top
}
