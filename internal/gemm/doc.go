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
// The Goto/BLIS blocking. Each tier has its packed layout: op(A) in panels
// of mr rows, op(B) in panels of nr columns, for k blocks of 256, and a
// register-blocked micro-tile of mr×nr in 2·mr vector accumulators
// (broadcast one A value, two B loads, two fused multiply-adds per row and
// k step): AVX2 6×16 in twelve YMM registers, AVX-512 12×32 in 24 ZMM
// registers. The assembly works a column at a time: one call multiplies
// one B panel (kc×nr, 32 KiB for the AVX-512 tier, held in L1) by every A
// panel of a row block (streamed from L2), tile after tile, with variants
// for the rows left below the last full tile and masked stores for a
// partial last panel, so no edge goes through a buffer and no function
// reads or writes outside the slices it is given. While a tile is
// computed, the rows of C of the tile after next are prefetched to L2,
// and so is what the caller packs next (the source of the next B panel). The
// packing of every layout (A or B, stored as is or transposed) is
// assembly too, full panels at a time; edge panels are packed in Go.
//
// The loop nest depends on the shape:
//
//   - A of at most one row block (or 256 rows, a token block of the fused
//     head) that fits 2 MiB packed: A is packed whole, once, and the work
//     is a sequence of tasks, each a group of B panels whose m×(np·nr)
//     block of C (256 KiB) stays in L2 while it meets every k block in
//     turn, each B panel packed just before its use. C is written to
//     memory once instead of once per k block, and packed B never goes
//     through memory: the logits of the fused head (H·Wᵀ with m = 256,
//     n = V) take this path.
//   - Otherwise column blocks of nc, k blocks, row blocks of mc (the A
//     block, mc×256, stays in L2: mc = 384 for the AVX-512 tier's 1 MiB
//     L2, 144 for AVX2), and the B panels of the column block, packed
//     during the first row block (each just before its first use) and
//     kept for the others.
//
// # Determinism and threads
//
// Work is split over blocks of C only, never over k: every element of C is
// the same sequence of operations whatever the number of threads, so
// results are bit-identical for any thread count (and between Gemm and
// MulPacked). On the first path above each thread packs A for itself (no
// cache line is written by one core and read by the other) and the
// threads take tasks from a counter; on the second each thread takes a
// range of rows (or of columns, when C is wider than tall) and computes
// it as a one-thread product of its own. Neither needs a barrier. The
// threads beyond the caller's run on internal/par's helper goroutines,
// which spin for a few hundred microseconds after a job before they
// sleep: waking a sleeping thread costs tens of microseconds, which a
// product of a few hundred microseconds (one tile of the fused head's
// backward) cannot afford at every call.
//
// # Accuracy
//
// Each element accumulates its k products in float32, in ascending order,
// one accumulator per element; each block of 256 is added to C. With u =
// 2⁻²⁴, the error is at most (2k+4)·u·(|alpha|·Σ_p|a_ip||b_pj| +
// |beta|·|c_ij|) to first order (the AVX2 and AVX-512 kernels, with fused
// multiply-add, stay near half of that; the portable kernel rounds
// products and sums separately).
//
// # Speed
//
// On a 2-core AMD EPYC Zen 5 (AVX-512; FMA peak 219 GFLOP/s per core at
// the clock it runs), the column kernel on L1-resident panels runs at 218
// GFLOP/s, and Gemm, with OpenBLAS 0.3.21's cblas_sgemm (its AVX-512
// kernels) run back to back, at these fractions of OpenBLAS's speed
// (medians over rounds, four runs; the machine was shared with other
// work):
//
//	shape (m×n×k)              1 thread     2 threads
//	2048×2048×2048             0.98–1.13    1.02–1.04
//	H·Wᵀ 256×4096×1024 transB  1.11–1.13    1.10–1.14
//	G·W  256×1024×4096         1.04–1.13    1.25–1.28
//	Gᵀ·H 4096×1024×256 transA  1.01–1.10    1.15–1.27
//
// and at 0.99–1.04 on the head's products over a 4096-token batch
// (4096×32768×1024 and the like). The AVX2 tier on the same machine runs
// at 1.01–1.15 of OpenBLAS's Haswell kernels. BENCHMARKS.md has the
// tables; reproduce with "sh bench/openblas/compare.sh" (see
// bench/openblas), "xent bench gemm --baseline openblas" or
// "go test -bench . ./internal/gemm".
//
// # Kernels
//
// On amd64 the column kernels and packing routines are Go assembly,
// generated for both tiers from one description by internal/asmgen
// (kernels_avx2_amd64.s, kernels_avx512_amd64.s), and chosen once at
// start-up from golang.org/x/sys/cpu:
//
//   - AVX-512, when the CPU has AVX512F (the only AVX-512 subset it uses)
//     besides AVX2 and FMA: 12×32 tiles. GODEBUG=cpu.avx512f=off selects
//     the AVX2 tier.
//   - AVX2+FMA: 6×16 tiles. GODEBUG=cpu.avx2=off, cpu.fma=off or
//     cpu.all=off select the portable tier.
//
// Under the purego build tag, on other architectures and on CPUs without
// AVX2+FMA, a portable Go kernel (6×16 tiles, the AVX2 layout) runs the
// same blocking.
//
// Both assembly tiers give every element of C the same operations — the
// chain of fused multiply-adds, p ascending from zero in each k block of
// 256, then the product by alpha and, unless beta = 0, one fused
// multiply-add with beta·C — so they produce bit-identical results:
// results do not depend on which of them runs. The tests check the
// kernels against these operations emulated in Go, element by element,
// and the tiers against each other, bit for bit (the AVX-512 tier on
// AVX-512 hardware, and in an emulated AVX-512 CPU in CI). The portable
// kernel rounds each product and sum separately, so its results differ
// in the last bits.
package gemm
