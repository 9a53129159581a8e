package sample

import (
	"math"
	"slices"
)

// smallCut is the size below which the prefix search orders the
// remaining entries outright.
const smallCut = 128

// level is one step of the prefix search: entries (keys, masses, ids;
// ids nil for the dense row, where the id is the position).
type level struct {
	key, e []float32
	ids    []int32
}

func (l *level) id(i int) int32 {
	if l.ids == nil {
		return int32(i)
	}
	return l.ids[i]
}

// The prefix search. Given entries (key, mass) and a target T, it finds
// the shortest prefix, in descending order of key with ties broken by
// the lower id, whose mass (Σ e in float64) reaches T, and returns its
// last entry as (kStar, idStar): the prefix is every entry with key >
// kStar and those with key = kStar and id ≤ idStar; ties says whether an
// entry with key = kStar and a higher id exists (and must be cut), and
// the last result is the mass of the prefix.
//
// No entry is sorted except the few hundred left at the end: a round
// counts the mass above eight thresholds in one pass (massAbove), keeps
// the entries of the interval where the cumulative mass crosses T
// (compress, which keeps the id order), and the next round spreads its
// thresholds over that interval. Where the thresholds go only affects the
// speed; the answer is the same for any placement.

// cut runs the search over all entries with T = P times their total
// mass; kmax is the largest key. The first thresholds are at fixed
// distances below kmax.
func (w *work) cut(key, e []float32, ids []int32, P float64, kmax float32) (float32, int32, bool, float64) {
	var thr [8]float32
	var mass [8]float64
	thr[0] = negInf
	for k, d := range [7]float32{32, 16, 8, 4, 2, 1, 0.5} {
		thr[k+1] = kmax - d
	}
	massAbove(key, e, &thr, &mass)
	T := P * mass[0]
	cur, base, lo, hi, empty := w.step(level{key, e, ids}, 0, T, posInf, &thr, &mass, &w.lv[0])
	if empty {
		return hi, math.MaxInt32, false, base
	}
	return w.search(cur, base, T, lo, hi, kmax, &w.lv[1], &w.lv[0])
}

// step picks the interval [thr[j], thr[j+1]) (thr[8] = hi) where base
// plus the mass above reaches T, writes cur's entries in it to out, and
// returns them with the new base and bounds; empty when there are none
// (then the prefix is everything ≥ the returned hi).
func (w *work) step(cur level, base, T float64, hi float32, thr *[8]float32, mass *[8]float64, out *set) (level, float64, float32, float32, bool) {
	j := 7
	for j > 0 && base+mass[j] < T {
		j--
	}
	nlo, nhi := thr[j], hi
	if j < 7 {
		nhi = thr[j+1]
		base += mass[j+1]
	}
	cnt := compress(cur.key, cur.e, cur.ids, 0, nlo, nhi, out.ids, out.v, out.e)
	return level{key: out.v[:cnt], e: out.e[:cnt], ids: out.ids[:cnt]}, base, nlo, nhi, cnt == 0
}

// search continues the search on cur, whose keys lie in [lo, hi), with
// base the mass of the entries above hi; it uses the sets b0 and b1 in
// turn (neither may hold cur).
func (w *work) search(cur level, base, T float64, lo, hi, kmax float32, b0, b1 *set) (float32, int32, bool, float64) {
	var thr [8]float32
	var mass [8]float64
	for round := 0; ; round++ {
		if math.IsInf(float64(lo), -1) {
			lo = posInf
			for _, k := range cur.key {
				if k > negInf {
					lo = min(lo, k)
				}
			}
			if math.IsInf(float64(lo), 1) {
				return hi, math.MaxInt32, false, base // no mass left below: keep what is above
			}
		}
		if math.IsInf(float64(hi), 1) {
			hi = nextUp(kmax)
		}
		if len(cur.key) <= smallCut || round >= 40 {
			return w.walkSorted(cur, base, T)
		}
		if nextUp(lo) >= hi {
			return walkIDs(cur, base, T) // one value: id order is the order
		}
		thr[0] = lo
		for k := 1; k < 8; k++ {
			thr[k] = float32(float64(lo) + float64(k)*(float64(hi)-float64(lo))/8)
		}
		massAbove(cur.key, cur.e, &thr, &mass)
		var empty bool
		cur, base, lo, hi, empty = w.step(cur, base, T, hi, &thr, &mass, b0)
		if empty {
			return hi, math.MaxInt32, false, base
		}
		b0, b1 = b1, b0
	}
}

// walkSorted orders the entries (key descending, id ascending) and
// returns the first at which base plus the running mass reaches T (the
// last entry if none does).
func (w *work) walkSorted(l level, base, T float64) (float32, int32, bool, float64) {
	kv := w.kv[:0]
	for i, k := range l.key {
		if k > negInf {
			kv = append(kv, kvItem{key: k, e: l.e[i], id: l.id(i)})
		}
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
	cum := base
	for i, it := range kv {
		cum += float64(it.e)
		if cum >= T {
			return it.key, it.id, i+1 < len(kv) && kv[i+1].key == it.key, cum
		}
	}
	last := kv[len(kv)-1]
	return last.key, last.id, false, cum
}

// walkIDs is walkSorted for entries that all have the same key.
func walkIDs(l level, base, T float64) (float32, int32, bool, float64) {
	cum := base
	for i, x := range l.e {
		cum += float64(x)
		if cum >= T {
			return l.key[i], l.id(i), i+1 < len(l.e), cum
		}
	}
	n := len(l.key) - 1
	return l.key[n], l.id(n), false, cum
}

// bracket estimates the interval of keys where the cumulative mass of
// the entries (whose chunk maxima are bm, all of them when bm is nil)
// crosses P, by three rounds of thresholds. The mass above a threshold is
// estimated as the exact mass of the chunk maxima above it plus s times
// that of the other entries of a fixed subsample (every s-th chunk): the
// few large entries of a peaked row are chunk maxima and are counted
// exactly, the bulk is sampled. It returns the interval found by the
// last round.
func (w *work) bracket(key []float32, bm []float32, m float32, P float64) (float32, float32) {
	n := len(key)
	var t [8]float32
	t[0] = negInf
	for k, d := range [7]float32{48, 24, 16, 12, 8, 4, 2} {
		t[k+1] = m - d
	}
	// The subsample: about n/32 entries (8 to 32 chunks), in chunks
	// evenly spaced (every stride-th chunk).
	nb := (n + chunkLen - 1) / chunkLen
	want := min(32, max(8, nb/32))
	stride := max(2, (nb+want-1)/want)
	// The subsample's masses and those of the chunk maxima, computed once.
	ns, nsm := 0, 0
	for c := 0; c*chunkLen < n; c += stride {
		l, h := c*chunkLen, min(n, (c+1)*chunkLen)
		expInto(w.sub[ns:ns+h-l], key[l:h], m)
		ns += h - l
		if bm != nil {
			w.subMax[nsm] = bm[c]
			nsm++
		}
	}
	em := w.maxE[:len(bm)]
	expInto(em, bm, m)
	expInto(w.subMaxE[:nsm], w.subMax[:nsm], m)
	lo, hi := t[0], posInf
	var T float64
	for round := range 3 {
		var mass, part, mx, smx [8]float64
		for c, o := 0, 0; c*chunkLen < n; c += stride {
			l, h := c*chunkLen, min(n, (c+1)*chunkLen)
			massAbove(key[l:h], w.sub[o:o+h-l], &t, &part)
			o += h - l
			for j := range mass {
				mass[j] += part[j]
			}
		}
		if bm != nil {
			massAbove(bm, em, &t, &mx)
			massAbove(w.subMax[:nsm], w.subMaxE[:nsm], &t, &smx)
		}
		for j := range mass {
			mass[j] = mx[j] + float64(stride)*(mass[j]-smx[j])
		}
		if round == 0 {
			T = P * mass[0] // t[0] = −Inf: the total
		}
		j := 7
		for j > 0 && mass[j] < T {
			j--
		}
		if j < 7 {
			hi = t[j+1]
		}
		lo = t[j]
		if math.IsInf(float64(lo), -1) {
			lo = m - 64
		}
		if math.IsInf(float64(hi), 1) {
			hi = m
		}
		if round < 2 {
			t[0] = lo
			for k := 1; k < 8; k++ {
				t[k] = float32(float64(lo) + float64(k)*(float64(hi)-float64(lo))/8)
			}
		}
	}
	return lo, hi
}
