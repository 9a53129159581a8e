package sample

import (
	"math"

	"github.com/xentlab/xent/internal/vek"
)

// chunkLen is the length of the chunks whose maxima let the top-k
// selection skip most of a long row.
const chunkLen = 256

var posInf = float32(math.Inf(1))

// kth returns the K-th largest of vals (1 ≤ K ≤ len(vals)) by a radix
// selection on the order-preserving keys, one byte at a time from the
// most significant: O(len(vals)), no sorting.
func (w *work) kth(vals []float32, K int) float32 {
	a := w.rk[0][:len(vals)]
	for i, v := range vals {
		a[i] = keyOf(v)
	}
	buf := 1
	for shift := 24; shift >= 0; shift -= 8 {
		var h [256]int32
		for _, k := range a {
			h[(k>>shift)&255]++
		}
		b := 255
		for ; b > 0; b-- {
			if int(h[b]) >= K {
				break
			}
			K -= int(h[b])
		}
		if int(h[b]) == len(a) {
			continue // every key has this byte
		}
		out := w.rk[buf][:0]
		for _, k := range a {
			if (k>>shift)&255 == uint32(b) {
				out = append(out, k)
			}
		}
		a, buf = out, 1-buf
	}
	return fromKey(a[0])
}

// trim removes, from the n entries of s whose keys are key, those with
// key = kStar and id > idStar, keeping the order; it returns the new
// count.
func trim(s *set, key []float32, n int, kStar float32, idStar int32) int {
	j := 0
	for i := range n {
		if key[i] == kStar && s.ids[i] > idStar {
			continue
		}
		s.ids[j], s.v[j], s.e[j] = s.ids[i], s.v[i], s.e[i]
		j++
	}
	return j
}

// tieLimit returns the id of the q-th entry (q ≥ 1) whose key equals th
// among the n entries of s in order (or of the last one).
func tieLimit(s *set, key []float32, n int, th float32, q int) int32 {
	last := int32(-1)
	for i := range n {
		if key[i] == th {
			last = s.ids[i]
			q--
			if q == 0 {
				break
			}
		}
	}
	return last
}

// selectTop selects the K largest entries of c by key (c.v when key is
// nil; ties: lower id first) into the set after c's and returns it with
// the count, without making it the candidates: min(K, candidates)
// entries, in id order. With key nil the set holds the values and, when
// c has them, the masses; with a key it holds the values in v and the
// keys in e. c's overlay, if any, is ignored (see topK).
//
// A long row is first cut into chunks of chunkLen: the K-th largest chunk
// maximum τ is a lower bound of the K-th largest key, so only the entries
// ≥ τ of the chunks whose maximum reaches τ are gathered (by compress),
// and the exact selection (a radix selection of the K-th largest key,
// then the ties in id order) runs on those.
func (w *work) selectTop(c *cands, key []float32, K int) (*set, int) {
	// The source: keys in src.v, payload in src.e.
	src := set{v: c.v[:c.n], e: c.v[:c.n]}
	if key != nil {
		src.v = key[:c.n]
	} else if c.eOK {
		src.e = c.e[:c.n]
	}
	if !c.dense {
		src.ids = c.ids[:c.n]
	}
	g, gn := &src, c.n
	lo := float32(-math.MaxFloat32)
	if c.n >= 16*chunkLen && K < c.n/chunkLen {
		nb := (c.n + chunkLen - 1) / chunkLen
		bm := w.bmax[:nb]
		if key != nil || !c.bm {
			chunkMaxima(src.v, bm)
		}
		tau := max(w.kth(bm, K), lo)
		gn = 0
		for b, m := range bm {
			if m < tau {
				continue
			}
			l, h := b*chunkLen, min(c.n, (b+1)*chunkLen)
			var ids []int32
			if src.ids != nil {
				ids = src.ids[l:h]
			}
			gn += compress(src.v[l:h], src.e[l:h], ids, int32(l), tau, posInf, w.gath.ids[gn:], w.gath.v[gn:], w.gath.e[gn:])
		}
		g, lo = &w.gath, tau
	}
	s := w.next(c)
	return s, w.best(g, gn, K, lo, s, key != nil)
}

// chunkMaxima writes the maximum of every chunk of x into bm and returns
// the maximum of x and whether x holds a NaN.
func chunkMaxima(x, bm []float32) (float32, bool) {
	m, nan := negInf, false
	for b := range bm {
		bm[b], nan = vek.MaxNaN32(x[b*chunkLen : min(len(x), (b+1)*chunkLen)])
		if nan {
			return 0, true
		}
		m = max(m, bm[b])
	}
	return m, false
}

// best writes into dst, in id order, the K largest of the gn entries of
// g (keys in g.v, payload in g.e, ids g.ids or the positions when nil)
// that are ≥ lo, ties broken by the lower id, and returns their count.
// With keyToE the keys go to dst.e and the payload to dst.v.
func (w *work) best(g *set, gn, K int, lo float32, dst *set, keyToE bool) int {
	oKey, oA := dst.v, dst.e
	if keyToE {
		oKey, oA = dst.e, dst.v
	}
	var ids []int32
	if g.ids != nil {
		ids = g.ids[:gn]
	}
	th := lo
	if gn > K {
		th = max(w.kth(g.v[:gn], K), lo)
	}
	n := compress(g.v[:gn], g.e[:gn], ids, 0, th, posInf, dst.ids, oKey, oA)
	if n > K {
		above := 0
		for _, x := range oKey[:n] {
			if x > th {
				above++
			}
		}
		n = trim(dst, oKey, n, th, tieLimit(dst, oKey, n, th, K-above))
	}
	return n
}

// topK reduces c to its K largest values (K ≤ 0 or ≥ c.n: no change).
// With an overlay of o changed tokens, the K + o largest values of the
// caller's row contain every unchanged token of the answer, so the
// selection runs on the row (with its chunk maxima) and then on those
// K + o entries with the changed values put in.
func (w *work) topK(c *cands, K int) {
	if K <= 0 || K >= c.n {
		return
	}
	if len(c.ov) > 0 {
		o := len(c.ov)
		if K+o >= c.n/chunkLen {
			w.writable(c)
		} else {
			s, n := w.selectTop(c, nil, K+o)
			// Merge the overlay into s (both in id order) in w.gath.
			g := &w.gath
			gn, j := 0, 0
			for i := 0; i < n || j < o; {
				var p patch
				switch {
				case j >= o || i < n && s.ids[i] < c.ov[j].id:
					p = patch{s.ids[i], s.v[i]}
					i++
				case i < n && s.ids[i] == c.ov[j].id:
					p = c.ov[j]
					i, j = i+1, j+1
				default:
					p = c.ov[j]
					j++
				}
				if p.v > negInf {
					g.ids[gn], g.v[gn], g.e[gn] = p.id, p.v, p.v
					gn++
				}
			}
			n = w.best(g, gn, K, -math.MaxFloat32, s, false)
			w.adopt(c, s, n, false)
			return
		}
	}
	s, n := w.selectTop(c, nil, K)
	w.adopt(c, s, n, c.eOK)
}

// topKBy reduces c to its K largest entries by key.
func (w *work) topKBy(c *cands, key []float32, K int) {
	if K <= 0 || K >= c.n {
		return
	}
	s, n := w.selectTop(c, key, K)
	w.adopt(c, s, n, false)
}
