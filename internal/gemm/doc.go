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
// two B loads, two FMAs per row and k step); the AVX-512 tier multiplies
// two A panels by two B panels, a 12×32 tile in 24 16-wide registers,
// wherever both pairs are full. A 16×256 B panel (16 KiB; a pair, 32 KiB,
// for the AVX-512 tier) stays in L1 while it meets the A panels of a
// 144-row block (144 KiB, in L2). Work is cut into blocks of at most 1024
// columns (1 MiB of packed B per k block), so that the C rows a block
// updates are still warm at its next k block. Edge tiles are computed whole
// into a local buffer (the packing pads with zeros) and only C's logical
// elements are updated, so no function reads or writes outside the slices
// it is given.
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
// |beta|·|c_ij|) to first order (the AVX2 and AVX-512 kernels, with fused
// multiply-add, stay near half of that; the portable kernel rounds
// products and sums separately).
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
// "go test -bench . ./internal/gemm" and "xent bench gemm". These figures
// are for the AVX2 tier; the AVX-512 tier's speed has not been measured on
// AVX-512 hardware.
//
// # Kernels
//
// On amd64 the micro-kernels and packing routines are Go assembly,
// generated for both tiers from one description by internal/asmgen
// (kernels_avx2_amd64.s, kernels_avx512_amd64.s), and chosen once at
// start-up from golang.org/x/sys/cpu:
//
//   - AVX-512, when the CPU has AVX512F (the only AVX-512 subset it uses)
//     besides AVX2 and FMA: a 12×32 micro-kernel over two A panels and two
//     B panels, in 24 ZMM accumulators, for every full 12×32 tile; the
//     packing, and the 6×16 tiles left at the edges of C, are the AVX2
//     tier's. GODEBUG=cpu.avx512f=off selects the AVX2 tier.
//   - AVX2+FMA: the 6×16 kernel above. GODEBUG=cpu.avx2=off, cpu.fma=off
//     or cpu.all=off select the portable tier.
//
// Under the purego build tag, on other architectures and on CPUs without
// AVX2+FMA, a portable Go twin of the 6×16 kernel runs the same blocking
// with the same packed layout.
//
// The AVX-512 tier keeps the packed layouts (Tile still reports 6×16: its
// tile is four of those) and gives every element of C the operations the
// AVX2 tier gives it — the same chain of fused multiply-adds, p ascending,
// then the product by alpha and, unless beta = 0, one fused multiply-add
// with beta·C — so the two tiers produce bit-identical results: results
// do not depend on which of them runs. The tests check this (against the
// AVX2 tier, bit for bit, and against a float64 reference, with guard
// pages) on CPUs with AVX512F; they were run in an emulated AVX-512 CPU,
// which verifies results but not speed: the AVX-512 tier has not been
// timed on AVX-512 hardware.
package gemm
