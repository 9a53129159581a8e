//go:build purego || !amd64

package vek

func extExpSum32AVX2(x []float32, m *[8]float64, e *[8]float32) { panic("unreachable") }
func extExpScale32AVX2(dst, x []float32, e, c float32)          { panic("unreachable") }

func extExpSumStore32AVX2(dst, x []float32, m *[8]float64, e *[8]float32, refs *float32) {
	panic("unreachable")
}
func extRescale32AVX2(dst []float32, refs *float32, e, c float32) { panic("unreachable") }

func extExpSum32AVX512(x []float32, m *[8]float64, e *[8]float32) { panic("unreachable") }
func extExpScale32AVX512(dst, x []float32, e, c float32)          { panic("unreachable") }

func extExpSumStore32AVX512(dst, x []float32, m *[8]float64, e *[8]float32, refs *float32) {
	panic("unreachable")
}
func extRescale32AVX512(dst []float32, refs *float32, e, c float32) { panic("unreachable") }
