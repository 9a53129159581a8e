package main

import (
	"math"

	"github.com/xentlab/xent/internal/par"
)

// scalarExp32 is e^x in float32 as a good scalar Go program writes it:
// n = round(x·log₂e) (branch-free), r = x − n·ln2 in two parts (Cody and Waite), a
// degree-6 polynomial for e^r on |r| ≤ ln2/2 (Cephes' expf coefficients),
// and 2ⁿ put into the exponent bits. Relative error ≤ 2 ulp (checked
// against math.Exp in the tests) for x in [−87.3, 88.7]; below that the
// result is 0 (the subnormal range is flushed), above +Inf, NaN stays
// NaN. It is the baseline of xent bench softmax, logsoftmax and lse.
func scalarExp32(x float32) float32 {
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375
		ln2lo = -2.12194440e-4
		lo    = -87.33654 // e^lo ≈ 2⁻¹²⁶, the smallest normal float32
		hi    = 88.72283
	)
	switch {
	case x != x:
		return x
	case x < lo:
		return 0
	case x > hi:
		return float32(math.Inf(1))
	}
	// Round x·log₂e to the nearest integer without a branch: adding
	// 1.5·2²³ leaves no bits for the fraction.
	const round = 12582912
	n := x*log2e + round
	n -= round
	r := x - n*ln2hi - n*ln2lo
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	e := p*r*r + r + 1
	k := int32(n)
	if k > 127 { // x just below hi: 2ⁿ overflows, e < 1 brings it back
		return e * 2 * math.Float32frombits(uint32(k-1+127)<<23)
	}
	if k < -126 {
		return e * 0.5 * math.Float32frombits(uint32(k+1+127)<<23)
	}
	return e * math.Float32frombits(uint32(k+127)<<23)
}

// scalarRowwise is the default baseline of the row-wise benches: float32
// throughout, one exponential per element, max-shifted, parallel over
// rows like ours. Softmax: pass 1 the maximum m, pass 2 e = exp(x − m)
// written to dst and summed, pass 3 dst·(1/Σ). Log-softmax: the maximum,
// Σ exp(x − m), then x − m − log Σ. Log-sum-exp: m + log Σ exp(x − m).
func scalarRowwise(op string, dst, x []float32, cols, threads int) {
	rows := len(x) / cols
	par.For(rows, max(1, 32768/cols), threads, func(_, lo, hi int) {
		for r := lo; r < hi; r++ {
			row := x[r*cols : (r+1)*cols]
			m := float32(math.Inf(-1))
			for _, v := range row {
				m = max(m, v)
			}
			if math.IsInf(float64(m), -1) { // an all-masked row
				m = 0
			}
			var s float32
			switch op {
			case "softmax":
				out := dst[r*cols : (r+1)*cols]
				for i, v := range row {
					e := scalarExp32(v - m)
					out[i] = e
					s += e
				}
				inv := 1 / s
				for i := range out {
					out[i] *= inv
				}
			case "logsoftmax":
				for _, v := range row {
					s += scalarExp32(v - m)
				}
				ls := m + float32(math.Log(float64(s)))
				out := dst[r*cols : (r+1)*cols]
				for i, v := range row {
					out[i] = v - ls
				}
			default:
				for _, v := range row {
					s += scalarExp32(v - m)
				}
				dst[r] = m + float32(math.Log(float64(s)))
			}
		}
	})
}
