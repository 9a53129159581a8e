package vek

import (
	"math"
	"unsafe"
)

// prefetchAddr returns the address the exp kernels prefetch from: next's
// data if there is any, else x's own (already on its way).
func prefetchAddr(x, next []float32) uintptr {
	if len(next) > 0 {
		return uintptr(unsafe.Pointer(unsafe.SliceData(next)))
	}
	return uintptr(unsafe.Pointer(unsafe.SliceData(x)))
}

// MaxNaN32 returns the largest non-NaN element of x (−Inf if there is none)
// and whether x holds a NaN.
func MaxNaN32(x []float32) (m float32, nan bool) {
	if len(x) == 0 {
		return float32(math.Inf(-1)), false
	}
	if hasAVX512 {
		return maxNaN32AVX512(x)
	}
	if hasAVX2 {
		return maxNaN32AVX2(x)
	}
	return maxNaN32Go(x)
}

// MaxNaN64 is MaxNaN32 for float64.
func MaxNaN64(x []float64) (m float64, nan bool) {
	if len(x) == 0 {
		return math.Inf(-1), false
	}
	if hasAVX512 {
		return maxNaN64AVX512(x)
	}
	if hasAVX2 {
		return maxNaN64AVX2(x)
	}
	return maxNaN64Go(x)
}

// Sum32 returns Σ x_i accumulated in float64.
func Sum32(x []float32) float64 {
	if hasAVX512 {
		return sum32AVX512(x)
	}
	if hasAVX2 {
		return sum32AVX2(x)
	}
	return sum32Go(x)
}

// Sum64 returns Σ x_i.
func Sum64(x []float64) float64 {
	if hasAVX512 {
		return sum64AVX512(x)
	}
	if hasAVX2 {
		return sum64AVX2(x)
	}
	return sum64Go(x)
}

// ExpSum32 returns Σ exp(s·(x_i − m)), accumulated in float64.
// Preconditions: m finite, no NaN in x, x_i ≤ m, s > 0.
func ExpSum32(x []float32, m, s float32) float64 {
	return ExpSumNext32(x, m, s, nil)
}

// ExpSumNext32 is ExpSum32 that also prefetches next (typically the same
// columns of the next row) into the cache while it computes, so that a
// row-by-row pass over a matrix larger than the cache overlaps its memory
// reads with its arithmetic. The result does not depend on next.
func ExpSumNext32(x []float32, m, s float32, next []float32) float64 {
	if hasAVX512 {
		return expSum32AVX512(x, -m, s, prefetchAddr(x, next))
	}
	if hasAVX2 {
		return expSum32AVX2(x, -m, s, prefetchAddr(x, next))
	}
	return expSum32Go(x, m, s)
}

// ExpSum64 returns Σ exp(s·(x_i − m)). Preconditions as for ExpSum32.
func ExpSum64(x []float64, m, s float64) float64 {
	if hasAVX512 {
		return expSum64AVX512(x, m, s)
	}
	if hasAVX2 {
		return expSum64AVX2(x, m, s)
	}
	return expSum64Go(x, m, s)
}

// ExpAffine32 sets dst_i = c·exp(s·(x_i − m)) − b, the product and the
// difference rounded once. dst may be x; len(dst) ≥ len(x). Preconditions
// as for ExpSum32.
func ExpAffine32(dst, x []float32, m, s, c, b float32) {
	dst = dst[:len(x)]
	if hasAVX512 {
		expAffine32AVX512(dst, x, -m, s, c, b)
		return
	}
	if hasAVX2 {
		expAffine32AVX2(dst, x, -m, s, c, b)
		return
	}
	expAffine32Go(dst, x, m, s, c, b)
}

// ExpAffine64 is ExpAffine32 for float64.
func ExpAffine64(dst, x []float64, m, s, c, b float64) {
	dst = dst[:len(x)]
	if hasAVX512 {
		expAffine64AVX512(dst, x, m, s, c, b)
		return
	}
	if hasAVX2 {
		expAffine64AVX2(dst, x, m, s, c, b)
		return
	}
	expAffine64Go(dst, x, m, s, c, b)
}

// Axpy32 sets dst_i += a·x_i (fused: one rounding). len(dst) ≥ len(x).
func Axpy32(dst, x []float32, a float32) {
	dst = dst[:len(x)]
	if hasAVX512 {
		axpy32AVX512(dst, x, a)
		return
	}
	if hasAVX2 {
		axpy32AVX2(dst, x, a)
		return
	}
	axpy32Go(dst, x, a)
}

// Axpy64 sets dst_i += a·x_i (fused).
func Axpy64(dst, x []float64, a float64) {
	dst = dst[:len(x)]
	if hasAVX512 {
		axpy64AVX512(dst, x, a)
		return
	}
	if hasAVX2 {
		axpy64AVX2(dst, x, a)
		return
	}
	axpy64Go(dst, x, a)
}

// ExpStoreSum32 sets dst_i = exp(s·(x_i − m)) and returns their sum,
// accumulated in float64. dst may be x. Preconditions as for ExpSum32.
func ExpStoreSum32(dst, x []float32, m, s float32) float64 {
	return ExpStoreSumNext32(dst, x, m, s, nil)
}

// ExpStoreSumNext32 is ExpStoreSum32 that prefetches next while it
// computes (see ExpSumNext32).
func ExpStoreSumNext32(dst, x []float32, m, s float32, next []float32) float64 {
	dst = dst[:len(x)]
	if hasAVX512 {
		return expStoreSum32AVX512(dst, x, -m, s, prefetchAddr(x, next))
	}
	if hasAVX2 {
		return expStoreSum32AVX2(dst, x, -m, s, prefetchAddr(x, next))
	}
	return expStoreSum32Go(dst, x, m, s)
}

// ExpStoreSum64 is ExpStoreSum32 for float64.
func ExpStoreSum64(dst, x []float64, m, s float64) float64 {
	dst = dst[:len(x)]
	if hasAVX512 {
		return expStoreSum64AVX512(dst, x, m, s)
	}
	if hasAVX2 {
		return expStoreSum64AVX2(dst, x, m, s)
	}
	return expStoreSum64Go(dst, x, m, s)
}

// Exp32 sets dst_i = exp(x_i) for any input: NaN gives NaN, results below
// the smallest normal float32 give 0, above the largest float32 +Inf.
// Accuracy: within 2 ulp wherever the result is a normal number.
func Exp32(dst, x []float32) {
	dst = dst[:len(x)]
	if hasAVX512 {
		exp32AVX512(dst, x)
		return
	}
	if hasAVX2 {
		exp32AVX2(dst, x)
		return
	}
	exp32Go(dst, x)
}

// Exp64 is Exp32 for float64.
func Exp64(dst, x []float64) {
	dst = dst[:len(x)]
	if hasAVX512 {
		exp64AVX512(dst, x)
		return
	}
	if hasAVX2 {
		exp64AVX2(dst, x)
		return
	}
	exp64Go(dst, x)
}

// Scale32 sets dst_i = c·x_i. dst may be x.
func Scale32(dst, x []float32, c float32) {
	dst = dst[:len(x)]
	if hasAVX512 {
		scale32AVX512(dst, x, c)
		return
	}
	if hasAVX2 {
		scale32AVX2(dst, x, c)
		return
	}
	scale32Go(dst, x, c)
}

// Scale64 sets dst_i = c·x_i. dst may be x.
func Scale64(dst, x []float64, c float64) {
	dst = dst[:len(x)]
	if hasAVX512 {
		scale64AVX512(dst, x, c)
		return
	}
	if hasAVX2 {
		scale64AVX2(dst, x, c)
		return
	}
	scale64Go(dst, x, c)
}

// ShiftScale32 sets dst_i = (x_i − m)·s − c, each operation rounded in
// float32. dst may be x.
func ShiftScale32(dst, x []float32, m, s, c float32) {
	dst = dst[:len(x)]
	if hasAVX512 {
		shiftScale32AVX512(dst, x, m, s, c)
		return
	}
	if hasAVX2 {
		shiftScale32AVX2(dst, x, m, s, c)
		return
	}
	shiftScale32Go(dst, x, m, s, c)
}

// ShiftScale64 is ShiftScale32 for float64.
func ShiftScale64(dst, x []float64, m, s, c float64) {
	dst = dst[:len(x)]
	if hasAVX512 {
		shiftScale64AVX512(dst, x, m, s, c)
		return
	}
	if hasAVX2 {
		shiftScale64AVX2(dst, x, m, s, c)
		return
	}
	shiftScale64Go(dst, x, m, s, c)
}

// Accelerated reports whether the assembly kernels are in use, and which.
func Accelerated() string {
	if hasAVX512 {
		return "avx512"
	}
	if hasAVX2 {
		return "avx2+fma"
	}
	return "generic"
}
