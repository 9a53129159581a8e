//go:build !purego

package gemm

import "golang.org/x/sys/cpu"

// hasAVX2 selects the AVX2+FMA kernels. It is read once at start-up;
// GODEBUG=cpu.avx2=off, cpu.fma=off or cpu.all=off turn it off.
var hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// kern6x16AVX2 is the 6×16 micro-kernel: with acc[i][j] = Σ_{p<k}
// a[6p+i]·b[16p+j] (one FMA per term, p ascending) it stores
// alpha·acc + beta·c (accum) or alpha·acc (not accum; c is not read) to
// c[i·ldc+j] for i < 6, j < 16. k ≥ 1; a holds 6k values, b 16k, c at least
// 5·ldc+16. pf is only prefetched (from, never loaded): the caller points
// it at the B panel of its next call.
//
//go:noescape
func kern6x16AVX2(k int, a, b, c *float32, ldc int, alpha, beta float32, accum bool, pf *float32)

// Packing of whole panels (see pack_avx2_amd64.s).

//go:noescape
func packB16N(dst, src *float32, ld, kc, np, stride int)

//go:noescape
func packB16T(dst, src *float32, ld, kc4 int)

//go:noescape
func packA6N(dst, src *float32, ld, kc4 int)

//go:noescape
func packA6T(dst, src *float32, ld, kc, np, stride int)
