package vek

import "math"

// Constants of the exponential. The polynomial coefficients are a minimax fit
// of exp on [−1.02·ln2/2, 1.02·ln2/2] (Chebyshev economisation computed for
// this package); the thresholds are the float32/float64 bounds of the normal
// range, see the package comment.
const (
	log2e   = 1.4426950408889634074
	shift32 = 12582912.0 // 1.5·2²³: adding it rounds to an integer held in the low mantissa bits
	shift64 = 6755399441055744.0
	ln2Hi32 = 0.693145751953125 // 0x3f317200: few bits, so n·ln2Hi32 is exact
	ln2Lo32 = 1.428606765330187045e-06
	ln2Hi64 = 0.693147180369123816490 // 0x3fe62e42fee00000
	ln2Lo64 = 1.90821492927058770002e-10

	// expLo32 is the smallest float32 z with exp(z) ≥ 2⁻¹²⁶; below it the
	// result is 0.
	expLo32 = -87.33654022216796875
	// expHi32 is the largest float32 below 128·ln2; above it the result is +Inf.
	expHi32 = 88.72283172607421875
	// expLo64 is the smallest float64 z with exp(z) ≥ 2⁻¹⁰²².
	expLo64 = -708.3964185322641
	// expHi64 is the largest float64 below 1024·ln2.
	expHi64 = 709.7827128933839
)

// The degree-11 coefficients c0..c11 of the float64 polynomial. (The
// float32 assembly uses a degree-6 fit with c0 = c1 = 1, c2 = 0.5000000053,
// c3 = 0.16666394782, c4 = 0.041666327002, c5 = 0.0083768185025,
// c6 = 0.0013943221767; the portable float32 code evaluates in float64.)
var (
	poly64 = [12]float64{0.99999999999999999611, 0.9999999999999999997, 0.50000000000000224136,
		0.16666666666666683903, 0.041666666666457425822, 0.0083333333333172421768,
		0.0013888888960322004823, 0.00019841269896204482968, 0.000024801477081854494296,
		2.7557234458834413975e-6, 2.7635686502562534472e-7, 2.5112380558500830537e-8}
)

// exp64 is the scalar form of the float64 exponential the assembly kernels
// evaluate: same reduction, same polynomial, same thresholds.
func exp64(z float64) float64 {
	if !(z >= expLo64) {
		if z != z {
			return z
		}
		return 0
	}
	if z > expHi64 {
		return math.Inf(1)
	}
	// Plain multiply-adds: the compiler may fuse them where the machine has
	// FMA; either way the result is within the documented bound. (An
	// explicit math.FMA would fall back to a slow software FMA on CPUs
	// without one, exactly where this portable code runs.)
	t := z*log2e + shift64
	n := t - shift64
	r := z - n*ln2Hi64 // exact: ln2Hi64 has 32 significant bits, |n| < 2¹¹
	r -= n * ln2Lo64
	p := poly64[11]
	for i := 10; i >= 0; i-- {
		p = p*r + poly64[i]
	}
	return math.Float64frombits(math.Float64bits(p) + math.Float64bits(t)<<52)
}

// exp32 evaluates the float32 exponential of z, given in float64 so that the
// argument carries no rounding: the result is the float64 exponential
// rounded to float32, flushed to zero below expLo32.
func maxNaN64Go(x []float64) (float64, bool) {
	m := math.Inf(-1)
	nan := false
	for _, v := range x {
		if v > m {
			m = v
		} else if v != v {
			nan = true
		}
	}
	return m, nan
}

func sum64Go(x []float64) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i]
		s1 += x[i+1]
		s2 += x[i+2]
		s3 += x[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func expSum64Go(x []float64, m, s float64) float64 {
	var acc float64
	for _, v := range x {
		acc += exp64((v - m) * s)
	}
	return acc
}

func expAffine64Go(dst, x []float64, m, s, c, b float64) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = math.FMA(c, exp64((v-m)*s), -b)
	}
}

func axpy64Go(dst, x []float64, a float64) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = math.FMA(a, v, dst[i])
	}
}

func expStoreSum64Go(dst, x []float64, m, s float64) float64 {
	dst = dst[:len(x)]
	var acc float64
	for i, v := range x {
		e := exp64((v - m) * s)
		dst[i] = e
		acc += e
	}
	return acc
}

func scale64Go(dst, x []float64, c float64) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = c * v
	}
}

func shiftScale64Go(dst, x []float64, m, s, c float64) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = float64((v-m)*s) - c
	}
}

func exp64Go(dst, x []float64) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = exp64(v)
	}
}
