// Package vek holds the vector kernels the softmax family stands on: max,
// sums, the exponential sums and stores, the fused row-pipeline step, a
// general exponential, the sigmoid, the two-pass (catalog A14) kernels,
// for float32 (suffix 32) and float64 (suffix 64), and the two row
// products of attention decoding (DotRows32: a few query rows against
// key rows; AxpyRows32: weights times value rows). Its callers:
//
//   - internal/rowstat, the kernel tables and row statistics through which
//     softmax, loss, linear, metrics and calibrate reach it;
//   - internal/rowpipe, and the fused row pipelines of softmax (the step,
//     two-pass and extended-range kernels, Exp32 and Exp64) and of loss's
//     cross-entropy (the shifted kernels, StepMulSub);
//   - sample (the sampler chain's exponential sums and stores) and
//     attention (the online softmax of fused attention, Exp32, Sigmoid32
//     and SigmoidSum32, and decoding's DotRows32 and AxpyRows32);
//   - internal/gemm (FMA32, the portable kernel's fused multiply-add);
//   - internal/lab and cmd/xent (Accelerated for reports; the benchmarks'
//     scalar baselines' checks).
//
// # Tiers, and the same bits on every one
//
// On amd64 the kernels run in Go assembly, in two tiers chosen once at
// start-up from golang.org/x/sys/cpu: AVX-512 (AVX512F, 16 float32 lanes)
// where the CPU has it, else AVX2+FMA (8 lanes); GODEBUG=cpu.avx512f=off
// forces the AVX2 tier. Everywhere else, under the purego build tag, and on
// CPUs without AVX2+FMA, a portable Go twin runs.
//
// Both assembly tiers are generated from one Go description per kernel
// family (internal/asmgen, with avo), so they apply the same operations
// in the same order to every element; only the register width, the
// masking of tails and a few equivalent instructions (VRNDSCALEPS and
// VSCALEFPS against VROUNDPS and integer exponent arithmetic in the
// float32 exponential, against the shifter in the float64 one) differ.
// Every sum has one shape on every tier: 16 logical lanes (element i in
// lane i mod 16), blocks of 64 elements whose four terms per lane are
// added as (v0 + v1) + (v2 + v3), float32 partial sums flushed into
// float64 lanes after every fourth block, and one fixed tree over the
// lanes at the end (lane l with l+8, l+4, l+2, l+1). The portable twin
// repeats all of it, with fused multiply-adds where the assembly fuses
// (fma32 rounds a float32 fused multiply-add exactly; math.FMA for
// float64) and explicit conversions where it does not. So every kernel
// returns the same bits on AVX-512, AVX2 and pure Go for the same input
// within its preconditions — and so does every public function built on
// them. (Outside them results may differ: the two-pass kernels' sums and
// stores for a row they reject, the shifted exponentials for arguments
// above the shift's maximum.) The tests compare
// every tier with the twin, bit for bit; CI runs them natively, on the
// AVX2 tier forced by GODEBUG, under purego, and on an emulated AVX-512
// CPU (tools/avx512emu).
//
// # The exponentials
//
// exp(z) is 2ⁿ·p(r) with n = round(z·log₂e), r = z − n·ln2 in two fused
// parts (Cody–Waite) and p a minimax polynomial.
//
//   - The softmax kernels (ExpShift*, ExpSum32, ExpStoreSum32,
//     ExpAffine32, Step32) use degree 5: each result within 2e-7 relative
//     of exp(z) (measured worst 1.6e-7 over every 17th float32 argument),
//     exactly 0 below ln 2⁻¹²⁶ (no subnormal results).
//   - Exp32, the general exponential, uses degree 6: within 1.1 ulp of the
//     exact value for every float32 input whose result is normal (checked
//     over all of them by the tests: worst 1.0996 ulp), 0 below, +Inf
//     above the largest float32 below 128·ln2, NaN for NaN.
//   - Sigmoid32 takes the degree-5 exponential of −|t| (never positive)
//     and one division: within (1 − σ)·|t|·2⁻²⁴ + 6·2⁻²⁴ relative of σ of
//     the exact t = x + b.
//   - The float64 kernels use degree 11: within 2 ulp over the normal
//     range.
//
// # Shifted kernels
//
// A softmax row is normalised by a shift: exp(x − c)/Σ exp(x − c) for any
// c. Shift32 picks, from the row maximum m, a c for which x − c is exact
// in float32 for every element whose probability can be at least 1e-30,
// so the shifted kernels (ExpShiftSum32, ExpShiftStore32, Step32) need
// one subtraction per element and no correction term. For other maxima,
// and at temperatures other than 1, the exact kernels (ExpSum32 and
// friends) carry x − m as an exact pair (a two-sum) instead; with s ≠ 1
// the product s·(x − m) adds a relative error of at most |s·(x − m)|·2⁻²⁴.
//
// Preconditions of the exponential kernels are stated on each function
// (no NaN in x, m finite, x ≤ m); callers check them in the max pass.
//
// Sums of n positive terms have relative error below about 5·2⁻²⁴ +
// n·2⁻⁵³ (float32 partial sums of at most 16 terms per lane, then
// float64).
package vek
