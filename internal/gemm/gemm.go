package gemm

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/xentlab/xent/internal/par"
)

// kcBlock is the k block: each element's sum is a chain of kcBlock fused
// multiply-adds (fewer in the last block) added to C in turn. It is the
// only blocking parameter that influences results, the same on every
// tier; the others (tier.mc, tier.nc, the thread split) change speed,
// never bits.
const kcBlock = 256

// smallWork is the flop count below which Gemm and MulPacked run on the
// calling goroutine whatever threads says.
const smallWork = 1 << 22

// A tier is one implementation of the kernels: its packed layout (A in
// panels of mr rows, B in panels of nr columns) and its cache blocking.
type tier struct {
	name   string
	mr, nr int
	mc     int // rows of a packed A block (a multiple of mr): it stays in L2
	nc     int // columns of a packed B block (a multiple of nr)
	asm    bool
	avx512 bool
}

var (
	tierGo     = &tier{name: "go", mr: 6, nr: 16, mc: 144, nc: 4096}
	tierAVX2   = &tier{name: "avx2", mr: 6, nr: 16, mc: 144, nc: 4096, asm: true}
	tierAVX512 = &tier{name: "avx512", mr: 12, nr: 32, mc: 384, nc: 4096, asm: true, avx512: true}
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

// Tile returns the micro-tile (mr, nr) of the packed layouts on this CPU:
// row blocks of packed A are mr rows, column blocks of packed B nr
// columns.
func Tile() (mr, nr int) { return best.mr, best.nr }

// PackASize returns the number of float32 values PackA writes for an m×k
// op(A): ⌈m/mr⌉·mr·k.
func PackASize(m, k int) int {
	if m < 0 || k < 0 {
		panic(fmt.Sprintf("gemm: PackASize(%d, %d): negative size", m, k))
	}
	return roundUp(m, best.mr) * k
}

// PackBSize returns the number of float32 values PackB writes for a k×n
// op(B): ⌈n/nr⌉·nr·k.
func PackBSize(k, n int) int {
	if k < 0 || n < 0 {
		panic(fmt.Sprintf("gemm: PackBSize(%d, %d): negative size", k, n))
	}
	return roundUp(n, best.nr) * k
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
	best.packA(dst, best.mr*k, transA, a, lda, 0, m, 0, k)
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
	best.packB(dst, best.nr*k, transB, b, ldb, 0, k, 0, n)
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

// span returns the panel-aligned range of part b of nb parts over size
// elements in panels of w.
func span(b, nb, size, w int) (lo, hi int) {
	p := ceilDiv(size, w)
	return min(size, b*p/nb*w), min(size, (b+1)*p/nb*w)
}

// A Workspace holds the packing buffers of Gemm: the A block, the B
// panels, and, when threads share a product, theirs. Each buffer keeps its role and its largest size from call to
// call, so a caller that repeats a few shapes (one step of a training
// loop) allocates only on the first call. The zero value is ready to use;
// a Workspace must not be used by two calls at once.
type Workspace struct {
	pa   []float32
	pb   [][]float32
	pw   [][]float32    // each thread's packed A, when each packs its own
	rows []*Workspace   // the workspaces of threads that split rows or columns
	run  gemmRun        // the state of the current call
	next []atomic.Int64 // the task counter of panelMajor
}

// Bytes returns the size of the buffers w holds.
func (w *Workspace) Bytes() int64 {
	var n int
	n += cap(w.pa)
	for _, b := range w.pb {
		n += cap(b)
	}
	for _, b := range w.pw {
		n += cap(b)
	}
	b := 4 * int64(n)
	for _, r := range w.rows {
		b += r.Bytes()
	}
	return b
}

// wsPool keeps workspaces for Gemm.
var wsPool sync.Pool // of *Workspace

// sized returns a 64-byte aligned slice of n float32s from *buf,
// reallocating *buf when it is too small.
func sized(buf *[]float32, n int) []float32 {
	if cap(*buf) < n+16 {
		*buf = make([]float32, n+16)
	}
	b := (*buf)[:cap(*buf)]
	off := alignOffset(b)
	return b[off : off+n]
}
