package vek

import "math"

// The portable twins of the float64 kernels: the same operations in the
// same order as the assembly (fused multiply-adds through math.FMA,
// products kept unfused by explicit conversions) and the same reduction
// shape (lanes64), so that they return the same bits.

// exp64 is the float64 exponential of the kernels: n = round(z·log₂e), r =
// z − n·ln2 in two fused parts, the degree-11 polynomial by fused
// multiply-adds, p·2ⁿ; 0 below expLo64, +Inf above expHi64, NaN for NaN.
func exp64(z float64) float64 {
	if !(z >= expLo64) {
		if z != z {
			return z + z
		}
		return 0
	}
	if z > expHi64 {
		return math.Inf(1)
	}
	t := float64(z*log2e) + shift64
	n := t - shift64
	r := math.FMA(n, -ln2Hi64, z)
	r = math.FMA(n, -ln2Lo64, r)
	p := poly64[11]
	for i := 10; i >= 0; i-- {
		p = math.FMA(p, r, poly64[i])
	}
	return math.Float64frombits(math.Float64bits(p) + uint64(int64(n))<<52)
}

// expZ64 is the kernels' exp((x − m)·s).
func expZ64(x, m, s float64) float64 {
	z := float64(x-m) * s
	if !(z >= expLo64) {
		return 0
	}
	return exp64(z)
}

// lanes64 is the reduction shape of every float64 sum: 16 lanes, element i
// in lane i mod 16; blocks of 64 elements whose four terms per lane are
// added as (v0 + v1) + (v2 + v3) into the lane; at the end the lanes are
// added pairwise, lane l with l+8, l+4, l+2, l+1.
func reduce64Go(n int, f func(i int) float64) float64 {
	var d [16]float64
	for b := 0; b < n; b += 64 {
		var v [64]float64
		for j := range v {
			if b+j < n {
				v[j] = f(b + j)
			}
		}
		for l := 0; l < 16; l++ {
			d[l] += (v[l] + v[16+l]) + (v[32+l] + v[48+l])
		}
	}
	for l := 0; l < 8; l++ {
		d[l] += d[l+8]
	}
	for l := 0; l < 4; l++ {
		d[l] += d[l+4]
	}
	for l := 0; l < 2; l++ {
		d[l] += d[l+2]
	}
	return d[0] + d[1]
}

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
	return reduce64Go(len(x), func(i int) float64 { return x[i] })
}

func expSum64Go(x []float64, m, s float64) float64 {
	return reduce64Go(len(x), func(i int) float64 { return expZ64(x[i], m, s) })
}

func expStoreSum64Go(dst, x []float64, m, s float64) float64 {
	dst = dst[:len(x)]
	return reduce64Go(len(x), func(i int) float64 {
		e := expZ64(x[i], m, s)
		dst[i] = e
		return e
	})
}

func expAffine64Go(dst, x []float64, m, s, a, b float64) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = math.FMA(a, expZ64(v, m, s), -b)
	}
}

func exp64Go(dst, x []float64) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = exp64(v)
	}
}

func scale64Go(dst, x []float64, a float64) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = a * v
	}
}

func shiftScale64Go(dst, x []float64, m, s, b float64) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = float64((v-m)*s) - b
	}
}

func axpy64Go(dst, x []float64, a float64) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = math.FMA(a, v, dst[i])
	}
}
