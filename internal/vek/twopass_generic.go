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

// twoPassGroups calls fn(lo, hi) for the groups of a row of n elements:
// 64-element blocks, then single 8-element vectors, then the tail.
func twoPassGroups(n int, fn func(g, lo, hi int)) {
	g, i := 0, 0
	for ; i+64 <= n; i += 64 {
		fn(g, i, i+64)
		g++
	}
	for ; i+8 <= n; i += 8 {
		fn(g, i, i+8)
		g++
	}
	if i < n {
		fn(g, i, n)
	}
}

// pow2f32 returns 2^d as a float32 for an integral d ≤ 0, 0 below −126.
func pow2f32(d float64) float32 {
	if d < -126 {
		return 0
	}
	return math.Float32frombits(uint32(127+int32(d)) << 23)
}

func extExpSumStore32Go(dst, x, refs []float32) (m, e float64, bad bool) {
	m, e, bad = extExpSum32Go(x)
	_, nClamp := extExp32(-TwoPassLimit)
	twoPassGroups(len(x), func(g, lo, hi int) {
		var ref [8]float64
		for l := range ref {
			ref[l] = nClamp // a lane with no element, or only masked ones
		}
		for k := lo; k < hi; k++ {
			_, n := extExp32(max(x[k], -TwoPassLimit))
			ref[(k-lo)%8] = max(ref[(k-lo)%8], n)
		}
		for l, r := range ref {
			refs[8*g+l] = float32(r)
		}
		for k := lo; k < hi; k++ {
			p, n := extExp32(max(x[k], -TwoPassLimit))
			dst[k] = p * pow2f32(n-ref[(k-lo)%8])
		}
	})
	return m, e, bad
}

func extRescale32Go(dst, refs []float32, e, c float32) {
	twoPassGroups(len(dst), func(g, lo, hi int) {
		for k := lo; k < hi; k++ {
			f := c * pow2f32(float64(refs[8*g+(k-lo)%8])-float64(e))
			dst[k] *= f
		}
	})
}
