package sample

import (
	"math"
	"slices"
)

// smallCut is the size below which the prefix search orders the
// remaining entries outright.
const smallCut = 384

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

// cut finds the shortest prefix of the entries, in descending order of
// key with ties broken by the lower id, whose mass (Σ e, in float64)
// reaches P times the total mass, and returns its last entry as (kStar,
// idStar): the prefix is every entry with key > kStar and those with key
// = kStar and id ≤ idStar. kmax is the largest key. P must be in (0, 1).
//
// No entry is sorted except the few hundred left at the end: the search
// counts the mass above eight thresholds in one pass (massAbove), keeps
// the entries of the interval where the cumulative mass crosses the
// target (compress, which keeps the id order), and repeats on them with
// thresholds spread over that interval. The first thresholds are placed
// from a fixed subsample of the row (every 16th chunk), which only
// affects the speed: the result is the same for any placement.
func (w *work) cut(key, e []float32, ids []int32, P float64, kmax float32) (float32, int32) {
	cur := level{key: key, e: e, ids: ids}
	var thr [8]float32
	var mass [8]float64
	w.firstThresholds(key, e, P, kmax, &thr)
	massAbove(cur.key, cur.e, &thr, &mass)
	T := P * mass[0]
	base := 0.0
	lo, hi := thr[0], posInf
	buf := 0
	for round := 0; ; round++ {
		j := 7
		for j > 0 && base+mass[j] < T {
			j--
		}
		nlo, nhi := thr[j], hi
		if j < 7 {
			nhi = thr[j+1]
			base += mass[j+1]
		}
		out := &w.lv[buf]
		buf = 1 - buf
		cnt := compress(cur.key, cur.e, cur.ids, 0, nlo, nhi, out.ids, out.v, out.e)
		if cnt == 0 {
			// The interval is empty: the prefix is everything ≥ nhi.
			return nhi, math.MaxInt32
		}
		cur = level{key: out.v[:cnt], e: out.e[:cnt], ids: out.ids[:cnt]}
		lo, hi = nlo, nhi
		if math.IsInf(float64(lo), -1) {
			lo = posInf
			for _, k := range cur.key {
				if k > negInf {
					lo = min(lo, k)
				}
			}
			if math.IsInf(float64(lo), 1) {
				return nhi, math.MaxInt32 // no mass left below: keep what is above
			}
		}
		if math.IsInf(float64(hi), 1) {
			hi = nextUp(kmax)
		}
		if cnt <= smallCut || round >= 40 {
			return w.walkSorted(cur, base, T)
		}
		if nextUp(lo) >= hi {
			return walkIDs(cur, base, T) // one value: id order is the order
		}
		// Eight sub-intervals of [lo, hi).
		thr[0] = lo
		for k := 1; k < 8; k++ {
			thr[k] = float32(float64(lo) + float64(k)*(float64(hi)-float64(lo))/8)
		}
		massAbove(cur.key, cur.e, &thr, &mass)
	}
}

// walkSorted orders the entries (key descending, id ascending) and
// returns the first at which base plus the running mass reaches T (the
// last entry if none does).
func (w *work) walkSorted(l level, base, T float64) (float32, int32) {
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
	for _, it := range kv {
		cum += float64(it.e)
		if cum >= T {
			return it.key, it.id
		}
	}
	last := kv[len(kv)-1]
	return last.key, last.id
}

// walkIDs is walkSorted for entries that all have the same key.
func walkIDs(l level, base, T float64) (float32, int32) {
	cum := base
	for i, x := range l.e {
		cum += float64(x)
		if cum >= T {
			return l.key[i], l.id(i)
		}
	}
	n := len(l.key) - 1
	return l.key[n], l.id(n)
}

// firstThresholds places the first eight thresholds: thr[0] = −Inf (so
// that the first pass also gives the total mass), the others spread over
// where a fixed subsample of a long row crosses P, or at fixed distances
// below kmax for a short one.
func (w *work) firstThresholds(key, e []float32, P float64, kmax float32, thr *[8]float32) {
	thr[0] = negInf
	n := len(key)
	if n < 64*chunkLen {
		for k, d := range [7]float32{32, 16, 8, 4, 2, 1, 0.5} {
			thr[k+1] = kmax - d
		}
		return
	}
	// The subsample: every 16th chunk. Two rounds narrow the interval
	// where its cumulative mass crosses P.
	var t [8]float32
	t[0] = negInf
	for k, d := range [7]float32{48, 24, 16, 12, 8, 4, 2} {
		t[k+1] = kmax - d
	}
	lo, hi := t[0], posInf
	for round := range 2 {
		var mass, part [8]float64
		for c := 0; c*chunkLen < n; c += 16 {
			l, h := c*chunkLen, min(n, (c+1)*chunkLen)
			massAbove(key[l:h], e[l:h], &t, &part)
			for j := range mass {
				mass[j] += part[j]
			}
		}
		T := P * mass[0]
		j := 7
		for j > 0 && mass[j] < T {
			j--
		}
		lo, hi = t[j], posInf
		if j < 7 {
			hi = t[j+1]
		}
		if math.IsInf(float64(lo), -1) {
			lo = kmax - 64
		}
		if math.IsInf(float64(hi), 1) {
			hi = kmax
		}
		if round == 0 {
			for k := 1; k < 8; k++ {
				t[k] = float32(float64(lo) + float64(k)*(float64(hi)-float64(lo))/8)
			}
		}
	}
	// Spread over the estimate and as much again on either side.
	d := float64(hi) - float64(lo)
	a := float64(lo) - d
	for k := 1; k < 8; k++ {
		thr[k] = float32(a + float64(k-1)*3*d/6)
	}
}
