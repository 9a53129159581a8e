package vek

import "math"

// kernels64 is one tier's set of float64 kernels. The tiers return the
// same bits for the same arguments.
type kernels64 struct {
	name        string
	maxNaN      func(x []float64) (float64, bool)
	sum         func(x []float64) float64
	expSum      func(x []float64, m, s float64) float64
	expStoreSum func(dst, x []float64, m, s float64) float64
	expAffine   func(dst, x []float64, m, s, a, b float64)
	exp         func(dst, x []float64)
	scale       func(dst, x []float64, a float64)
	shiftScale  func(dst, x []float64, m, s, b float64)
	axpy        func(dst, x []float64, a float64)
}

var generic64 = &kernels64{"generic", maxNaN64Go, sum64Go, expSum64Go, expStoreSum64Go,
	expAffine64Go, exp64Go, scale64Go, shiftScale64Go, axpy64Go}

// k64 is the float64 tier in use; tiers64 lists every tier this machine
// runs.
var (
	k64     = generic64
	tiers64 = []*kernels64{generic64}
)

// MaxNaN64 returns the largest non-NaN element of x (−Inf if there is none;
// +0 when the largest is a zero of either sign) and whether x holds a NaN.
func MaxNaN64(x []float64) (m float64, nan bool) {
	if len(x) == 0 {
		return math.Inf(-1), false
	}
	m, nan = k64.maxNaN(x)
	if m == 0 {
		m = 0
	}
	return m, nan
}

// Sum64 returns Σ x_i in the package's float64 reduction shape (16 lanes,
// pairwise within blocks of 64): relative error below (n/16 + 4)·2⁻⁵³
// for terms of one sign. The bits do not depend on the tier.
func Sum64(x []float64) float64 {
	return k64.sum(x)
}

// ExpSum64 returns Σ exp((x_i − m)·s), the difference and the product each
// rounded, summed as Sum64. Preconditions: m finite, no NaN in x, x_i ≤ m,
// s > 0. Accuracy: each term within 2 ulp plus |z|·2⁻⁵² for the rounding
// of z = (x − m)·s (0 below 2⁻¹⁰²²).
func ExpSum64(x []float64, m, s float64) float64 {
	return k64.expSum(x, m, s)
}

// ExpStoreSum64 sets dst_i = exp((x_i − m)·s) and returns their sum, as
// ExpSum64. dst may be x; len(dst) ≥ len(x).
func ExpStoreSum64(dst, x []float64, m, s float64) float64 {
	return k64.expStoreSum(dst[:len(x)], x, m, s)
}

// ExpAffine64 sets dst_i = a·exp((x_i − m)·s) − b, the product and the
// difference rounded once. dst may be x.
func ExpAffine64(dst, x []float64, m, s, a, b float64) {
	k64.expAffine(dst[:len(x)], x, m, s, a, b)
}

// Axpy64 sets dst_i = a·x_i + dst_i, fused. len(dst) ≥ len(x).
func Axpy64(dst, x []float64, a float64) {
	k64.axpy(dst[:len(x)], x, a)
}

// Exp64 sets dst_i = exp(x_i) for any input: NaN gives NaN, results below
// the smallest normal float64 give 0, above the largest float64 +Inf.
// Accuracy: within 2 ulp wherever the result is normal. dst may be x.
func Exp64(dst, x []float64) {
	k64.exp(dst[:len(x)], x)
}

// Scale64 sets dst_i = a·x_i. dst may be x.
func Scale64(dst, x []float64, a float64) {
	k64.scale(dst[:len(x)], x, a)
}

// ShiftScale64 sets dst_i = ((x_i − m)·s) − b, each operation rounded.
// dst may be x.
func ShiftScale64(dst, x []float64, m, s, b float64) {
	k64.shiftScale(dst[:len(x)], x, m, s, b)
}

// Accelerated reports which kernels are in use: "avx512", "avx2+fma" or
// "generic".
func Accelerated() string {
	return k32.name
}
