// Package rowpipe streams the rows of a float32 matrix through the fused
// step kernel of internal/vek, the way every row-wise softmax-family
// operation of xent runs at memory speed.
//
// A row needs three passes: its maximum, its exponentials and their sum,
// and its output. Done one after another, each pass is either
// memory-bound or compute-bound and the machine idles half the time. Run
// fuses them across three consecutive rows instead: one loop
// (vek.Step32) computes row r's exponentials from the cache, writes row
// r−1's output to memory, and reads row r+1 from memory for its maximum,
// prefetching ahead. Every row is read from memory once, and its
// exponentials, when the operation needs them again (softmax,
// cross-entropy's gradient), go to a per-thread scratch row that stays in
// the cache.
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
	// prefetchElems is how far ahead of the next row's read position the
	// step loop prefetches when it also writes an output row.
	prefetchElems = 1024
	// prefetchReadOnly is that distance when the step writes nothing (the
	// log-sum-exp, the loss without its gradient): 128 KiB, a whole row
	// of 32768 columns, so the next row is in cache before its maximum is
	// read. On Zen 5 it took log-sum-exp from 69–72% to 69–79% (median
	// 77%) of a read's bandwidth on one thread and from 68–72% to 71–74%
	// on two; for the ops that write a row as well it was no better (the
	// extra row in flight competes with the output for L2).
	prefetchReadOnly = 32768
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
	m, nan := vek.MaxNaN32(x[lo*cols : (lo+1)*cols])
	var prev Out
	for r := lo; r <= hi; r++ {
		var row, next []float32
		var p Plan
		var cur Row
		if r < hi {
			row = x[r*cols : (r+1)*cols]
			cur = Row{R: r, X: row, Max: m, NaN: nan}
			p = h.Plan(cur)
			if r+1 < hi {
				next = x[(r+1)*cols : (r+2)*cols]
			}
			if p.Fast && p.Store {
				if p.E != nil {
					cur.E = p.E[:cols]
				} else {
					if sc == nil {
						sc = getScratch(cols)
					}
					cur.E = sc[r%2]
				}
			}
		}
		// One step per chunk: row r's exponentials, row r−1's output,
		// row r+1's maximum.
		var sum float64
		nm, nnan := float32(math.Inf(-1)), false
		if p.Fast || prev.Dst != nil || next != nil {
			for c := 0; c < cols; c += Chunk {
				ce := min(cols, c+Chunk)
				st := vek.Step32{C: p.C, NT: nt, Prefetch: prefetchReadOnly}
				if p.Fast {
					st.X = row[c:ce]
					if cur.E != nil {
						st.E = cur.E[c:ce]
					}
				}
				if prev.Dst != nil {
					st.Out, st.Src = prev.Dst[c:ce], prev.Src[c:ce]
					st.A, st.B, st.Mode = prev.A, prev.B, prev.Mode
					st.Prefetch = prefetchElems
				}
				if next != nil {
					st.Next = next[c:ce]
				}
				s, cm, cn := st.Step()
				sum += s
				nm = max(nm, cm)
				nnan = nnan || cn
			}
		}
		if prev.Set {
			if nt {
				vek.StoreFence() // the row's non-temporal stores first
			}
			prev.Dst[prev.SetAt] = prev.SetVal
		}
		if r == hi {
			if nt {
				vek.StoreFence()
			}
			return
		}
		prev = h.Finish(cur, sum)
		m, nan = nm, nnan
	}
}
