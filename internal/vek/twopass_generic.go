package vek

import "math"

// Portable twins of the two-pass kernels. The float32 ones repeat the
// assembly operation for operation (the 16 lane states, the blocks, fused
// multiply-adds through fma32), so they return its bits; the float64 ones
// have no assembly and accumulate in float64 directly.

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

func ldexp(v, d float64) float64 {
	switch {
	case d >= -1022:
		return v * math.Float64frombits(uint64(1023+int64(d))<<52)
	case d < -2000:
		return 0
	}
	return math.Ldexp(v, int(d))
}

// The float32 constants of the two-pass exponential.
var (
	tpNln2hi32 = math.Float32frombits(0xbf317218)
	tpNln2lo32 = math.Float32frombits(0x3102e308)
)

// tpExp32 returns (p, n) with exp(max(x, −TwoPassLimit)) ≈ p·2ⁿ, as the
// kernels compute them (a NaN x gives NaN).
func tpExp32(x float32) (p, n float32) {
	if x == x {
		x = max(x, -TwoPassLimit)
	}
	t := fma32(x, f32log2e, f32shift)
	n = t - f32shift
	r := fma32(n, tpNln2hi32, x)
	r = fma32(n, tpNln2lo32, r)
	return poly5(r), n
}

// tpPow2 returns 2^d for an integral d ≤ 0, 0 below −126 (and for NaN).
func tpPow2(d float32) float32 {
	if !(d >= -126) {
		return 0
	}
	return math.Float32frombits(uint32(int32(d)+127) << 23)
}

// maxNaNFirst is the kernels' VMAXPS(a, b): the larger, or a when either
// is NaN.
func maxNaNFirst(a, b float32) float32 {
	if a != a || b != b || a >= b {
		return a
	}
	return b
}

// extPass1Go is pass 1 over x into the 16 lane states; with dst and refs
// it is the stored form.
func extPass1Go(dst, x, refs []float32, lm *[16]float64, le *[16]float32) {
	for l := range le {
		le[l] = float32(math.Inf(-1))
		lm[l] = 0
	}
	ninf := float32(math.Inf(-1))
	for b, blk := 0, 0; b < len(x); b, blk = b+64, blk+1 {
		for l := 0; l < 16; l++ {
			var p, n, u [4]float32
			for g := 0; g < 4; g++ {
				v := ninf
				if i := b + 16*g + l; i < len(x) {
					v = x[i]
				}
				p[g], n[g] = tpExp32(v)
			}
			eb := maxNaNFirst(maxNaNFirst(n[1], n[0]), maxNaNFirst(n[3], n[2]))
			for g := 0; g < 4; g++ {
				u[g] = p[g] * tpPow2(n[g]-eb)
				if i := b + 16*g + l; dst != nil && i < len(x) {
					dst[i] = u[g]
				}
			}
			mb := (u[0] + u[1]) + (u[2] + u[3])
			if refs != nil {
				refs[16*blk+l] = eb
			}
			e2 := maxNaNFirst(eb, le[l])
			wold, wnew := tpPow2(le[l]-e2), tpPow2(eb-e2)
			le[l] = e2
			lm[l] = math.FMA(lm[l], float64(wold), float64(mb*wnew))
		}
	}
}

func extExpScale32Go(dst, x []float32, e, c float32) {
	for i, v := range x {
		p, n := tpExp32(v)
		dst[i] = c * (p * tpPow2(n-e))
	}
}

func extRescale32Go(dst, refs []float32, e, c float32) {
	for i := range dst {
		f := c * tpPow2(refs[16*(i/64)+i%16]-e)
		dst[i] *= f
	}
}
