//go:build !purego

package gemm

import "golang.org/x/sys/cpu"

// hasAVX2 selects the AVX2+FMA kernels. It is read once at start-up;
// GODEBUG=cpu.avx2=off, cpu.fma=off or cpu.all=off turn it off.
var hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// hasAVX512 selects the AVX-512 tier: its 12×32 kernel uses AVX512F
// instructions only, and the tier also runs the AVX2 packers and, on edge
// tiles, the AVX2 kernel, hence hasAVX2. It is read once at start-up;
// GODEBUG=cpu.avx512f=off turns it off (and so do the settings that turn
// off hasAVX2).
var hasAVX512 = cpu.X86.HasAVX512F && hasAVX2

// kern6x16AVX2 is the 6×16 micro-kernel: with acc[i][j] = Σ_{p<k}
// a[6p+i]·b[16p+j] (one FMA per term, p ascending) it stores
// alpha·acc + beta·c (accum) or alpha·acc (not accum; c is not read) to
// c[i·ldc+j] for i < 6, j < 16. k ≥ 1; a holds 6k values, b 16k, c at least
// 5·ldc+16. pf is only prefetched (from, never loaded): the caller points
// it at the B panel of its next call.
//
//go:noescape
func kern6x16AVX2(k int, a, b, c *float32, ldc int, alpha, beta float32, accum bool, pf *float32)

// kern12x32AVX512 is the 12×32 micro-kernel over two A panels (a0: rows
// 0..5, a1: rows 6..11, 6k values each) and two B panels (b0: columns
// 0..15, b1: columns 16..31, 16k values each): with acc[i][j] the sum of
// the k products of row i and column j (one FMA per term, p ascending) it
// stores alpha·acc + beta·c (accum) or alpha·acc (not accum; c is not read)
// to c[i·ldc+j] for i < 12, j < 32, each element by the operations
// kern6x16AVX2 performs on it. k ≥ 1; c holds at least 11·ldc+32 values.
// pf0 and pf1 are only prefetched: the caller points them at the B panels
// of its next call.
//
//go:noescape
func kern12x32AVX512(k int, a0, a1, b0, b1, c *float32, ldc int, alpha, beta float32, accum bool, pf0, pf1 *float32)

// Packing of whole panels (see pack_avx2_amd64.s).

//go:noescape
func packB16N(dst, src *float32, ld, kc, np, stride int)

//go:noescape
func packB16T(dst, src *float32, ld, kc4 int)

//go:noescape
func packA6N(dst, src *float32, ld, kc4 int)

//go:noescape
func packA6T(dst, src *float32, ld, kc, np, stride int)
