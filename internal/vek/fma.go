package vek

import "math"

// fma32 returns a·b + c rounded once to float32, as a fused multiply-add
// instruction does. The product of two float32 values is exact in
// float64, so s = a·b + c rounded to float64 differs from the exact sum
// by less than half an ulp of float64; rounding s to float32 can then
// differ from rounding the exact sum only when s lies exactly halfway
// between two float32 values, and then the sign of the float64 rounding
// error decides.
func fma32(a, b, c float32) float32 {
	p := float64(a) * float64(b) // exact
	s := p + float64(c)
	bits := math.Float64bits(s)
	exp := bits >> 52 & 0x7ff
	// In float32's normal range a halfway point has the 29 low mantissa
	// bits of s equal to 1000…0; anything else rounds correctly as it is.
	if exp >= 1023-126 && exp <= 1023+127 && bits&(1<<29-1) != 1<<28 {
		return float32(s)
	}
	return fma32Slow(p, c, s)
}

// fma32Slow rounds the exact p + c (s its float64 rounding) to float32
// when s may lie halfway between two float32 values.
func fma32Slow(p float64, c float32, s float64) float32 {
	r := float32(s)
	if float64(r) == s || math.IsInf(s, 0) || s != s {
		return r
	}
	// r is the float32 nearest to s; its other neighbour around s:
	var o float32
	if float64(r) < s {
		o = math.Nextafter32(r, float32(math.Inf(1)))
	} else {
		o = math.Nextafter32(r, float32(math.Inf(-1)))
	}
	if 2*s != float64(r)+float64(o) {
		return r // not a tie: the float64 rounding cannot cross it
	}
	// A tie in float64: the exact sum is s + e (Knuth's two-sum).
	bb := s - p
	e := (p - (s - bb)) + (float64(c) - bb)
	switch {
	case e > 0:
		return max(r, o)
	case e < 0:
		return min(r, o)
	}
	return r
}

// FMA32 returns a·b + c rounded once to float32, as the kernels' fused
// multiply-adds round it, on every machine (the portable twins of the
// kernels in other packages use it).
func FMA32(a, b, c float32) float32 { return fma32(a, b, c) }
