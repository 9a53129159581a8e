package sample

import (
	"math"
	"slices"

	"github.com/xentlab/xent/internal/vek"
)

var negInf = float32(math.Inf(-1))

// set is a list of candidates in ascending id order: their ids, values
// (logits) and, when a stage has computed them, their masses.
type set struct {
	ids []int32
	v   []float32
	e   []float32
}

func (s *set) grow(n int) {
	if cap(s.ids) < n {
		s.ids = make([]int32, n)
		s.v = make([]float32, n)
		s.e = make([]float32, n)
	}
	s.ids, s.v, s.e = s.ids[:n], s.v[:n], s.e[:n]
}

// cands is the current candidate set of a row. Dense: entry i is token i
// (n = V), and an entry of −Inf is not a candidate. Sparse: n entries of
// one of the work's sets, ids ascending (−Inf entries, which a stage may
// create, are not candidates either).
type cands struct {
	V     int
	n     int
	dense bool
	ids   []int32   // sparse only
	v     []float32 // the values; the caller's row while ro
	ro    bool
	e     []float32 // exp(v − emax) where eOK
	emax  float32
	eOK   bool
	m     float32 // max of v where mOK
	mOK   bool
	// ov holds, for the caller's row (ro), the tokens whose values a
	// stage changed (logit_bias, penalties, DRY), by id, so that a few
	// changes cost no copy of the row.
	ov []patch
	// bm says that w.bmax holds the chunk maxima of the caller's row.
	bm bool
	// clean says that no entry is −Inf (a set made by compress).
	clean bool
	// hasCut (dense only): the entries below cut are not candidates (a
	// top-p prefix kept without copying it out); w.bsum and w.bcnt hold
	// the mass and count of the candidates per draw block.
	hasCut bool
	cut    float32
}

// patch is a changed value of one token.
type patch struct {
	id int32
	v  float32
}

// ovFind returns the position of token t in the overlay (or where it
// would go) and whether it is there.
func (c *cands) ovFind(t int32) (int, bool) {
	return slices.BinarySearchFunc(c.ov, t, func(p patch, t int32) int { return int(p.id - t) })
}

// get returns the value of entry i.
func (c *cands) get(i int) float32 {
	if len(c.ov) > 0 {
		if j, ok := c.ovFind(int32(i)); ok {
			return c.ov[j].v
		}
	}
	return c.v[i]
}

// set changes the value of entry i: in the overlay while the values are
// the caller's row.
func (w *work) set(c *cands, i int, x float32) {
	if c.ro {
		j, ok := c.ovFind(int32(i))
		if ok {
			c.ov[j].v = x
		} else {
			c.ov = slices.Insert(c.ov, j, patch{int32(i), x})
		}
	} else {
		c.v[i] = x
	}
	c.changed()
}

func (c *cands) id(i int) int32 {
	if c.dense {
		return int32(i)
	}
	return c.ids[i]
}

// changed marks the values as modified: max and masses are stale.
func (c *cands) changed() { c.mOK, c.eOK, c.clean = false, false, false }

// work holds every buffer a row needs; one per thread. It grows to the
// largest vocabulary seen and is reused, so that a call allocates
// nothing once the buffers have their size.
type work struct {
	own   []float32 // dense values, owned
	de    []float32 // dense masses
	sp    [2]set    // the sparse sets, used in turn
	spi   int       // the set the candidates are in, when sparse
	lv    [2]set    // the level sets of the prefix search
	key   []float32 // keys of the typical stage
	bmax  []float32 // chunk maxima
	bsum  []float64 // block sums of the draw
	gath  set       // the gathered candidates of a selection
	rk    [2][]uint32
	kv    []kvItem
	cnt   []int32 // per-token counts (penalties, DRY), all zero between uses
	touch []int32 // the tokens whose counts are set
	zarr  []int32 // the Z-array of DRY
	probs []float32
	resid []float32
	hist  []int32 // history of the verification
	ov    []patch
	f64   [1024]float64
	sub   []float32 // masses of the subsample of bracket
	// bracket's chunk maxima of the subsample, and masses of the maxima
	subMax, subMaxE, maxE []float32
	bcnt                  []int // per draw block: candidates (with a cut)
	ebuf                  [drawBlock]float32
	V                     int
}

type kvItem struct {
	key float32
	e   float32
	id  int32
}

func (w *work) size(V int) {
	if w.V >= V {
		return
	}
	w.V = V
	n := V + kernelPad
	w.own = make([]float32, n)
	w.de = make([]float32, n)
	for i := range w.sp {
		w.sp[i].grow(n)
		w.lv[i].grow(n)
	}
	w.gath.grow(n)
	w.key = make([]float32, n)
	w.sub = make([]float32, 32*chunkLen)
	w.subMax = make([]float32, 32)
	w.subMaxE = make([]float32, 32)
	w.maxE = make([]float32, V/chunkLen+1)
	w.bcnt = make([]int, V/drawBlock+1)
	w.bmax = make([]float32, V/chunkLen+1)
	w.bsum = make([]float64, V/drawBlock+1)
	w.rk[0] = make([]uint32, n)
	w.rk[1] = make([]uint32, n)
	w.cnt = make([]int32, V)
	w.probs = make([]float32, V)
	w.resid = make([]float32, V)
}

// start makes c the dense candidate set of the row x (not copied).
func (w *work) start(c *cands, x []float32) {
	w.size(len(x))
	*c = cands{V: len(x), n: len(x), dense: true, v: x, ro: true, ov: w.ov[:0]}
}

// writable gives c values it may modify: a copy of the caller's row with
// the overlay applied.
func (w *work) writable(c *cands) {
	if c.ro {
		copy(w.own[:c.n], c.v)
		c.v, c.ro, c.bm = w.own[:c.n], false, false
		for _, p := range c.ov {
			c.v[p.id] = p.v
		}
		w.ov, c.ov = c.ov[:0], nil
		c.changed()
	}
}

// resolve applies the overlay, if any (for a stage that reads c.v), and
// the cut, if any (for a stage that does not know it).
func (w *work) resolve(c *cands, overlay, cut bool) {
	if overlay && len(c.ov) > 0 {
		w.writable(c)
	}
	if cut && c.hasCut {
		c.hasCut = false
		s, n := w.from(c, c.cut)
		w.adopt(c, s, n, c.eOK)
	}
}

// next returns the sparse set that the candidates are not in.
func (w *work) next(c *cands) *set {
	if c.dense {
		return &w.sp[0]
	}
	return &w.sp[1-w.spi]
}

// adopt makes the first n entries of s the candidates (s from next).
// eOK says whether s.e holds their masses relative to emax.
func (w *work) adopt(c *cands, s *set, n int, eOK bool) {
	if s == &w.sp[0] {
		w.spi = 0
	} else {
		w.spi = 1
	}
	if c.ov != nil {
		w.ov = c.ov[:0]
	}
	*c = cands{V: c.V, n: n, ids: s.ids[:n], v: s.v[:n], e: s.e[:n], emax: c.emax, eOK: eOK, clean: true}
}

// max returns the largest value of c (−Inf when there is no candidate).
func (w *work) max(c *cands) float32 {
	if !c.mOK {
		c.m, _ = vek.MaxNaN32(c.v[:c.n])
		c.mOK = true
	}
	return c.m
}

// masses makes c.e hold exp(v − max) for every entry (0 for −Inf) and
// returns the max. c must have a candidate.
func (w *work) masses(c *cands) float32 {
	m := w.max(c)
	if c.eOK && c.emax == m {
		return m
	}
	if c.dense {
		c.e = w.de[:c.n]
	}
	vek.ExpAffine32(c.e[:c.n], c.v[:c.n], m, 1, 1, 0)
	c.emax, c.eOK = m, true
	return m
}

// live returns the number of candidates (finite values).
func (w *work) live(c *cands) int {
	if c.clean {
		return c.n
	}
	n := 0
	for _, x := range c.v[:c.n] {
		if x > negInf {
			n++
		}
	}
	return n
}

// from writes the entries of c with value ≥ lo into the set after c's,
// without adopting it.
func (w *work) from(c *cands, lo float32) (*set, int) {
	s := w.next(c)
	var ids []int32
	if !c.dense {
		ids = c.ids[:c.n]
	}
	a := c.v[:c.n]
	if c.eOK {
		a = c.e[:c.n]
	}
	return s, compress(c.v[:c.n], a, ids, 0, max(lo, -math.MaxFloat32), posInf, s.ids, s.v, s.e)
}

// keepOnly makes the single entry i the only candidate.
func (w *work) keepOnly(c *cands, i int) {
	s := w.next(c)
	s.ids[0], s.v[0] = c.id(i), c.v[i]
	w.adopt(c, s, 1, false)
}

// keyOf maps a float32 to a uint32 whose order is the numeric order (−0
// and +0 equal, −Inf lowest).
func keyOf(f float32) uint32 {
	u := math.Float32bits(f + 0) // −0 → +0
	if u&0x80000000 != 0 {
		return ^u
	}
	return u | 0x80000000
}

func fromKey(k uint32) float32 {
	if k&0x80000000 != 0 {
		return math.Float32frombits(k &^ 0x80000000)
	}
	return math.Float32frombits(^k)
}

// nextUp returns the smallest float32 above f (f finite or −Inf).
func nextUp(f float32) float32 { return math.Nextafter32(f, float32(math.Inf(1))) }
