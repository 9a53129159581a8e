package vek

import "math"

// Portable twins of the two-pass kernels: the same reduction, polynomial
// and domain as the assembly, scalar, with the sum accumulated in float64.

// extExp32 returns (p, n) with exp(x) ≈ p·2ⁿ for −TwoPassLimit ≤ x ≤
// TwoPassLimit: n = round(x·log₂e) (log₂e rounded to float32, as in the
// assembly), t = x − n·ln2 (Cody–Waite, exact products), p = P5(t) rounded
// to float32.
func extExp32(x float32) (float32, float64) {
	n := math.RoundToEven(float64(x) * tpLog2e)
	t := float64(x) - n*tpLn2Hi // exact: n has ≤ 22 bits, tpLn2Hi 17
	t -= n * tpLn2Lo
	p := 1 + t*(tpC1+t*(tpC2+t*(tpC3+t*(tpC4+t*tpC5))))
	return float32(p), n
}

func extExpSum32Go(x []float32) (m, e float64, bad bool) {
	e = math.Inf(-1)
	for _, v := range x {
		if !(v <= TwoPassLimit) {
			bad = true
			continue
		}
		if v < -TwoPassLimit {
			continue // counts as exp(−∞) = 0
		}
		p, n := extExp32(v)
		if n > e {
			m = ldexp(m, e-n)
			e = n
		}
		m += ldexp(float64(p), n-e)
	}
	if m == 0 {
		e = 0
	}
	return m, e, bad
}

func extExpScale32Go(dst, x []float32, e, c float32) {
	for i, v := range x {
		if v < -TwoPassLimit {
			dst[i] = 0
			continue
		}
		p, n := extExp32(v)
		d := n - float64(e)
		if d < -126 {
			dst[i] = 0
			continue
		}
		dst[i] = c * (p * float32(math.Ldexp(1, int(d))))
	}
}

// extExp64 returns (p, n) with exp(x) = p·2ⁿ, p = exp(x − n·ln2).
func extExp64(x float64) (float64, float64) {
	n := math.RoundToEven(x * log2e)
	t := x - n*ln2Hi64
	t -= n * ln2Lo64
	return math.Exp(t), n
}

func extExpSum64Go(x []float64) (m, e float64, bad bool) {
	e = math.Inf(-1)
	for _, v := range x {
		if !(v <= TwoPassLimit) {
			bad = true
			continue
		}
		if v < -TwoPassLimit {
			continue
		}
		p, n := extExp64(v)
		if n > e {
			m = ldexp(m, e-n)
			e = n
		}
		m += ldexp(p, n-e)
	}
	if m == 0 {
		e = 0
	}
	return m, e, bad
}

func extExpScale64Go(dst, x []float64, e, c float64) {
	for i, v := range x {
		if v < -TwoPassLimit {
			dst[i] = 0
			continue
		}
		p, n := extExp64(v)
		d := n - e
		if d < -1022 {
			dst[i] = 0
			continue
		}
		dst[i] = c * p * math.Ldexp(1, int(d))
	}
}

// ldexp returns v·2ᵈ for an integral d ≤ 0 given as a float64 (−Inf and
// very negative d give 0).
func ldexp(v, d float64) float64 {
	switch {
	case d >= -1022:
		return v * math.Float64frombits(uint64(1023+int64(d))<<52)
	case d < -2000:
		return 0
	}
	return math.Ldexp(v, int(d))
}
