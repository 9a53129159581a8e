//go:build purego || !amd64

package vek

const (
	hasAVX2   = false
	hasAVX512 = false
)

func expSum32AVX2(x []float32, negm, s float32, pf uintptr) float64           { panic("unreachable") }
func expStoreSum32AVX2(dst, x []float32, negm, s float32, pf uintptr) float64 { panic("unreachable") }
func exp32AVX2(dst, x []float32)                                              { panic("unreachable") }
func maxNaN32AVX2(x []float32) (float32, bool)                                { panic("unreachable") }
func sum32AVX2(x []float32) float64                                           { panic("unreachable") }
func scale32AVX2(dst, x []float32, c float32)                                 { panic("unreachable") }
func shiftScale32AVX2(dst, x []float32, m, s, c float32)                      { panic("unreachable") }
func expSum64AVX2(x []float64, m, s float64) float64                          { panic("unreachable") }
func expStoreSum64AVX2(dst, x []float64, m, s float64) float64                { panic("unreachable") }
func exp64AVX2(dst, x []float64)                                              { panic("unreachable") }
func maxNaN64AVX2(x []float64) (float64, bool)                                { panic("unreachable") }
func sum64AVX2(x []float64) float64                                           { panic("unreachable") }
func scale64AVX2(dst, x []float64, c float64)                                 { panic("unreachable") }
func shiftScale64AVX2(dst, x []float64, m, s, c float64)                      { panic("unreachable") }
func expAffine32AVX2(dst, x []float32, negm, s, c, b float32)                 { panic("unreachable") }
func expAffine64AVX2(dst, x []float64, m, s, c, b float64)                    { panic("unreachable") }
func axpy32AVX2(dst, x []float32, a float32)                                  { panic("unreachable") }
func axpy64AVX2(dst, x []float64, a float64)                                  { panic("unreachable") }

func expSum32AVX512(x []float32, negm, s float32, pf uintptr) float64           { panic("unreachable") }
func expStoreSum32AVX512(dst, x []float32, negm, s float32, pf uintptr) float64 { panic("unreachable") }
func exp32AVX512(dst, x []float32)                                              { panic("unreachable") }
func maxNaN32AVX512(x []float32) (float32, bool)                                { panic("unreachable") }
func sum32AVX512(x []float32) float64                                           { panic("unreachable") }
func scale32AVX512(dst, x []float32, c float32)                                 { panic("unreachable") }
func shiftScale32AVX512(dst, x []float32, m, s, c float32)                      { panic("unreachable") }
func expAffine32AVX512(dst, x []float32, negm, s, c, b float32)                 { panic("unreachable") }
func axpy32AVX512(dst, x []float32, a float32)                                  { panic("unreachable") }
func expSum64AVX512(x []float64, m, s float64) float64                          { panic("unreachable") }
func expStoreSum64AVX512(dst, x []float64, m, s float64) float64                { panic("unreachable") }
func exp64AVX512(dst, x []float64)                                              { panic("unreachable") }
func maxNaN64AVX512(x []float64) (float64, bool)                                { panic("unreachable") }
func sum64AVX512(x []float64) float64                                           { panic("unreachable") }
func scale64AVX512(dst, x []float64, c float64)                                 { panic("unreachable") }
func shiftScale64AVX512(dst, x []float64, m, s, c float64)                      { panic("unreachable") }
func expAffine64AVX512(dst, x []float64, m, s, c, b float64)                    { panic("unreachable") }
func axpy64AVX512(dst, x []float64, a float64)                                  { panic("unreachable") }
