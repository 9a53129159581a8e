package softmax

import (
	"math"
	"sync"

	"github.com/xentlab/xent/internal/par"
	"github.com/xentlab/xent/internal/vek"
)

// The float32 row pipeline (T = 1). A row needs three passes: its maximum,
// its exponentials and their sum, and its output (softmax: the
// exponentials times 1/sum; log-softmax: (x − m) − log sum). Done one
// after another, each pass is either memory-bound or compute-bound and
// the machine idles half the time. The pipeline fuses them across three
// consecutive rows instead: one loop (vek.Step32) computes row r's
// exponentials from the cache, writes row r−1's output to memory, and
// reads row r+1 from memory for its maximum, prefetching ahead. Every
// exponential is evaluated once (softmax keeps them in a per-thread
// scratch row that stays in the cache) and every row is read from memory
// once.
//
// The results are the bits of the one-row path (oneRow): the pipeline
// only reorders the same kernels' work.

// Pipeline tuning, measured on the machines of BENCHMARKS.md.
const (
	// prefetchElems is how far ahead of the next row's read position the
	// step loop prefetches.
	prefetchElems = 1024
)

// ntBytes is the output size from which the pipeline writes with
// non-temporal stores: an output this much larger than the last-level
// cache is not read back soon, and plain stores would also read every
// line before writing it. (A variable so that the tests can take that
// path on small matrices.)
var ntBytes = 64 << 20

// scratchPool holds per-thread pairs of scratch rows.
var scratchPool sync.Pool

func getScratch(cols int) *[2][]float32 {
	if v, ok := scratchPool.Get().(*[2][]float32); ok && cap(v[0]) >= cols {
		v[0], v[1] = v[0][:cols], v[1][:cols]
		return v
	}
	return &[2][]float32{make([]float32, cols), make([]float32, cols)}
}

// pipeline32 applies o (T = 1) to every row of x through the row
// pipeline, in parallel blocks of rows.
func pipeline32(o op, dst, x []float32, cols, threads int) {
	rows := len(x) / cols
	nt := o != opLogSumExp && !shares(dst, x) && 4*len(x) >= ntBytes
	grain := max(1, blockElems/cols)
	if rows >= 64 {
		// Long runs of rows keep the pipeline full; the blocks stay fixed
		// whatever the thread count.
		grain = max(grain, (rows+63)/64)
	}
	par.For(rows, grain, threads, func(_, lo, hi int) {
		var sc *[2][]float32
		if o == opSoftmax {
			sc = getScratch(cols)
			defer scratchPool.Put(sc)
		}
		pipeRows(o, dst, x, cols, lo, hi, sc, nt)
	})
}

// pending is a row whose output the next step writes.
type pending struct {
	r     int
	src   []float32
	a, b  float32
	shift bool
	hot   int // the index of a one-hot softmax row's 1, or −1
}

// pipeRows runs rows [lo, hi) through the pipeline.
func pipeRows(o op, dst, x []float32, cols, lo, hi int, sc *[2][]float32, nt bool) {
	m, nan := vek.MaxNaN32(x[lo*cols : (lo+1)*cols])
	var prev *pending
	var pv pending
	for r := lo; r <= hi; r++ {
		var row, next []float32
		var p rowPlan[float32]
		if r < hi {
			row = x[r*cols : (r+1)*cols]
			p = planRow(k32, m, nan, 1)
			if r+1 < hi {
				next = x[(r+1)*cols : (r+2)*cols]
			}
		}
		var e []float32
		if p.fast && o == opSoftmax {
			e = sc[r%2]
		}
		// One step per chunk: row r's exponentials (fast rows), row r−1's
		// output, row r+1's maximum.
		var sum float64
		nm, nnan := float32(math.Inf(-1)), false
		if p.fast || prev != nil || next != nil {
			for c := 0; c < cols; c += chunkCols {
				ce := min(cols, c+chunkCols)
				st := vek.Step32{C: p.c, NT: nt, Prefetch: prefetchElems}
				if p.fast {
					st.X = row[c:ce]
					if e != nil {
						st.E = e[c:ce]
					}
				}
				if prev != nil {
					st.Out = dst[prev.r*cols+c : prev.r*cols+ce]
					st.Src = prev.src[c:ce]
					st.A, st.B, st.Shift = prev.a, prev.b, prev.shift
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
		if prev != nil && prev.hot >= 0 {
			dst[prev.r*cols+prev.hot] = 1
		}
		prev = nil
		if r == hi {
			break
		}
		if !p.fast {
			// Special rows and maxima without a shift: the one-row path.
			oneRow(k32, o, dst, row, r, cols, m, nan, 1)
		} else {
			switch o {
			case opLogSumExp:
				dst[r] = float32(p.lse(sum))
			case opSoftmax:
				pv = pending{r: r, src: e, a: float32(1 / sum), hot: -1}
				if p.oneHot(sum) {
					pv.hot = argmaxOf(row, m)
				}
				prev = &pv
			case opLogSoftmax:
				pv = pending{r: r, src: row, a: m, b: float32(p.logSum(sum)), shift: true, hot: -1}
				prev = &pv
			}
		}
		m, nan = nm, nnan
	}
}
