package vek

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

// The degree-11 coefficients c0..c11 of the float64 polynomial.
var (
	poly64 = [12]float64{0.99999999999999999611, 0.9999999999999999997, 0.50000000000000224136,
		0.16666666666666683903, 0.041666666666457425822, 0.0083333333333172421768,
		0.0013888888960322004823, 0.00019841269896204482968, 0.000024801477081854494296,
		2.7557234458834413975e-6, 2.7635686502562534472e-7, 2.5112380558500830537e-8}
)
