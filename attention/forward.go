package attention

import (
	"fmt"
	"math"
	"sync"

	"github.com/xentlab/xent/internal/gemm"
	"github.com/xentlab/xent/internal/par"
	"github.com/xentlab/xent/internal/vek"
	"github.com/xentlab/xent/softmax"
)

// Blocking of the float32 forward pass. Only keyBlock and splitKeys
// influence results: keyBlock is the step of the online update (the keys
// whose scores are reduced and merged at once) and splitKeys the size of
// the key ranges that the decoding path reduces separately and merges.
// The other sizes change speed and memory, never bits.
const (
	keyBlock        = 256  // keys per online step: one GEMM k block for P·V
	stripRows       = 48   // query rows per score strip (a multiple of the GEMM tiles' 6 and 12 rows)
	defaultTileRows = 384  // query rows per task
	splitKeys       = 2048 // keys per split when few queries share a key/value head
	splitMaxRows    = 64   // at most this many query rows per key/value head take the split path
	axpyRows        = 8    // at most this many query rows per key/value head accumulate weights·V by axpy
)

// rowState is the online state of one query row: the merged softmax.State
// (in units of the normalizer's scores z = τ·s) and the float32 score its
// Max stands for, relative to which the stored exponentials are taken.
type rowState struct {
	st   softmax.State
	mref float32
}

// A fwdTask is one unit of the forward pass: query rows [r0, r1) of the
// stacked rows of key/value head g of batch element b (row r is query
// r mod S of head g·G + r/S), against keys [k0, k1).
type fwdTask struct {
	b, g, r0, r1, k0, k1 int
	part                 int // index of the partial result (split path), or −1
}

// fwdWork is the scratch of one task, pooled.
type fwdWork struct {
	q, qp, kp, vp, s, s2, pp, o, tmp []float32
	rows                             []rowInfo
	strips                           []stripInfo
}

// rowInfo is what a task knows of one of its query rows.
type rowInfo struct {
	b, h, i  int
	lo, hi   int     // visible keys, intersected with the task's key range
	factor   float32 // τ_i or κ_i (1 otherwise)
	biasOff  int     // offset of the bias row, or −1
	rowState rowState
	sum      float64 // the sigmoid normalizer's Σ A_ij
}

// stripInfo is the union of the visible keys of a strip's rows.
type stripInfo struct{ r0, r1, lo, hi int }

var fwdPool sync.Pool // of *fwdWork

// takeWork returns n workspaces from pool (new ones if it has none) in a
// channel that the tasks of one call share: at most n are in use at once,
// so a call allocates at most n whatever its number of tasks.
func takeWork[W any](pool *sync.Pool, n int) chan *W {
	ch := make(chan *W, n)
	for range n {
		w, _ := pool.Get().(*W)
		if w == nil {
			w = new(W)
		}
		ch <- w
	}
	return ch
}

// returnWork puts the workspaces of ch back into pool.
func returnWork[W any](pool *sync.Pool, ch chan *W) {
	for range cap(ch) {
		pool.Put(<-ch)
	}
}

func sized(buf *[]float32, n int) []float32 {
	if cap(*buf) < n {
		*buf = make([]float32, n)
	}
	return (*buf)[:n]
}

// partPool keeps the split path's partial results between calls: a
// decoding step then allocates nothing for them (fresh memory for each
// call costs page faults that show in a step of a few milliseconds).
var partPool sync.Pool // of *partStore

// partStore is the memory of one call's partial results.
type partStore struct {
	o     []float32
	rows  []rowState
	sums  []float64
	parts []partial
}

// cut returns one partial per part of tasks, each over its task's rows,
// in memory of s.
func (s *partStore) cut(p *plan, tasks []fwdTask, nparts int) []partial {
	rows := 0
	for _, t := range tasks {
		if t.part >= 0 {
			rows += t.r1 - t.r0
		}
	}
	if cap(s.o) < rows*p.Dv {
		s.o = make([]float32, rows*p.Dv)
	}
	if cap(s.rows) < rows {
		s.rows, s.sums = make([]rowState, rows), make([]float64, rows)
	}
	if cap(s.parts) < nparts {
		s.parts = make([]partial, nparts)
	}
	parts := s.parts[:nparts]
	off := 0
	for _, t := range tasks {
		if t.part < 0 {
			continue
		}
		n := t.r1 - t.r0
		parts[t.part] = partial{o: s.o[off*p.Dv : (off+n)*p.Dv], rows: s.rows[off : off+n], sums: s.sums[off : off+n]}
		off += n
	}
	return parts
}

// partial holds the result of one task of the split path before the
// merge: the unnormalised output rows and the row states.
type partial struct {
	o    []float32
	rows []rowState
	sums []float64
}

// forward32 is Forward for float32.
func forward32(p *plan, in Input[float32], out Output[float32]) error {
	if p.B == 0 || p.S == 0 {
		return nil
	}
	tasks, nparts := p.fwdTasks()
	var parts []partial
	var store *partStore
	if nparts > 0 {
		store, _ = partPool.Get().(*partStore)
		if store == nil {
			store = new(partStore)
		}
		defer partPool.Put(store)
		parts = store.cut(p, tasks, nparts)
	}
	errs := make([]error, len(tasks))
	threads := min(par.Threads(p.threads), len(tasks))
	free := takeWork[fwdWork](&fwdPool, threads)
	par.For(len(tasks), 1, threads, func(t, _, _ int) {
		w := <-free
		errs[t] = p.runFwd(w, tasks[t], in, out, parts)
		free <- w
	})
	returnWork(&fwdPool, free)
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	if nparts > 0 {
		return p.mergeParts(tasks, parts, in, out)
	}
	return nil
}

// fwdTasks cuts the work into tasks: per (batch element, key/value head),
// the G·S stacked query rows in tiles (whole heads per tile when S is
// small), and, when a key/value head has at most splitMaxRows query rows,
// its keys in splits of splitKeys. The cut depends on the shape only (and
// TileRows, which does not change results).
func (p *plan) fwdTasks() ([]fwdTask, int) {
	rowsPerGroup := p.G * p.S
	var tiles [][2]int
	if p.S >= p.tileRows {
		for h := range p.G {
			for i := 0; i < p.S; i += p.tileRows {
				tiles = append(tiles, [2]int{h*p.S + i, h*p.S + min(p.S, i+p.tileRows)})
			}
		}
	} else {
		per := max(1, p.tileRows/p.S) * p.S
		for r := 0; r < rowsPerGroup; r += per {
			tiles = append(tiles, [2]int{r, min(rowsPerGroup, r+per)})
		}
	}
	split := p.T
	if rowsPerGroup <= splitMaxRows && p.T > splitKeys {
		split = splitKeys
	}
	nsplit := 1
	if p.T > 0 {
		nsplit = (p.T + split - 1) / split
	}
	var tasks []fwdTask
	parts := 0
	// Causal tiles further down see more keys: hand them out first.
	for b := range p.B {
		for g := range p.Hkv {
			for x := len(tiles) - 1; x >= 0; x-- {
				t := tiles[x]
				for s := range nsplit {
					task := fwdTask{b: b, g: g, r0: t[0], r1: t[1], k0: s * split, k1: min(p.T, (s+1)*split), part: -1}
					if nsplit > 1 {
						task.part = parts
						parts++
					}
					tasks = append(tasks, task)
				}
			}
		}
	}
	return tasks, parts
}

// runFwd runs one task: it packs the task's queries, then for every key
// block that some row sees packs K and V, and for every strip of rows
// computes the scores (GEMM), turns them into weights with the online
// update, and accumulates weights·V (GEMM). A task of at most axpyRows
// rows reads K and V where they lie instead (decodeBlocks).
func (p *plan) runFwd(w *fwdWork, t fwdTask, in Input[float32], out Output[float32], parts []partial) error {
	D, Dv := p.D, p.Dv
	rows := t.r1 - t.r0
	w.q = sized(&w.q, rows*D)
	w.o = sized(&w.o, rows*Dv)
	clear(w.o)
	if cap(w.rows) < rows {
		w.rows = make([]rowInfo, rows)
	}
	w.rows = w.rows[:rows]
	for r := range rows {
		h, i := t.g*p.G+(t.r0+r)/p.S, (t.r0+r)%p.S
		src := in.Q[((t.b*p.H+h)*p.S+i)*D:][:D]
		copy(w.q[r*D:(r+1)*D], src)
		lo, hi := p.interval(i)
		lo, hi = max(lo, t.k0), min(hi, t.k1)
		w.rows[r] = rowInfo{b: t.b, h: h, i: i, lo: lo, hi: hi, factor: float32(p.rowFactor(t.b, i)), biasOff: p.biasRow(t.b, h, i)}
	}
	if !finite32(w.q) {
		return p.locate("q", in.Q, t.b, t.g, t.r0, t.r1, true)
	}
	axpy := p.G*p.S <= axpyRows
	if !axpy {
		w.qp = sized(&w.qp, gemm.PackASize(rows, D))
		gemm.PackA(false, rows, D, w.q, D, w.qp)
	}
	w.strips = w.strips[:0]
	for s0 := 0; s0 < rows; s0 += stripRows {
		s := stripInfo{r0: s0, r1: min(rows, s0+stripRows), lo: math.MaxInt, hi: math.MinInt}
		for r := s.r0; r < s.r1; r++ {
			if ri := &w.rows[r]; ri.lo < ri.hi {
				s.lo, s.hi = min(s.lo, ri.lo), max(s.hi, ri.hi)
			}
		}
		w.strips = append(w.strips, s)
	}
	w.tmp = sized(&w.tmp, keyBlock)
	kbase, vbase := (t.b*p.Hkv+t.g)*p.T*D, (t.b*p.Hkv+t.g)*p.T*Dv
	if axpy {
		if err := p.decodeBlocks(w, t, in, kbase, vbase); err != nil {
			return err
		}
		return p.taskDone(w, t, out, parts, in.V)
	}
	w.kp = sized(&w.kp, gemm.PackBSize(D, keyBlock))
	w.vp = sized(&w.vp, gemm.PackBSize(keyBlock, Dv))
	w.s = sized(&w.s, stripRows*keyBlock)
	w.pp = sized(&w.pp, gemm.PackASize(stripRows, keyBlock))
	for j0 := t.k0; j0 < t.k1; j0 += keyBlock {
		j1 := min(t.k1, j0+keyBlock)
		if p.allPadded(t.b, j0, j1) {
			continue
		}
		need := false
		for _, s := range w.strips {
			need = need || s.lo < j1 && s.hi > j0
		}
		if !need {
			continue
		}
		n := j1 - j0
		vblk := in.V[vbase+j0*Dv:][:n*Dv]
		gemm.PackB(true, D, n, in.K[kbase+j0*D:], D, w.kp)
		gemm.PackB(false, n, Dv, vblk, Dv, w.vp)
		if !finite32(w.vp[:gemm.PackBSize(n, Dv)]) {
			return p.locate("v", in.V, t.b, t.g, j0, j1, false)
		}
		pad := p.blockPadding(t.b, j0, j1)
		for _, s := range w.strips {
			if !(s.lo < j1 && s.hi > j0) {
				continue
			}
			m := s.r1 - s.r0
			// Scores only for the columns some row of the strip sees (whole
			// 16-key panels of the packed K; the rest is cleared by
			// weightsRow): each score's value does not depend on which
			// columns are computed.
			_, nr := gemm.Tile()
			c0, c1 := max(s.lo-j0, 0)/nr*nr, min(s.hi-j0, n)
			gemm.MulPacked(m, c1-c0, D, float32(p.scale), w.qp[s.r0*D:], w.kp[c0*D:], 0, w.s[c0:], keyBlock, 1)
			for r := s.r0; r < s.r1; r++ {
				row := w.s[(r-s.r0)*keyBlock:][:n]
				if err := p.weightsRow(w, &w.rows[r], row, j0, pad, in.Bias, in.K, w.o[r*Dv:(r+1)*Dv]); err != nil {
					return err
				}
			}
			gemm.PackA(false, m, n, w.s, keyBlock, w.pp)
			gemm.MulPacked(m, Dv, n, 1, w.pp, w.vp, 1, w.o[s.r0*Dv:], Dv, 1)
		}
	}
	return p.taskDone(w, t, out, parts, in.V)
}

// taskDone hands a task's rows over: to its partial when the task is one
// share of split keys, else to the output.
func (p *plan) taskDone(w *fwdWork, t fwdTask, out Output[float32], parts []partial, v []float32) error {
	Dv, rows := p.Dv, t.r1-t.r0
	if t.part >= 0 {
		pt := &parts[t.part]
		copy(pt.o, w.o)
		for r := range rows {
			pt.rows[r], pt.sums[r] = w.rows[r].rowState, w.rows[r].sum
		}
		return nil
	}
	for r := range rows {
		ri := &w.rows[r]
		if err := p.finish(out, ri.b, ri.h, ri.i, w.o[r*Dv:(r+1)*Dv], ri.rowState.st, ri.sum, v); err != nil {
			return err
		}
	}
	return nil
}

// finish writes one row's output and log-normaliser from its
// unnormalised output o and state. A non-finite o comes from a non-finite
// value in V (the axpy path reads V unchecked): that is an error.
func (p *plan) finish(out Output[float32], b, h, i int, o []float32, st softmax.State, sum float64, v []float32) error {
	if !finite32(o) {
		lo, hi := p.interval(i)
		return p.locate("v", v, b, h/p.G, lo, hi, false)
	}
	row := (b*p.H+h)*p.S + i
	dst := out.Out[row*p.Dv:][:p.Dv]
	if p.norm == Sigmoid {
		copy(dst, o)
		if out.LSE != nil {
			out.LSE[row] = float32(math.Log(sum))
		}
		return nil
	}
	if st.Sum == 0 {
		clear(dst)
	} else {
		vek.Scale32(dst, o, float32(1/st.Sum))
	}
	if out.LSE != nil {
		out.LSE[row] = float32(st.LogSumExp())
	}
	return nil
}

// mergeParts combines the split path's partial results, split by split
// in key order, and writes the outputs.
func (p *plan) mergeParts(tasks []fwdTask, parts []partial, in Input[float32], out Output[float32]) error {
	Dv := p.Dv
	o := make([]float32, Dv)
	for x := 0; x < len(tasks); {
		t := tasks[x]
		y := x
		for y < len(tasks) && tasks[y].b == t.b && tasks[y].g == t.g && tasks[y].r0 == t.r0 {
			y++
		}
		for r := range t.r1 - t.r0 {
			h, i := t.g*p.G+(t.r0+r)/p.S, (t.r0+r)%p.S
			var st softmax.State
			var sum float64
			clear(o)
			for z := x; z < y; z++ {
				pt := &parts[tasks[z].part]
				po := pt.o[r*Dv : (r+1)*Dv]
				if p.norm == Sigmoid {
					vek.Axpy32(o, po, 1)
					sum += pt.sums[r]
					continue
				}
				ps := pt.rows[r].st
				if ps.Sum == 0 {
					continue
				}
				if st.Sum == 0 {
					copy(o, po)
					st = ps
					continue
				}
				merged := st.Merge(ps)
				if a := math.Exp(st.Max - merged.Max); a != 1 {
					vek.Scale32(o, o, float32(a))
				}
				vek.Axpy32(o, po, float32(math.Exp(ps.Max-merged.Max)))
				st = merged
			}
			if err := p.finish(out, t.b, h, i, o, st, sum, in.V); err != nil {
				return err
			}
		}
		x = y
	}
	return nil
}

// weightsRow turns one row of scaled scores s_j = scale·q·k_j, for keys
// [j0, j0+len(row)), into the normalizer's weights in place (0 where the
// key is hidden), updates the row's online state, and rescales the row's
// unnormalised output o when the running maximum grows.
func (p *plan) weightsRow(w *fwdWork, ri *rowInfo, row []float32, j0 int, pad []bool, bias, k []float32, o []float32) error {
	a, e := max(ri.lo-j0, 0), min(ri.hi-j0, len(row))
	if a >= e {
		clear(row)
		return nil
	}
	seg := row[a:e]
	if !finite32(seg) {
		return p.scoreError(ri, seg, j0+a, k)
	}
	p.transform(seg, w.tmp, ri, j0+a, pad, a, bias, nil)
	switch p.norm {
	case Sigmoid:
		ri.sum += sigmoidRowSum(seg, float32(p.sigBias))
	case Softplus:
		logSoftplusRow(seg, ri.factor)
		onlineRow(seg, 1, &ri.rowState, o)
	default:
		onlineRow(seg, ri.factor, &ri.rowState, o)
	}
	clear(row[:a])
	clear(row[e:])
	return nil
}

// transform applies soft-capping, the bias and the padding mask to the
// scores seg of keys [j, j+len(seg)); pad (if not nil) holds the padding
// flags of the block, starting at index a for seg[0]. th, if not nil,
// receives tanh of the soft-capped scores.
func (p *plan) transform(seg, tmp []float32, ri *rowInfo, j int, pad []bool, a int, bias []float32, th []float32) {
	if p.softcap > 0 {
		softcapRow(seg, tmp, float32(p.softcap), th)
	}
	if ri.biasOff >= 0 {
		vek.Axpy32(seg, bias[ri.biasOff+j:][:len(seg)], 1)
	}
	if pad != nil {
		for x := range seg {
			if pad[a+x] {
				seg[x] = float32(math.Inf(-1))
			}
		}
	}
}

// onlineRow replaces the scores seg by exp(τ·(seg − m)) for the running
// reference m, and merges their sum into the row state; o, the row's
// unnormalised output, is rescaled when the maximum grows. A row whose
// scores are all −Inf is left as zeros.
func onlineRow(seg []float32, tau float32, rs *rowState, o []float32) {
	m, _ := vek.MaxNaN32(seg)
	if math.IsInf(float64(m), -1) {
		clear(seg)
		return
	}
	old := rs.st
	blk := float64(tau) * float64(m)
	mref, M := rs.mref, old.Max
	if old.Sum == 0 || blk > old.Max {
		mref, M = m, blk
	}
	sum := vek.ExpStoreSum32(seg, seg, mref, tau)
	merged := old.Merge(softmax.State{Max: M, Sum: sum})
	if old.Sum != 0 && old.Max != M {
		vek.Scale32(o, o, float32(math.Exp(old.Max-M)))
	}
	rs.st, rs.mref = merged, mref
}

// scoreError returns the error for a non-finite score among seg, the
// scores of row ri for keys j, j+1, ...: a non-finite value in the key
// (Q was checked), or an overflow.
func (p *plan) scoreError(ri *rowInfo, seg []float32, j int, k []float32) error {
	g := ri.h / p.G
	for x, s := range seg {
		if !math.IsNaN(float64(s)) && !math.IsInf(float64(s), 0) {
			continue
		}
		krow := k[((ri.b*p.Hkv+g)*p.T+j+x)*p.D:][:p.D]
		for c, v := range krow {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("attention: k[%d, %d, %d, %d] = %v: want finite: %w", ri.b, g, j+x, c, v, ErrValue)
			}
		}
		return fmt.Errorf("attention: the score of query %d and key %d of batch %d, head %d overflows float32: %w",
			ri.i, j+x, ri.b, ri.h, ErrValue)
	}
	return nil
}

// finite32 reports whether every element of x is finite (the float64 sum
// of float32 values cannot overflow, so it is finite exactly when they
// all are).
func finite32(x []float32) bool {
	s := vek.Sum32(x)
	return !math.IsNaN(s) && !math.IsInf(s, 0)
}

// locate returns the error for a non-finite value in rows [r0, r1) of q
// (stacked query rows of group g, when rowsOfQ) or keys [r0, r1) of k or
// v.
func (p *plan) locate(name string, x []float32, b, g, r0, r1 int, rowsOfQ bool) error {
	for r := r0; r < r1; r++ {
		var off, width, h, i int
		if rowsOfQ {
			h, i = g*p.G+r/p.S, r%p.S
			off, width = ((b*p.H+h)*p.S+i)*p.D, p.D
		} else {
			h, i = g, r
			width = p.D
			if name == "v" {
				width = p.Dv
			}
			off = ((b*p.Hkv+g)*p.T + r) * width
		}
		for c, v := range x[off : off+width] {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("attention: %s[%d, %d, %d, %d] = %v: want finite: %w", name, b, h, i, c, v, ErrValue)
			}
		}
	}
	return fmt.Errorf("attention: %s holds a non-finite value: %w", name, ErrValue)
}

// decodeChunk is how many keys the decoding loop takes from each of its
// two streams in turn.
const decodeChunk = 32

// decodeBlocks is the key loop of a task with few query rows (one strip,
// every row accumulating weights·V by axpy), software-pipelined: the
// scores of key block b+1 are computed decodeChunk keys at a time in turn
// with the axpys of block b, so that the rows of K and of V are read
// from memory in alternation, each by the pass that uses it (measured a
// few percent faster than the two passes one block after the other,
// which prefetched V during the key pass). Each row's sequence of operations is the plain loop's
// (the scores of block b, their weights — which rescale the output
// accumulated up to block b−1 —, then block b's axpys), so the bits are
// those of the loop in runFwd.
func (p *plan) decodeBlocks(w *fwdWork, t fwdTask, in Input[float32], kbase, vbase int) error {
	D, Dv := p.D, p.Dv
	s := w.strips[0] // at most axpyRows rows: one strip
	m := s.r1 - s.r0
	cur, prev := sized(&w.s, m*keyBlock), sized(&w.s2, m*keyBlock)
	pn, pj0 := 0, 0 // keys of the previous block (0: none) and its first key
	for j0 := t.k0; j0 < t.k1 || pn > 0; j0 += keyBlock {
		j1 := min(t.k1, j0+keyBlock)
		seen := j0 < t.k1 && !p.allPadded(t.b, j0, j1) && s.lo < j1 && s.hi > j0
		c0, c1 := 0, 0 // the columns of this block some row sees
		if seen {
			c0, c1 = max(s.lo-j0, 0), min(s.hi, j1)-j0
		}
		// Scores of this block and the axpys of the previous one,
		// decodeChunk keys of each in turn.
		vprev := in.V[vbase+pj0*Dv:][:pn*Dv]
		for a, c := 0, c0; a < pn || c < c1; a, c = a+decodeChunk, c+decodeChunk {
			if c < c1 {
				e := min(c1, c+decodeChunk)
				vek.DotRows32(cur[c:], keyBlock, w.q[s.r0*D:s.r1*D], in.K[kbase+(j0+c)*D:kbase+(j0+e)*D], D, float32(p.scale))
			}
			if a < pn {
				e := min(pn, a+decodeChunk)
				vek.AxpyRows32(w.o[s.r0*Dv:], Dv, prev[a:], keyBlock, m, vprev[a*Dv:e*Dv], Dv)
			}
		}
		pn = 0
		if !seen {
			continue
		}
		pad := p.blockPadding(t.b, j0, j1)
		for r := s.r0; r < s.r1; r++ {
			row := cur[(r-s.r0)*keyBlock:][:j1-j0]
			if err := p.weightsRow(w, &w.rows[r], row, j0, pad, in.Bias, in.K, w.o[r*Dv:(r+1)*Dv]); err != nil {
				return err
			}
		}
		cur, prev = prev, cur
		pn, pj0 = j1-j0, j0
	}
	return nil
}
