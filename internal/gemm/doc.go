// Package gemm multiplies float32 matrices at near the CPU's peak: the
// engine of the fused classifier head, where hidden states H [N, D] meet
// classifier weights W [V, D] tile by tile (H·Wᵀ for the logits, G·W and
// Gᵀ·H for the gradients) so that the N×V logits never exist in memory.
//
// Matrices are row-major []float32 with an explicit row stride, as in
// CBLAS with CblasRowMajor. Gemm computes C = alpha·op(A)·op(B) + beta·C
// for any of the four transpositions. The packed API serves callers that
// reuse an operand: PackA and PackB copy an operand once into the
// kernel's panel layout (PackASize and PackBSize give the buffer sizes),
// and MulPacked multiplies packed operands into a caller's C tile without
// allocating. Gemm is built from the same pieces, so both give the same
// bits.
//
// # Algorithm
//
// The classic Goto/BLIS blocking: op(B) is packed in panels of nr = 16
// columns and op(A) in panels of mr = 6 rows, for k blocks of 256; a
// register-blocked micro-kernel multiplies one A panel by one B panel into
// a 6×16 tile of C held in twelve 8-wide registers (broadcast one A value,
// two B loads, two FMAs per row and k step). A 16×256 B panel (16 KiB)
// stays in L1 while it meets the A panels of a 144-row block (144 KiB, in
// L2). Work is cut into blocks of at most 1024 columns (1 MiB of packed B
// per k block), so that the C rows a block updates are still warm at its
// next k block. Edge tiles are computed whole into a local buffer (the
// packing pads with zeros) and only C's logical elements are updated, so
// no function reads or writes outside the slices it is given.
//
// # Determinism and threads
//
// Work is split over blocks of C only, never over k: every element of C is
// the same sequence of operations whatever the number of threads, so
// results are bit-identical for any thread count (and between Gemm and
// MulPacked). Threads come from package par.
//
// # Accuracy
//
// Each element accumulates its k products in float32, in ascending order,
// one accumulator per element; each block of 256 is added to C. With u =
// 2⁻²⁴, the error is at most (2k+4)·u·(|alpha|·Σ_p|a_ip||b_pj| +
// |beta|·|c_ij|) to first order (the AVX2 kernel, with fused multiply-add,
// stays near half of that; the portable kernel rounds products and sums
// separately).
//
// # Speed
//
// On a 2-core AMD EPYC (Zen 3, AVX2+FMA, about 100 GFLOP/s peak per core
// at the clock it runs), the micro-kernel on L1-resident panels runs at
// 99% of peak, MulPacked on a 256×1024×1024 tile at about 92–96 GFLOP/s,
// and Gemm, with OpenBLAS 0.3.21's cblas_sgemm (its Zen kernel) timed in
// alternation on the same machine, at these fractions of OpenBLAS's speed
// (median over rounds; the machine was shared with other work, so the
// absolute numbers vary by ±15%):
//
//	shape (m×n×k)              1 thread   2 threads
//	2048×2048×2048               0.94        0.95
//	H·Wᵀ 256×4096×1024 transB    0.98        1.01
//	G·W  256×1024×4096           0.92        0.87
//	Gᵀ·H 4096×1024×256 transA    1.04        1.30
//
// Reproduce with "sh bench/openblas/compare.sh" (see bench/openblas), or
// "go test -bench . ./internal/gemm" and "xent bench gemm".
//
// # Kernels
//
// On amd64 the micro-kernel is Go assembly for AVX2+FMA, chosen once at
// start-up from golang.org/x/sys/cpu (GODEBUG=cpu.avx2=off, cpu.fma=off or
// cpu.all=off select the portable tier). Under the purego build tag, on
// other architectures and on CPUs without AVX2+FMA, a portable Go twin of
// the kernel runs the same blocking with the same packed layout.
//
// An AVX-512 tier is not written yet (no machine to test it on). It would
// go beside the AVX2 one: a kernel file kernel_avx512_amd64.s (e.g. a
// 14×32 tile in 28 ZMM accumulators, or masked edge stores with K
// registers), a tierAVX512 selected first in best when cpu.X86.HasAVX512F,
// and its own mr, nr — which are why the tile size is reported by Tile
// and the packed sizes by PackASize and PackBSize rather than fixed in
// callers.
package gemm
