package gemm

import (
	"fmt"
	"sync"

	"github.com/xentlab/xent/internal/par"
)

// Micro-tile and cache blocking. Only kcBlock influences results (it fixes
// where the k sum is split); the others change speed, never bits. mcBlock,
// mChunk and ncBlock are multiples of the AVX-512 tier's 12×32 tile, so
// that its blocks end in partial tiles only at the edges of C.
const (
	mr      = 6    // rows of the micro-tile
	nr      = 16   // columns of the micro-tile
	kcBlock = 256  // k block: a 16×256 B panel (16 KiB) stays in L1
	mcBlock = 144  // rows per L2 block: a 144×256 A block is 144 KiB
	ncBlock = 1024 // columns per task: 1 MiB of B per k block, and C rows revisited while warm
	mChunk  = 4032 // rows packed at once by Gemm (a multiple of mcBlock)

	// smallWork is the flop count below which Gemm and MulPacked run on
	// the calling goroutine whatever threads says.
	smallWork = 1 << 22
)

// packBudget bounds the float32 values Gemm packs at once (8 MiB). A
// variable only so that tests can make it small.
var packBudget = 1 << 21

// A tier is one implementation of the kernels. avx2: the AVX2 packers and
// 6×16 kernel; avx512: besides those, the 12×32 AVX-512 kernel wherever
// two A panels and two B panels are full.
type tier struct {
	name         string
	avx2, avx512 bool
}

var (
	tierGo     = &tier{name: "go"}
	tierAVX2   = &tier{name: "avx2", avx2: true}
	tierAVX512 = &tier{name: "avx512", avx2: true, avx512: true}
)

// best is the tier used by the exported functions, chosen at start-up.
var best = func() *tier {
	switch {
	case hasAVX512:
		return tierAVX512
	case hasAVX2:
		return tierAVX2
	}
	return tierGo
}()

// step returns the rows and columns of the tier's largest tile, to which
// the tasks' blocks of C are aligned.
func (t *tier) step() (rows, cols int) {
	if t.avx512 {
		return 2 * mr, 2 * nr
	}
	return mr, nr
}

// Tile returns the micro-tile (mr, nr) of the packed layouts: row blocks of
// packed A are mr rows, column blocks of packed B nr columns.
func Tile() (mr, nr int) { return 6, 16 }

// PackASize returns the number of float32 values PackA writes for an m×k
// op(A): ⌈m/mr⌉·mr·k.
func PackASize(m, k int) int {
	if m < 0 || k < 0 {
		panic(fmt.Sprintf("gemm: PackASize(%d, %d): negative size", m, k))
	}
	return roundUp(m, mr) * k
}

// PackBSize returns the number of float32 values PackB writes for a k×n
// op(B): ⌈n/nr⌉·nr·k.
func PackBSize(k, n int) int {
	if k < 0 || n < 0 {
		panic(fmt.Sprintf("gemm: PackBSize(%d, %d): negative size", k, n))
	}
	return roundUp(n, nr) * k
}

// PackA packs the m×k matrix op(A) into dst[:PackASize(m, k)] for
// MulPacked. op(A)(i, p) is a[i·lda+p], or a[p·lda+i] when transA (A is
// then stored k×m). The values are copied exactly.
//
// Rows are packed in independent panels of mr = Tile() rows: the packing
// of rows [i0, i0+r) (i0 a multiple of mr) starts at dst[i0·k:], so a
// caller may pack row ranges separately (or concurrently) and multiply any
// such range by passing dst[i0·k:] to MulPacked.
func PackA(transA bool, m, k int, a []float32, lda int, dst []float32) {
	checkDims("PackA", m, k, 1)
	if transA {
		checkMat("a", k, m, a, lda)
	} else {
		checkMat("a", m, k, a, lda)
	}
	need := PackASize(m, k)
	if len(dst) < need {
		panic(fmt.Sprintf("gemm: PackA: len(dst) = %d, want ≥ %d", len(dst), need))
	}
	if k == 0 {
		return
	}
	best.packA(dst, mr*k, transA, a, lda, 0, m, 0, k)
}

// PackB packs the k×n matrix op(B) into dst[:PackBSize(k, n)] for
// MulPacked. op(B)(p, j) is b[p·ldb+j], or b[j·ldb+p] when transB (B is
// then stored n×k, as the rows of a classifier's weight matrix are). The
// values are copied exactly.
//
// Columns are packed in independent panels of nr = Tile() columns: the
// packing of columns [j0, j0+c) (j0 a multiple of nr) starts at
// dst[j0·k:], so a caller may pack column ranges separately (or
// concurrently) and multiply any such range by passing dst[j0·k:].
func PackB(transB bool, k, n int, b []float32, ldb int, dst []float32) {
	checkDims("PackB", k, n, 1)
	if transB {
		checkMat("b", n, k, b, ldb)
	} else {
		checkMat("b", k, n, b, ldb)
	}
	need := PackBSize(k, n)
	if len(dst) < need {
		panic(fmt.Sprintf("gemm: PackB: len(dst) = %d, want ≥ %d", len(dst), need))
	}
	if k == 0 {
		return
	}
	best.packB(dst, nr*k, transB, b, ldb, 0, k, 0, n)
}

// MulPacked computes C = alpha·A·B + beta·C for the m×k matrix A packed by
// PackA into pa and the k×n matrix B packed by PackB into pb (the same k
// in both packings). C is m×n, row-major with row stride ldc; only its m×n
// logical elements are read or written. With beta = 0, C is only written
// (NaN or garbage in it is ignored); with alpha = 0 or k = 0, C = beta·C and
// the packed operands are not read.
//
// It allocates nothing and, with threads = 1, runs on the calling
// goroutine: the call for computing one tile of a larger product. threads
// < 1 means GOMAXPROCS; the result is bit-identical for every thread count
// and to Gemm on the same operands. Accuracy is that of Gemm.
func MulPacked(m, n, k int, alpha float32, pa, pb []float32, beta float32, c []float32, ldc int, threads int) {
	checkDims("MulPacked", m, n, k)
	if len(pa) < PackASize(m, k) {
		panic(fmt.Sprintf("gemm: MulPacked: len(pa) = %d, want ≥ %d", len(pa), PackASize(m, k)))
	}
	if len(pb) < PackBSize(k, n) {
		panic(fmt.Sprintf("gemm: MulPacked: len(pb) = %d, want ≥ %d", len(pb), PackBSize(k, n)))
	}
	checkMat("c", m, n, c, ldc)
	best.mulPacked(m, n, k, alpha, pa, pb, beta, c, ldc, par.Threads(threads))
}

// Gemm computes C = alpha·op(A)·op(B) + beta·C for row-major float32
// matrices: op(A) is m×k, op(B) is k×n, C is m×n.
//
// op(A)(i, p) is a[i·lda+p], or a[p·lda+i] when transA (A stored k×m);
// op(B)(p, j) is b[p·ldb+j], or b[j·ldb+p] when transB (B stored n×k); C(i,
// j) is c[i·ldc+j]. Strides must be at least the stored row width, and
// slices long enough for the last stored row; only the m×n logical elements
// of C are read or written. With beta = 0, C is only written (NaN or
// garbage in it is ignored); with alpha = 0 or k = 0, C = beta·C and A and
// B are not read. Invalid shapes, strides or lengths panic.
//
// Accuracy: each element is a sum of k products accumulated in float32 in
// ascending p, in blocks of 256 whose sums are added to C in turn (the
// AVX2 and AVX-512 kernels use fused multiply-adds and give the same
// bits), so that with u = 2⁻²⁴
//
//	|C − C_exact| ≤ (2k+4)·u·(|alpha|·Σ_p |op(A)(i,p)|·|op(B)(p,j)| + |beta|·|C₀(i,j)|)
//
// to first order: no term meets more than 2·min(k, 256) + ⌈k/256⌉ + 2
// roundings (half as many in the chain of fused multiply-adds; the factor
// 2 covers the portable kernel, which rounds product and sum separately).
// threads < 1 means GOMAXPROCS; work is split over blocks of C only, never
// over k, so the result is bit-identical for any thread count.
func Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, threads int) {
	checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	ws, ok := wsPool.Get().(*Workspace)
	if !ok {
		ws = new(Workspace)
	}
	best.gemm(ws, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, par.Threads(threads))
	wsPool.Put(ws)
}

// Gemm is the package's Gemm with its packing buffers taken from w rather
// than from a shared pool: same arguments, same results, same bits.
func (w *Workspace) Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, threads int) {
	checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	best.gemm(w, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, par.Threads(threads))
}

// checkGemm panics unless the arguments describe a valid Gemm call.
func checkGemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	checkDims("Gemm", m, n, k)
	if transA {
		checkMat("a", k, m, a, lda)
	} else {
		checkMat("a", m, k, a, lda)
	}
	if transB {
		checkMat("b", n, k, b, ldb)
	} else {
		checkMat("b", k, n, b, ldb)
	}
	checkMat("c", m, n, c, ldc)
}

func checkDims(fn string, m, n, k int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("gemm: %s: negative size (%d, %d, %d)", fn, m, n, k))
	}
}

// checkMat checks that x holds a rows×cols row-major matrix with stride ld.
func checkMat(name string, rows, cols int, x []float32, ld int) {
	if ld < max(1, cols) {
		panic(fmt.Sprintf("gemm: ld%s = %d, want ≥ %d", name, ld, max(1, cols)))
	}
	if rows > 0 && cols > 0 && len(x) < (rows-1)*ld+cols {
		panic(fmt.Sprintf("gemm: len(%s) = %d, want ≥ %d for %d×%d with stride %d", name, len(x), (rows-1)*ld+cols, rows, cols, ld))
	}
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }

func ceilDiv(x, m int) int { return (x + m - 1) / m }

// scaleC sets C = beta·C over its m×n logical elements (zero when beta = 0,
// whatever C held).
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// kernel runs the tier's micro-kernel on one full tile; pf is a prefetch
// hint (the B panel of the next call).
func (t *tier) kernel(k int, a, b, c []float32, ldc int, alpha, beta float32, accum bool, pf []float32) {
	if t.avx2 {
		_ = a[mr*k-1]
		_ = b[nr*k-1]
		_ = c[(mr-1)*ldc+nr-1]
		kern6x16AVX2(k, &a[0], &b[0], &c[0], ldc, alpha, beta, accum, &pf[0])
		return
	}
	kernelGo(k, a, b, c, ldc, alpha, beta, accum)
}

// kernel12x32 runs the AVX-512 micro-kernel on one full 12×32 tile: A
// panels a0 (rows 0..5) and a1 (rows 6..11), B panels b0 (columns 0..15)
// and b1 (columns 16..31). pf0 and pf1 are prefetch hints (the B panels of
// the next call). Every element gets the bits the 6×16 kernels of the
// AVX2 tier give it.
func kernel12x32(k int, a0, a1, b0, b1, c []float32, ldc int, alpha, beta float32, accum bool, pf0, pf1 []float32) {
	_ = a0[mr*k-1]
	_ = a1[mr*k-1]
	_ = b0[nr*k-1]
	_ = b1[nr*k-1]
	_ = c[(2*mr-1)*ldc+2*nr-1]
	kern12x32AVX512(k, &a0[0], &a1[0], &b0[0], &b1[0], &c[0], ldc, alpha, beta, accum, &pf0[0], &pf1[0])
}

// packA packs rows [i0, i0+m) and columns [p0, p0+kc) of op(A) as panels
// of mr rows, panel q at dst[q·stride:].
func (t *tier) packA(dst []float32, stride int, trans bool, a []float32, lda, i0, m, p0, kc int) {
	q0 := 0
	if full := m / mr; t.avx2 && trans && full > 0 {
		// Row by row of the stored A, across up to 4 full panels at once
		// (more would make the stores conflict in L1 when the panel
		// stride is a multiple of 4 KiB).
		_ = a[(p0+kc-1)*lda+i0+full*mr-1]
		_ = dst[(full-1)*stride+mr*kc-1]
		for q := 0; q < full; q += 4 {
			packA6TAVX2(&dst[q*stride], &a[p0*lda+i0+q*mr], lda, kc, min(4, full-q), stride)
		}
		q0 = full
	}
	for q := q0; q*mr < m; q++ {
		packAPanel(t.avx2, dst[q*stride:], trans, a, lda, i0+q*mr, min(mr, m-q*mr), p0, kc)
	}
}

// packB packs rows [p0, p0+kc) and columns [j0, j0+n) of op(B) as panels
// of nr columns, panel q at dst[q·stride:].
func (t *tier) packB(dst []float32, stride int, trans bool, b []float32, ldb, p0, kc, j0, n int) {
	q0 := 0
	if full := n / nr; t.avx2 && !trans && full > 0 {
		// Row by row of B, across up to 4 full panels at once (more would
		// make the stores conflict in L1).
		_ = b[(p0+kc-1)*ldb+j0+full*nr-1]
		_ = dst[(full-1)*stride+nr*kc-1]
		for q := 0; q < full; q += 4 {
			packB16NAVX2(&dst[q*stride], &b[p0*ldb+j0+q*nr], ldb, kc, min(4, full-q), stride)
		}
		q0 = full
	}
	for q := q0; q*nr < n; q++ {
		packBPanel(t.avx2, dst[q*stride:], trans, b, ldb, p0, kc, j0+q*nr, min(nr, n-q*nr))
	}
}

// macro updates the m×n block of C at c with one k block of kc: A panel q
// at pa[q·sa:], B panel q at pb[q·sb:], each holding kc steps. B panels are
// the outer loop so that each stays in L1 while it meets every A panel.
//
// The AVX-512 tier covers the block with 12×32 tiles, pairs of B panels
// outer, as far as pairs of full panels go, and the remaining rows and
// columns with the 6×16 tiles of the AVX2 tier; both kernels give every
// element the same bits. A pair of B panels at kc = 256 is 32 KiB, all
// of a 32 KiB L1 (48 KiB on newer cores), so part of it may come from L2
// while it meets the A panels; that costs at most 128 bytes per 24 FMAs,
// within L2's bandwidth. kc itself cannot shrink: it fixes the bits.
func (t *tier) macro(m, n, kc int, pa []float32, sa int, pb []float32, sb int, alpha, beta float32, c []float32, ldc int) {
	if !t.avx512 {
		t.tiles(0, m, 0, n, n, kc, pa, sa, pb, sb, alpha, beta, c, ldc)
		return
	}
	accum := beta != 0
	m2, n2 := m/(2*mr)*(2*mr), n/(2*nr)*(2*nr)
	for j := 0; j < n2; j += 2 * nr {
		b0, b1 := pb[(j/nr)*sb:], pb[(j/nr+1)*sb:]
		for i := 0; i < m2; i += 2 * mr {
			// The last row of tiles warms up the next B panels (unless
			// 6×16 tiles on remaining rows come after it and do so).
			pf0, pf1 := b0, b1
			if i+2*mr >= m && j+2*nr < n {
				pf0 = pb[(j/nr+2)*sb:]
				pf1 = pf0
				if j+3*nr < n {
					pf1 = pb[(j/nr+3)*sb:]
				}
			}
			kernel12x32(kc, pa[(i/mr)*sa:], pa[(i/mr+1)*sa:], b0, b1, c[i*ldc+j:], ldc, alpha, beta, accum, pf0, pf1)
		}
		if m2 < m {
			t.tiles(m2, m, j, j+2*nr, n, kc, pa, sa, pb, sb, alpha, beta, c, ldc)
		}
	}
	if n2 < n {
		t.tiles(0, m, n2, n, n, kc, pa, sa, pb, sb, alpha, beta, c, ldc)
	}
}

// tiles is macro with 6×16 tiles over rows [i0, i1) and columns [j0, j1)
// of the block (i0 a multiple of mr, j0 of nr; n is the block's width).
func (t *tier) tiles(i0, i1, j0, j1, n, kc int, pa []float32, sa int, pb []float32, sb int, alpha, beta float32, c []float32, ldc int) {
	accum := beta != 0
	var buf [mr * nr]float32
	for j := j0; j < j1; j += nr {
		bp := pb[(j/nr)*sb:]
		cols := min(nr, j1-j)
		for i := i0; i < i1; i += mr {
			ap := pa[(i/mr)*sa:]
			rows := min(mr, i1-i)
			// The last row panel warms up the next B panel.
			pf := bp
			if i+mr >= i1 && j+nr < n {
				pf = pb[(j/nr+1)*sb:]
			}
			if rows == mr && cols == nr {
				t.kernel(kc, ap, bp, c[i*ldc+j:], ldc, alpha, beta, accum, pf)
				continue
			}
			// Edge tile: compute the whole tile into buf, then update only
			// the logical elements of C.
			t.kernel(kc, ap, bp, buf[:], nr, alpha, 0, false, pf)
			for r := range rows {
				row := c[(i+r)*ldc+j : (i+r)*ldc+j+cols]
				src := buf[r*nr : r*nr+cols]
				for x, v := range src {
					if accum {
						v += beta * row[x]
					}
					row[x] = v
				}
			}
		}
	}
}

// grid chooses how an m×n product is cut into tasks for threads workers:
// rb row blocks by cb column blocks, each a whole number of tm×tn tiles
// (the tier's step), their sizes as equal as the tiles allow. The choice
// changes speed only, never results.
func grid(m, n, threads, tm, tn int) (rb, cb int) {
	cb = ceilDiv(n, ncBlock) // B of one task for one k block stays in L3
	if threads <= 1 {
		return 1, cb
	}
	// Row blocks of about mcBlock rows, at least one per worker when m
	// allows; then enough column blocks for about eight tasks per worker,
	// their number a multiple of threads so that equal tasks balance.
	rp, cp := ceilDiv(m, tm), ceilDiv(n, tn)
	rb = min(rp, max(ceilDiv(m, mcBlock), threads))
	cb = max(cb, ceilDiv(8*threads, rb))
	for cb < cp && (rb*cb)%threads != 0 {
		cb++
	}
	return rb, min(cb, cp)
}

// span returns the panel-aligned range of block b of nb blocks over size
// elements in panels of w.
func span(b, nb, size, w int) (lo, hi int) {
	p := ceilDiv(size, w)
	return b * p / nb * w, min(size, (b+1)*p/nb*w)
}

// mulPacked is MulPacked for this tier; the arguments are checked.
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
	tm, tn := t.step()
	rb, cb := grid(m, n, threads, tm, tn)
	if threads <= 1 || rb*cb == 1 {
		for b := range rb * cb {
			t.task(b, rb, cb, m, n, k, alpha, pa, pb, beta, c, ldc)
		}
		return
	}
	par.For(rb*cb, 1, threads, func(b, _, _ int) {
		t.task(b, rb, cb, m, n, k, alpha, pa, pb, beta, c, ldc)
	})
}

// task computes block b of the rb×cb grid (column-block major, so that
// tasks running together share their B panels): all k blocks in order,
// each over the task's rows in L2-sized row blocks.
func (t *tier) task(b, rb, cb, m, n, k int, alpha float32, pa, pb []float32, beta float32, c []float32, ldc int) {
	tm, tn := t.step()
	i0, i1 := span(b%rb, rb, m, tm)
	j0, j1 := span(b/rb, cb, n, tn)
	for pc := 0; pc < k; pc += kcBlock {
		kc := min(kcBlock, k-pc)
		for ic := i0; ic < i1; ic += mcBlock {
			t.macro(min(mcBlock, i1-ic), j1-j0, kc, pa[ic*k+pc*mr:], mr*k, pb[j0*k+pc*nr:], nr*k, alpha, beta, c[ic*ldc+j0:], ldc)
		}
		beta = 1
	}
}

// A Workspace holds the packing buffers of Gemm: A and B panels, twice
// for the parallel path's double buffering. Each buffer keeps its role
// and its largest size from call to call, so a caller that repeats a few
// shapes (one step of a training loop) allocates only on the first call.
// The zero value is ready to use; a Workspace must not be used by two
// calls at once.
type Workspace struct{ pa, pb [2][]float32 }

// Bytes returns the size of the buffers w holds.
func (w *Workspace) Bytes() int64 {
	var n int
	for i := range 2 {
		n += cap(w.pa[i]) + cap(w.pb[i])
	}
	return 4 * int64(n)
}

// wsPool keeps workspaces for Gemm.
var wsPool sync.Pool // of *Workspace

// sized returns (*buf)[:n], reallocating *buf when it is too small.
func sized(buf *[]float32, n int) []float32 {
	if cap(*buf) < n {
		*buf = make([]float32, n)
	}
	return (*buf)[:n]
}

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
	if threads > 1 {
		t.gemmParallel(ws, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads)
		return
	}
	// One thread packs each k block just before using it, while it is in
	// L2.
	ncMax, mcMax, kcMax := roundUp(min(n, ncBlock), nr), roundUp(min(m, mChunk), mr), min(k, kcBlock)
	pa, pb := sized(&ws.pa[0], mcMax*kcMax), sized(&ws.pb[0], ncMax*kcMax)
	for jc := 0; jc < n; jc += ncBlock {
		nc := min(ncBlock, n-jc)
		for pc := 0; pc < k; pc += kcBlock {
			kc := min(kcBlock, k-pc)
			bb := beta
			if pc > 0 {
				bb = 1
			}
			for ic := 0; ic < m; ic += mChunk {
				mc := min(mChunk, m-ic)
				job := packJob{t: t, withB: ic == 0, transA: transA, transB: transB, a: a, b: b, pa: pa, pb: pb,
					lda: lda, ldb: ldb, ic: ic, mc: mc, jc: jc, nc: nc, pc: pc, kc: kc}
				job.run(1)
				t.mulPacked(mc, nc, kc, alpha, pa, pb, bb, c[ic*ldc+jc:], ldc, 1)
			}
		}
	}
}

// A gemmStep is one block of Gemm's loop: rows [ic, ic+mc), columns
// [jc, jc+nc), k [pc, pc+kc).
type gemmStep struct{ jc, nc, pc, kc, ic, mc int }

// gemmParallel is gemm for several threads. k is packed in super-blocks
// (a multiple of kcBlock, as large as packBudget allows), into two sets of
// buffers: while the threads multiply one block they also pack the next,
// each turning to the packing tasks when the multiplication tasks run
// out, so that they meet at one barrier per block. Results are those of
// one thread.
func (t *tier) gemmParallel(ws *Workspace, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, threads int) {
	ncMax, mcMax := roundUp(min(n, ncBlock), nr), roundUp(min(m, mChunk), mr)
	tm, tn := t.step()
	ks := min(roundUp(k, kcBlock), max(kcBlock, packBudget/(mcMax+ncMax)/kcBlock*kcBlock))
	ksMax := min(k, ks)
	var paBuf, pbBuf [2][]float32
	for i := range 2 {
		paBuf[i], pbBuf[i] = sized(&ws.pa[i], mcMax*ksMax), sized(&ws.pb[i], ncMax*ksMax)
	}
	var steps []gemmStep
	for jc := 0; jc < n; jc += ncBlock {
		for pc := 0; pc < k; pc += ks {
			for ic := 0; ic < m; ic += mChunk {
				steps = append(steps, gemmStep{jc, min(ncBlock, n-jc), pc, min(ks, k-pc), ic, min(mChunk, m-ic)})
			}
		}
	}
	job := func(s gemmStep, ia, ib int) packJob {
		return packJob{t: t, withB: s.ic == 0, transA: transA, transB: transB, a: a, b: b, pa: paBuf[ia], pb: pbBuf[ib],
			lda: lda, ldb: ldb, ic: s.ic, mc: s.mc, jc: s.jc, nc: s.nc, pc: s.pc, kc: s.kc}
	}
	first := job(steps[0], 0, 0)
	first.run(threads)
	ib := 0 // the B buffer of the current step; A buffers alternate
	for i, s := range steps {
		ia := i % 2
		bb := beta
		if s.pc > 0 {
			bb = 1
		}
		pa, pb := paBuf[ia], pbBuf[ib]
		cs := c[s.ic*ldc+s.jc:]
		rb, cb := grid(s.mc, s.nc, threads, tm, tn)
		nt := rb * cb
		var next packJob
		ga, gb := 0, 0
		nb := ib
		if i+1 < len(steps) {
			if steps[i+1].ic == 0 {
				nb = 1 - ib // a new B block goes to the other buffer
			}
			next = job(steps[i+1], 1-ia, nb)
			ga, gb = next.groups()
		}
		par.For(nt+ga+gb, 1, threads, func(x, _, _ int) {
			if x < nt {
				t.task(x, rb, cb, s.mc, s.nc, s.kc, alpha, pa, pb, bb, cs, ldc)
				return
			}
			next.do(x-nt, ga)
		})
		ib = nb
	}
}

// packGroup is the number of panels one packing task handles.
const packGroup = 8

// A packJob packs one k block of op(A) rows [ic, ic+mc) into pa and, if
// withB, of op(B) columns [jc, jc+nc) into pb, in groups of packGroup
// panels.
type packJob struct {
	t                      *tier
	withB, transA, transB  bool
	a, b, pa, pb           []float32
	lda, ldb               int
	ic, mc, jc, nc, pc, kc int
}

// groups returns the number of A groups and of B groups.
func (j *packJob) groups() (ga, gb int) {
	ga = ceilDiv(ceilDiv(j.mc, mr), packGroup)
	if j.withB {
		gb = ceilDiv(ceilDiv(j.nc, nr), packGroup)
	}
	return ga, gb
}

// do packs group g: A groups first, then B groups.
func (j *packJob) do(g, ga int) {
	if g < ga {
		r0 := g * packGroup * mr
		r1 := min(j.mc, r0+packGroup*mr)
		j.t.packA(j.pa[r0*j.kc:], mr*j.kc, j.transA, j.a, j.lda, j.ic+r0, r1-r0, j.pc, j.kc)
		return
	}
	g -= ga
	c0 := g * packGroup * nr
	c1 := min(j.nc, c0+packGroup*nr)
	j.t.packB(j.pb[c0*j.kc:], nr*j.kc, j.transB, j.b, j.ldb, j.pc, j.kc, j.jc+c0, c1-c0)
}

// run packs every group on up to threads goroutines.
func (j *packJob) run(threads int) {
	ga, gb := j.groups()
	if threads <= 1 || ga+gb == 1 {
		for g := range ga + gb {
			j.do(g, ga)
		}
		return
	}
	jj := *j
	par.For(ga+gb, 1, threads, func(g, _, _ int) { jj.do(g, ga) })
}
