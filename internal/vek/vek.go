package vek

import "math"

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
	return k32.name
}
