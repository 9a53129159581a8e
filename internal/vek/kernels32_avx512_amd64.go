//go:build !purego

package vek

// The float32 kernels of the AVX-512 tier (kernels32_avx512_amd64.s): the
// same contracts as their AVX2 twins, element for element the same bits;
// sums group their terms over 16 lanes.

//go:noescape
func expSum32AVX512(x []float32, negm, s float32, pf uintptr) float64

//go:noescape
func expStoreSum32AVX512(dst, x []float32, negm, s float32, pf uintptr) float64

//go:noescape
func expAffine32AVX512(dst, x []float32, negm, s, c, b float32)

//go:noescape
func exp32AVX512(dst, x []float32)

//go:noescape
func maxNaN32AVX512(x []float32) (m float32, nan bool)

//go:noescape
func sum32AVX512(x []float32) float64

//go:noescape
func scale32AVX512(dst, x []float32, c float32)

//go:noescape
func shiftScale32AVX512(dst, x []float32, m, s, c float32)

//go:noescape
func axpy32AVX512(dst, x []float32, a float32)
