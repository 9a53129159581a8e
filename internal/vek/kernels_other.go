//go:build purego || !amd64

package vek

const (
	hasAVX2   = false
	hasAVX512 = false
)

func expSum64AVX2(x []float64, m, s float64) float64           { panic("unreachable") }
func expStoreSum64AVX2(dst, x []float64, m, s float64) float64 { panic("unreachable") }
func exp64AVX2(dst, x []float64)                               { panic("unreachable") }
func maxNaN64AVX2(x []float64) (float64, bool)                 { panic("unreachable") }
func sum64AVX2(x []float64) float64                            { panic("unreachable") }
func scale64AVX2(dst, x []float64, c float64)                  { panic("unreachable") }
func shiftScale64AVX2(dst, x []float64, m, s, c float64)       { panic("unreachable") }
func expAffine64AVX2(dst, x []float64, m, s, c, b float64)     { panic("unreachable") }
func axpy64AVX2(dst, x []float64, a float64)                   { panic("unreachable") }

func expSum64AVX512(x []float64, m, s float64) float64           { panic("unreachable") }
func expStoreSum64AVX512(dst, x []float64, m, s float64) float64 { panic("unreachable") }
func exp64AVX512(dst, x []float64)                               { panic("unreachable") }
func maxNaN64AVX512(x []float64) (float64, bool)                 { panic("unreachable") }
func sum64AVX512(x []float64) float64                            { panic("unreachable") }
func scale64AVX512(dst, x []float64, c float64)                  { panic("unreachable") }
func shiftScale64AVX512(dst, x []float64, m, s, c float64)       { panic("unreachable") }
func expAffine64AVX512(dst, x []float64, m, s, c, b float64)     { panic("unreachable") }
func axpy64AVX512(dst, x []float64, a float64)                   { panic("unreachable") }
