//go:build !purego

package vek

// AVX-512 (AVX512F) twins of the float64 AVX2 kernels. Each computes, for
// every element, the same bits as its AVX2 twin; the sums may add their
// terms in another order. Tails shorter than eight elements use masked
// loads and stores, so no kernel touches memory outside its slices.

// expSum64AVX512 returns Σ exp(s·(x_i − m)), with the exponential of
// expSum64AVX2 (0 below the lower threshold).
//
//go:noescape
func expSum64AVX512(x []float64, m, s float64) float64

// expAffine64AVX512 sets dst_i = c·exp(s·(x_i − m)) − b, the product and
// the difference fused into one rounding. len(dst) ≥ len(x); dst may be x.
//
//go:noescape
func expAffine64AVX512(dst, x []float64, m, s, c, b float64)

// expStoreSum64AVX512 sets dst_i = exp(s·(x_i − m)) and returns their sum.
// len(dst) ≥ len(x); dst may be x.
//
//go:noescape
func expStoreSum64AVX512(dst, x []float64, m, s float64) float64

// exp64AVX512 sets dst_i = exp(x_i) for any input: NaN gives NaN, 0 below
// the lower threshold, +Inf above the upper one. len(dst) ≥ len(x); dst
// may be x.
//
//go:noescape
func exp64AVX512(dst, x []float64)

// maxNaN64AVX512 returns the largest non-NaN element of x (−Inf if there
// is none) and whether x holds a NaN. len(x) ≥ 1.
//
//go:noescape
func maxNaN64AVX512(x []float64) (m float64, nan bool)

// sum64AVX512 returns Σ x_i.
//
//go:noescape
func sum64AVX512(x []float64) float64

// scale64AVX512 sets dst_i = c·x_i. len(dst) ≥ len(x); dst may be x.
//
//go:noescape
func scale64AVX512(dst, x []float64, c float64)

// shiftScale64AVX512 sets dst_i = (x_i − m)·s − c, each step rounded
// (no fused multiply-add). len(dst) ≥ len(x); dst may be x.
//
//go:noescape
func shiftScale64AVX512(dst, x []float64, m, s, c float64)

// axpy64AVX512 sets dst_i += a·x_i, fused (one rounding). len(dst) ≥
// len(x).
//
//go:noescape
func axpy64AVX512(dst, x []float64, a float64)
