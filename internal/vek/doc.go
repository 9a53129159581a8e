// Package vek holds the vector kernels the softmax family stands on: max,
// sums, the fused exp(s·(x−m)) reductions and stores, and a general exp, for
// float32 (suffix 32) and float64 (suffix 64).
//
// On amd64 the kernels run in Go assembly, in two tiers chosen once at
// start-up from golang.org/x/sys/cpu: AVX-512 (AVX512F, 16 float32 lanes)
// where the CPU has it, else AVX2+FMA (8 lanes); GODEBUG=cpu.avx512f=off
// forces the AVX2 tier. Everywhere else, under the purego build tag, and on
// CPUs without AVX2+FMA, a portable Go twin runs the same algorithm. Tails
// that are not a multiple of the vector width use masked loads and stores
// (opmask registers in the AVX-512 tier), so no kernel touches memory
// outside its slices.
//
// The two assembly tiers apply the same operations in the same order to
// every element, so elementwise results (exponentials, stored softmax
// values, scaled and shifted rows) are the same bits on either tier; only
// sums group their terms differently. The AVX-512 tier is tested, bit for
// bit against the AVX2 tier and over every float32 input of the
// exponential, under an emulated AVX-512 CPU (tools/avx512emu); its speed
// has not been measured on AVX-512 hardware.
//
// # The exponential
//
// exp(z) is computed as 2ⁿ·p(r) with n = round(z·log₂e), r = z − n·ln2 in two
// parts (Cody–Waite) and p a minimax polynomial on [−ln2/2, ln2/2] (degree 6
// for float32, relative error 2.3e-9; degree 11 for float64, 4e-18). The
// float32 kernel is within 2 ulp of the exact value for every input whose
// result is a normal number (checked exhaustively over all such float32
// inputs by the tests); it returns exactly 0 below the underflow point
// ln(2⁻¹²⁶) ≈ −87.3365 (subnormal results are flushed to zero), +Inf above
// the largest float32 below 128·ln2, and NaN for NaN. The float64 kernel has
// the same shape with the thresholds ln(2⁻¹⁰²²) and 1024·ln2 and is within
// 2 ulp over its normal range.
//
// # Fused kernels
//
// The softmax kernels take the row maximum m and a scale s (1/temperature)
// and evaluate exp(s·(x−m)). In float32 the difference x−m is carried
// exactly as a pair (hi, lo) — an error-free transformation — so a
// probability as small as 1e-30 keeps its full float32 accuracy even when x
// and m differ in magnitude; with s ≠ 1 the product s·(x−m) adds one more
// rounding, a relative error of at most |s·(x−m)|·2⁻²⁴ in the result.
// Their preconditions are stated on each function: no NaN in x, m finite,
// x ≤ m. Callers (package softmax) check those in the max pass.
//
// Sums are accumulated in float32 for at most 8 terms per lane and then in
// float64, so a sum of n positive terms has relative error below about
// 10·2⁻²⁴ + n·2⁻⁵³, independent of the order of the terms. For a given slice the
// result is the same bits on every call; callers that need the same result
// for any thread count split work at fixed boundaries.
package vek
