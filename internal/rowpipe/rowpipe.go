// Package rowpipe streams the rows of a float32 matrix through the fused
// step kernel of internal/vek, the way every row-wise softmax-family
// operation of xent runs at memory speed.
//
// A row needs three passes: its maximum, its exponentials and their sum,
// and its output. Done one after another, each pass is either
// memory-bound or compute-bound and the machine idles half the time. Run
// fuses them across consecutive rows instead. In long rows, one loop
// (vek.Step32) reads row r from memory for its maximum and, in the same
// pass, computes its exponentials with the shift the row most likely has
// (0, which Shift32 gives every row whose maximum is in [−16, 85], the
// usual case for logits), while it writes row r−1's output; a row whose
// maximum turns out to need another shift has its exponentials computed
// again from the cache. Short rows, and rows after one with another
// shift, take three rows per loop: row r's exponentials from the cache,
// row r−1's output, row r+1's maximum from memory. Every row is read from
// memory once. The exponentials, when the operation needs them again
// (softmax, cross-entropy's gradient), go to the output row or to a
// per-thread scratch row that stays in the cache.
//
// What a row's exponentials are relative to and what its output is, the
// caller decides through a Handler. The pipeline only reorders work: a
// row gets the same bits as when its passes run one after another with
// the same kernels.
package rowpipe

import (
	"math"
	"sync"

	"github.com/xentlab/xent/internal/vek"
)

// Chunk is the fixed piece a row's sums are accumulated in: a row sum is
// the in-order float64 sum of its chunks' sums, on every path (one row,
// the pipeline, a row split across threads), so that results never
// depend on how the work is cut.
const Chunk = 16384

// BlockElems is about how many elements one parallel block of rows holds
// when rows are the unit of parallel work.
const BlockElems = 32768

// Tuning, measured on the machines of BENCHMARKS.md.
const (
	// prefetchElems is how far ahead of the read position of the row
	// whose maximum it finds the step loop prefetches when it also writes
	// an output row.
	prefetchElems = 1024
	// prefetchReadOnly is that distance when the step writes nothing (the
	// log-sum-exp, the loss without its gradient): 128 KiB, a whole row
	// of 32768 columns, so the next row is in cache before it is read.
	// On Zen 5, when every row was read ahead for its maximum, it took
	// log-sum-exp from 69–72% to 69–79% (median 77%) of a read's
	// bandwidth on one thread and from 68–72% to 71–74% on two; for the
	// ops that write a row as well it was no better (the extra row in
	// flight competes with the output for L2). With rows read once, 4
	// KiB and 16 KiB measured the same as 128 KiB.
	prefetchReadOnly = 32768
	// speculateCols is the shortest row whose exponentials Run computes in
	// the pass that finds its maximum (see Run). On Zen 5 that took rows
	// of 32768 columns from 0.70–0.78 of the copy roof to 0.76–0.81
	// (softmax, one thread) and log-sum-exp from 0.71–0.77 to 0.75–0.83 of
	// a read, but made rows of 1024 columns slower (log-sum-exp [32768,
	// 1024] 9.2–9.6 → 10.1–10.3 ms on one thread), whose next row's
	// maximum, read ahead, overlaps the current row's exponentials better.
	speculateCols = Chunk
)

// NTBytes is the output size from which UseNT asks for non-temporal
// stores: an output this much larger than the last-level cache is not
// read back soon, and plain stores would also read every line before
// writing it. (A variable so that tests can take that path on small
// matrices.)
var NTBytes = 64 << 20

// ForceNT makes UseNT choose non-temporal stores from NTBytes on with two
// threads or more on every tier, also where the step prefetches its
// stores. (A variable so that tests take that path on every tier.)
var ForceNT = false

// UseNT reports whether an output of the given size, written by the given
// number of threads, should use non-temporal stores. On one thread plain
// stores measured as fast or faster (the core's write-combining buffers,
// not the memory bus, limit a single thread); with two, when the bus is
// the limit, avoiding the read-for-ownership paid — until the step
// kernel prefetched the lines of its plain stores (the AVX-512 tier):
// with that prefetch, plain stores measured faster on two threads as
// well (softmax, log-softmax and cross-entropy [4096, 32768], Zen 5), so
// non-temporal stores remain for the tiers without it. Results do not
// depend on the choice.
func UseNT(bytes, threads int) bool {
	return threads >= 2 && bytes >= NTBytes && (ForceNT || !vek.StepPrefetchesStores())
}

// Row is what the pipeline knows of a row.
type Row struct {
	R   int       // its index in the matrix
	X   []float32 // its values
	Max float32   // its largest non-NaN value (+0 for a zero of either sign)
	NaN bool      // whether it holds a NaN
	E   []float32 // Finish only: its exponentials, when its Plan asked to store them
}

// Plan is a handler's decision for a row, once its maximum is known.
type Plan struct {
	// Fast asks the pipeline to compute Σ exp(x_j − C) (C from
	// vek.Shift32) during the row's step. A row that is not Fast gets a
	// sum of 0 and is the handler's to compute in Finish.
	Fast bool
	C    float32
	// Store keeps the exponentials, in Row.E, for Finish and the output:
	// in E when it is not nil (len(E) = cols: the row's output, say, to
	// be rescaled in place), else in a per-thread scratch row.
	Store bool
	E     []float32
}

// Out is a row's output, written during the next row's step (or by the
// pipeline's last step): Dst_i = A·Src_i (vek.StepScale), (Src_i − A) − B
// (vek.StepShift) or (A·Src_i) − B (vek.StepMulSub); then, with Set,
// Dst[SetAt] = SetVal (one element computed apart, the target's gradient
// say). A nil Dst means no output.
type Out struct {
	Dst, Src []float32
	A, B     float32
	Mode     vek.StepMode
	Set      bool
	SetAt    int
	SetVal   float32
}

// A Handler decides how each row is reduced and what its output is.
type Handler interface {
	// Plan may be called twice for a row: first with the previous row's
	// maximum and NaN flag in r (a guess), then with the row's own; the
	// last call before Finish is the row's plan, and a second call must
	// give the plan of its own r whatever the first returned.
	Plan(r Row) Plan
	// Finish gets the row's sum (0 unless Fast) and returns its output.
	Finish(r Row, sum float64) Out
}

var scratchPool sync.Pool

func getScratch(cols int) *[2][]float32 {
	if v, ok := scratchPool.Get().(*[2][]float32); ok && cap(v[0]) >= cols {
		v[0], v[1] = v[0][:cols], v[1][:cols]
		return v
	}
	return &[2][]float32{make([]float32, cols), make([]float32, cols)}
}

// Run streams rows [lo, hi) of x (cols columns each) through the
// pipeline, with non-temporal output stores when nt is set.
//
// In rows of at least speculateCols columns, a row after one whose shift
// was 0 (the usual case: every row whose maximum is in [−16, 85]), and
// the first row, are read from memory once, by the step that also writes
// the previous row's output: that step computes the row's maximum and, in
// the same pass, its exponentials with the shift 0. Once the maximum is
// known the row is planned again; if the plan differs (the row needs
// another shift, or none), its exponentials are computed again from the
// cache with the right one, and that step reads the next row's maximum
// ahead. Rows after a row with another shift (or none) are pipelined that
// way: each step computes a row's exponentials from the cache and reads
// the next row's maximum from memory, until two rows in a row have the
// shift 0; shorter rows are always pipelined that way (their first row is
// read for its maximum before the loop). Either way every row gets the
// bits of its own plan.
func Run(x []float32, cols, lo, hi int, h Handler, nt bool) {
	if lo >= hi {
		return
	}
	var sc *[2][]float32
	defer func() {
		if sc != nil {
			scratchPool.Put(sc)
		}
	}()
	// eRow is where a row's exponentials go under plan p (nil: nowhere).
	eRow := func(r int, p Plan) []float32 {
		if !p.Fast || !p.Store {
			return nil
		}
		if p.E != nil {
			return p.E[:cols]
		}
		if sc == nil {
			sc = getScratch(cols)
		}
		return sc[r%2]
	}
	// m and nan: the maximum and NaN flag of row r when known, else of
	// row r−1 (a guess). zero: whether row r−1's plan had the shift 0.
	// The first of long rows is guessed to have the maximum 0 (the shift
	// 0); the first of short rows is read for its maximum first.
	long := cols >= speculateCols
	var m float32
	var nan bool
	known, zero := !long, true
	if known {
		m, nan = vek.MaxNaN32(x[lo*cols : (lo+1)*cols])
	}
	var prev Out
	for r := lo; r <= hi; r++ {
		if r == hi {
			// The last row's output.
			stepRow(nil, cols, 0, nil, false, nil, prev, nt)
			finishOut(prev, nt)
			if nt {
				vek.StoreFence()
			}
			return
		}
		row := x[r*cols : (r+1)*cols]
		var next []float32
		if r+1 < hi {
			next = x[(r+1)*cols : (r+2)*cols]
		}
		cur := Row{R: r, X: row, Max: m, NaN: nan}
		p := h.Plan(cur)
		// spec: the row's exponentials with the shift 0 in the pass that
		// finds its maximum.
		spec := !known && zeroShift(p)
		if !known && !spec {
			// Another plan is likely: the maximum first (with the
			// previous row's output), then the row as a known one.
			res := stepRow(nil, cols, 0, nil, false, row, prev, nt)
			finishOut(prev, nt)
			prev = Out{}
			cur.Max, cur.NaN = res.m, res.nan
			p = h.Plan(cur)
		}
		// ahead: the step also reads the next row's maximum, unless this
		// row and the previous one both have the shift 0 (long rows).
		ahead := !spec && next != nil && !(long && zero && zeroShift(p))
		maxOf := next
		switch {
		case spec:
			maxOf = row
		case !ahead:
			maxOf = nil
		}
		cur.E = eRow(r, p)
		res := stepRow(row, cols, p.C, cur.E, p.Fast, maxOf, prev, nt)
		finishOut(prev, nt)
		if spec {
			cur.Max, cur.NaN = res.m, res.nan
			if q := h.Plan(cur); !samePlan(p, q) {
				// Wrong: the exponentials again from the cache, and the
				// next row's maximum ahead (the next row is likely to
				// need its own shift too).
				p = q
				cur.E = eRow(r, p)
				ahead = next != nil
				res = stepRow(row, cols, p.C, cur.E, p.Fast, next, Out{}, false)
			}
		}
		prev = h.Finish(cur, res.s)
		known, zero = ahead, zeroShift(p)
		m, nan = cur.Max, cur.NaN
		if ahead {
			m, nan = res.m, res.nan
		}
	}
}

// zeroShift reports whether a plan computes exponentials with the shift 0.
func zeroShift(p Plan) bool { return p.Fast && p.C == 0 }

// finishOut completes an output after its steps: the element set apart.
func finishOut(o Out, nt bool) {
	if o.Set {
		if nt {
			vek.StoreFence() // the row's non-temporal stores first
		}
		o.Dst[o.SetAt] = o.SetVal
	}
}

// rowSum is what the steps over a row return: the exponential sum and,
// when asked, the row's maximum and NaN flag.
type rowSum struct {
	s   float64
	m   float32
	nan bool
}

// stepRow runs the steps over one row, chunk by chunk: with exps, the
// exponentials of row (shift c, stored to e unless e is nil); the maximum
// and NaN flag of maxOf (row itself, the next row or nil); and prev's
// output, if any.
func stepRow(row []float32, cols int, c float32, e []float32, exps bool, maxOf []float32, prev Out, nt bool) rowSum {
	res := rowSum{m: float32(math.Inf(-1))}
	if !exps && maxOf == nil && prev.Dst == nil {
		return res
	}
	for c0 := 0; c0 < cols; c0 += Chunk {
		c1 := min(cols, c0+Chunk)
		st := vek.Step32{C: c, NT: nt, Prefetch: prefetchReadOnly}
		if exps {
			st.X = row[c0:c1]
			if e != nil {
				st.E = e[c0:c1]
			}
		}
		if prev.Dst != nil {
			st.Out, st.Src = prev.Dst[c0:c1], prev.Src[c0:c1]
			st.A, st.B, st.Mode = prev.A, prev.B, prev.Mode
			st.Prefetch = prefetchElems
		}
		if maxOf != nil {
			st.Next = maxOf[c0:c1]
		}
		s, cm, cn := st.Step()
		res.s += s
		res.m = max(res.m, cm)
		res.nan = res.nan || cn
	}
	return res
}

// samePlan reports whether two plans of a row compute the same
// exponentials into the same place.
func samePlan(p, q Plan) bool {
	if p.Fast != q.Fast || p.Store != q.Store || (p.E == nil) != (q.E == nil) {
		return false
	}
	if len(p.E) > 0 && len(q.E) > 0 && &p.E[0] != &q.E[0] {
		return false
	}
	return !p.Fast || math.Float32bits(p.C) == math.Float32bits(q.C)
}
