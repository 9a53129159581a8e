package gemm

import (
	"sync/atomic"
	"unsafe"

	"github.com/xentlab/xent/internal/par"
	"github.com/xentlab/xent/internal/vek"
)

// alignOffset returns the number of float32s to skip from &b[0] to reach
// a 64-byte boundary.
func alignOffset(b []float32) int {
	return int((64-uintptr(unsafe.Pointer(&b[0]))%64)%64) / 4
}

// A prefetch describes memory a column kernel brings towards L2 while it
// computes (what the caller reads next): n cache lines, in rows of lines
// lines from p, stride bytes apart. It is only prefetched, never loaded,
// so it may lie outside any slice; n = 0 prefetches nothing.
type prefetch struct {
	p                unsafe.Pointer
	lines, stride, n int
}

// lineSpan returns the number of cache lines that the bytes
// [p, p+bytes) touch.
func lineSpan(p unsafe.Pointer, bytes int) int {
	off := int(uintptr(p) % 64)
	return (off + bytes + 63) / 64
}

// prefetchRows describes rows rows of bytes bytes each, ld float32s apart,
// from x[0].
func prefetchRows(x []float32, rows, bytes, ld int) prefetch {
	if len(x) == 0 || rows <= 0 {
		return prefetch{}
	}
	p := unsafe.Pointer(&x[0])
	l := lineSpan(p, bytes)
	return prefetch{p: p, lines: l, stride: 4 * ld, n: rows * l}
}

// col multiplies one packed B panel b (cols ≤ nr logical columns, kc steps)
// by the m rows of packed A at a (panels sa apart) into the m×cols block
// of C at c: C = alpha·A·B + beta·C when accum, else alpha·A·B. pf is
// prefetched while it computes.
func (t *tier) col(kc int, a []float32, sa, m int, b []float32, cols int, c []float32, ldc int, alpha, beta float32, accum bool, pf prefetch) {
	if pf.n == 0 {
		pf.p, pf.lines = unsafe.Pointer(&b[0]), 1
	}
	pp := (*float32)(pf.p)

	tiles, rest := m/t.mr, m%t.mr
	_ = a[(ceilDiv(m, t.mr)-1)*sa+t.mr*kc-1]
	_ = b[t.nr*kc-1]
	if t.asm {
		if cols == t.nr {
			_ = c[(m-1)*ldc+t.nr-1]
			if t.avx512 {
				gemmColAVX512(kc, &a[0], sa, tiles, rest, &b[0], &c[0], ldc, alpha, beta, accum, pp, pf.lines, pf.stride, pf.n)
			} else {
				gemmColAVX2(kc, &a[0], sa, tiles, rest, &b[0], &c[0], ldc, alpha, beta, accum, pp, pf.lines, pf.stride, pf.n)
			}
			return
		}
		_ = c[(m-1)*ldc+cols-1]
		if t.avx512 {
			gemmColMaskAVX512(kc, &a[0], sa, tiles, rest, &b[0], &c[0], ldc, cols, alpha, beta, accum, pp, pf.lines, pf.stride, pf.n)
		} else {
			gemmColMaskAVX2(kc, &a[0], sa, tiles, rest, &b[0], &c[0], ldc, cols, alpha, beta, accum, pp, pf.lines, pf.stride, pf.n)
		}
		return
	}
	// The portable kernel: whole tiles in place, edge tiles through a
	// buffer so that only C's logical elements are touched.
	var buf [6 * 16]float32
	for i := 0; i < m; i += t.mr {
		rows := min(t.mr, m-i)
		ap := a[(i/t.mr)*sa:]
		if rows == t.mr && cols == t.nr {
			kernelGo(kc, ap, b, c[i*ldc:], ldc, alpha, beta, accum)
			continue
		}
		kernelGo(kc, ap, b, buf[:], t.nr, alpha, 0, false)
		for r := range rows {
			row := c[(i+r)*ldc : (i+r)*ldc+cols]
			for x, v := range buf[r*t.nr : r*t.nr+cols] {
				if accum {
					v = vek.FMA32(beta, row[x], v)
				}
				row[x] = v
			}
		}
	}
}

// mulPacked is MulPacked for this tier; the arguments are checked.
// Tasks are row blocks by column groups of C, each all of k in order.
func (t *tier) mulPacked(m, n, k int, alpha float32, pa, pb []float32, beta float32, c []float32, ldc int, threads int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	if 2*m*n*k < smallWork {
		threads = 1
	}
	rb := ceilDiv(m, t.mc)
	cb := min(ceilDiv(n, t.nr), max(1, ceilDiv(4*threads, rb)))
	if threads <= 1 {
		for x := range rb * cb {
			t.mulTask(x, rb, cb, m, n, k, alpha, pa, pb, beta, c, ldc)
		}
		return
	}
	par.For(rb*cb, 1, threads, func(x, _, _ int) { t.mulTask(x, rb, cb, m, n, k, alpha, pa, pb, beta, c, ldc) })
}

// mulTask computes task x of mulPacked: row block x mod rb of rb, column
// group x/rb of cb, all of k in order.
func (t *tier) mulTask(x, rb, cb, m, n, k int, alpha float32, pa, pb []float32, beta float32, c []float32, ldc int) {
	i0, i1 := span(x%rb, rb, m, t.mr)
	j0, j1 := span(x/rb, cb, n, t.nr)
	for pc := 0; pc < k; pc += kcBlock {
		kc := min(kcBlock, k-pc)
		bb := beta
		if pc > 0 {
			bb = 1
		}
		for j := j0; j < j1; j += t.nr {
			bp := pb[j*k+pc*t.nr:]
			var pf prefetch
			if j+t.nr < j1 {
				pf = prefetchRows(pb[(j+t.nr)*k+pc*t.nr:], kc, 4*t.nr, t.nr)
			}
			t.col(kc, pa[i0*k+pc*t.mr:], t.mr*k, i1-i0, bp, min(t.nr, j1-j), c[i0*ldc+j:], ldc, alpha, bb, bb != 0, pf)
		}
	}
}

// A gemmRun is one Gemm call: its operands, its blocking and its threads.
// Threads only split C between them (rows, columns or tasks of B panels),
// never k, so every element of C is computed by one thread with the
// operations one thread would apply.
type gemmRun struct {
	t              *tier
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int
	threads        int
	mc             int // rows per A block (balanced, a multiple of mr)
	rowBlocks      int
	steps          []gemmStep
	pa             []float32      // the A block
	pb             [][]float32    // the B block, or (panelMajor) each thread's B panel
	pw             [][]float32    // panelMajor: each thread's packed A
	next           []atomic.Int64 // panelMajor: the task counter
}

// A gemmStep is one A block: rows [ic, ic+mc) and k [pc, pc+kc) of op(A),
// in column block [jc, jc+nc).
type gemmStep struct{ jc, nc, pc, kc, ib, ic, mc int }

// gemm is Gemm for this tier; the arguments are checked.
func (t *tier) gemm(ws *Workspace, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, threads int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	if 2*m*n*k < smallWork {
		threads = 1
	}
	pm := t.panelMajorFits(m, k)
	if threads > 1 && !pm {
		panels := ceilDiv(n, t.nr)
		switch {
		case m >= 2*threads*t.mr && (m >= n || panels < 2*threads):
			t.gemmRows(ws, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads)
			return
		case panels >= threads:
			t.gemmCols(ws, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads)
			return
		}
		threads = 1
	}
	r := &ws.run
	*r = gemmRun{t: t, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta,
		a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc, threads: min(threads, ceilDiv(n, t.nr)),
		steps: r.steps[:0], pb: r.pb[:0], pw: r.pw[:0]}
	defer r.release()
	if pm {
		r.panelMajor(ws)
		return
	}
	rowBlocks := ceilDiv(m, t.mc)
	r.mc = roundUp(ceilDiv(m, rowBlocks), t.mr)
	r.rowBlocks = ceilDiv(m, r.mc)
	nc := min(roundUp(n, t.nr), t.nc)
	for jc := 0; jc < n; jc += nc {
		for pc := 0; pc < k; pc += kcBlock {
			for ib := 0; ib < r.rowBlocks; ib++ {
				ic := ib * r.mc
				r.steps = append(r.steps, gemmStep{jc, min(nc, n-jc), pc, min(kcBlock, k-pc), ib, ic, min(r.mc, m-ic)})
			}
		}
	}
	kc := min(k, kcBlock)
	r.pa = sized(&ws.pa, r.mc*kc)
	if len(ws.pb) == 0 {
		ws.pb = append(ws.pb, nil)
	}
	panels := ceilDiv(nc, t.nr)
	if r.rowBlocks == 1 {
		panels = 1 // each B panel is used once, right after it is packed
	}
	r.pb = append(r.pb, sized(&ws.pb[0], panels*t.nr*kc))
	r.work()
}

// panelMajorA is the largest packed A (in float32s) that panelMajor
// keeps whole: it stays in L2 (or L3) while every B panel meets it.
const panelMajorA = 1 << 19

// panelMajorFits reports whether an m×k op(A) takes the panelMajor path:
// at most one row block (or 256 rows, the fused head's token block) and
// panelMajorA values packed.
func (t *tier) panelMajorFits(m, k int) bool {
	return m <= max(t.mc, 256) && roundUp(m, t.mr)*k <= panelMajorA
}

// groupC is the size in bytes of the block of C that panelMajor keeps in
// L2 across the k blocks.
const groupC = 256 << 10

// panelMajor is gemm for an A that panelMajorFits:
// each thread packs all of A, once, into a buffer of its own (so that no
// cache line of it is written by one core and read by another), then the
// threads take tasks from a counter: a group of B panels whose m×(np·nr)
// block of C stays in L2 while it meets every k block in order, each B
// panel packed just before use. Tasks need no barrier: a block of C is
// computed by the thread that took it.
func (r *gemmRun) panelMajor(ws *Workspace) {
	t := r.t
	for len(ws.pw) < r.threads {
		ws.pw = append(ws.pw, nil)
	}
	if len(ws.pb) < r.threads {
		ws.pb = append(ws.pb, make([][]float32, r.threads-len(ws.pb))...)
	}
	for w := range r.threads {
		r.pw = append(r.pw, sized(&ws.pw[w], roundUp(r.m, t.mr)*r.k))
		r.pb = append(r.pb, sized(&ws.pb[w], t.nr*min(r.k, kcBlock)))
	}
	if r.threads == 1 {
		r.panelWork(0)
		return
	}
	if cap(ws.next) < 1 {
		ws.next = make([]atomic.Int64, 1)
	}
	r.next = ws.next[:1]
	r.next[0].Store(0)
	par.Workers(r.threads, r.panelWork)
}

// panelWork runs worker w's part of panelMajor.
func (r *gemmRun) panelWork(w int) {
	t := r.t
	mp := roundUp(r.m, t.mr) // rows of a packed A block
	pa := r.pw[w]
	for pc := 0; pc < r.k; pc += kcBlock {
		kc := min(kcBlock, r.k-pc)
		t.packA(pa[mp*pc:], t.mr*kc, r.transA, r.a, r.lda, 0, r.m, pc, kc)
	}
	panels := ceilDiv(r.n, t.nr)
	// Tasks are groups of np panels whose m×(np·nr) block of C stays in
	// L2 while it meets every k block (one panel when there is one k
	// block), at least four tasks per thread for balance.
	np := max(1, min(groupC/(4*r.m*t.nr), panels/(4*r.threads)))
	if r.k <= kcBlock {
		np = 1
	}
	tasks := ceilDiv(panels, np)
	bp := r.pb[w]
	all := gemmStep{nc: r.n, mc: r.m}
	for local := 0; ; {
		x := r.take(0, &local)
		if x >= tasks {
			break
		}
		q0, q1 := x*np, min(panels, (x+1)*np)
		for pc := 0; pc < r.k; pc += kcBlock {
			kc := min(kcBlock, r.k-pc)
			bb := r.beta
			if pc > 0 {
				bb = 1
			}
			for q := q0; q < q1; q++ {
				j := q * t.nr
				cols := min(t.nr, r.n-j)
				// Prefetch the source of the next B panel this thread packs.
				s := all
				s.pc, s.kc = pc, kc
				nq := q + 1
				if nq == q1 {
					nq = q0
					s.pc += kcBlock
					if s.pc >= r.k {
						nq, s.pc = q0+r.threads*np, 0
					}
					s.kc = min(kcBlock, r.k-s.pc)
				}
				var pf prefetch
				if nq < panels {
					pf = r.bSource(s, nq*t.nr, min(t.nr, r.n-nq*t.nr))
				}
				t.packB(bp, t.nr*kc, r.transB, r.b, r.ldb, pc, kc, j, cols)
				t.col(kc, pa[mp*pc:], t.mr*kc, r.m, bp, cols, r.c[j:], r.ldc, r.alpha, bb, bb != 0, pf)
			}
		}
	}
}

// gemmRows is gemm with the rows of C split between threads workers, each
// with a workspace of its own.
func (t *tier) gemmRows(ws *Workspace, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, threads int) {
	threads = min(threads, ceilDiv(m, t.mr))
	for len(ws.rows) < threads {
		ws.rows = append(ws.rows, new(Workspace))
	}
	par.Workers(threads, func(w int) {
		{
			i0, i1 := span(w, threads, m, t.mr)
			if i0 >= i1 {
				return
			}
			var ar []float32
			if transA {
				ar = a[i0:]
			} else {
				ar = a[i0*lda:]
			}
			t.gemm(ws.rows[w], transA, transB, i1-i0, n, k, alpha, ar, lda, b, ldb, beta, c[i0*ldc:], ldc, 1)
		}
	})
}

// gemmCols is gemm with the columns of C split between threads workers,
// each with a workspace of its own.
func (t *tier) gemmCols(ws *Workspace, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, threads int) {
	threads = min(threads, ceilDiv(n, t.nr))
	for len(ws.rows) < threads {
		ws.rows = append(ws.rows, new(Workspace))
	}
	par.Workers(threads, func(w int) {
		j0, j1 := span(w, threads, n, t.nr)
		if j0 >= j1 {
			return
		}
		var bc []float32
		if transB {
			bc = b[j0*ldb:]
		} else {
			bc = b[j0:]
		}
		t.gemm(ws.rows[w], transA, transB, m, j1-j0, k, alpha, a, lda, bc, ldb, beta, c[j0:], ldc, 1)
	})
}

// release drops the run's references to the caller's matrices, so that
// a pooled Workspace does not keep them alive.
func (r *gemmRun) release() {
	r.a, r.b, r.c = nil, nil, nil
	r.pa = nil
	clear(r.pb)
	clear(r.pw)
	r.next = nil
}

// take returns the next index from counter x (0, 1, 2, … on one
// thread; on several, from the shared counter).
func (r *gemmRun) take(x int, local *int) int {
	if r.threads == 1 {
		i := *local
		*local++
		return i
	}
	return int(r.next[x].Add(1) - 1)
}

// bSource describes the source of the B panel that starts at column j of
// step s's column block (cols columns), for prefetching.
func (r *gemmRun) bSource(s gemmStep, j, cols int) prefetch {
	if r.transB {
		return prefetchRows(r.b[(s.jc+j)*r.ldb+s.pc:], cols, 4*s.kc, r.ldb)
	}
	return prefetchRows(r.b[s.pc*r.ldb+s.jc+j:], s.kc, 4*cols, r.ldb)
}

// work runs the steps of the one-thread loop nest: column blocks of nc,
// k blocks, row blocks of mc (the A block stays in L2), then the B panels
// of the column block (each in L1 while it meets every A panel of the row
// block), packed during the first row block and kept for the others.
func (r *gemmRun) work() {
	t := r.t
	for _, s := range r.steps {
		t.packA(r.pa, t.mr*s.kc, r.transA, r.a, r.lda, s.ic, s.mc, s.pc, s.kc)
		bb := r.beta
		if s.pc > 0 {
			bb = 1
		}
		panels := ceilDiv(s.nc, t.nr)
		for q := range panels {
			j := q * t.nr
			cols := min(t.nr, s.nc-j)
			bp := r.pb[0]
			if r.rowBlocks > 1 {
				bp = bp[q*t.nr*s.kc:]
			}
			// Prefetch the source of the next panel to pack, or the next
			// packed panel.
			var pf prefetch
			switch nq := q + 1; {
			case nq < panels && s.ib == 0:
				pf = r.bSource(s, nq*t.nr, min(t.nr, s.nc-nq*t.nr))
			case nq < panels:
				pf = prefetchRows(r.pb[0][nq*t.nr*s.kc:], 1, 4*t.nr*s.kc, 0)
			}
			if s.ib == 0 {
				t.packB(bp, t.nr*s.kc, r.transB, r.b, r.ldb, s.pc, s.kc, s.jc+j, cols)
			}
			t.col(s.kc, r.pa, t.mr*s.kc, s.mc, bp, cols, r.c[s.ic*r.ldc+s.jc+j:], r.ldc, r.alpha, bb, bb != 0, pf)
		}
	}
}
