//go:build !purego

package vek

import "golang.org/x/sys/cpu"

// hasAVX2 selects the AVX2+FMA kernels. It is read once at start-up;
// GODEBUG=cpu.avx2=off or cpu.all=off turn it off.
var hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// hasAVX512 selects the AVX-512 kernels (AVX512F, with the AVX2 tier
// beneath them for what has no AVX-512 version). GODEBUG=cpu.avx512f=off
// turns it off and leaves the AVX2 tier.
var hasAVX512 = hasAVX2 && cpu.X86.HasAVX512F

//go:noescape
func expSum32AVX2(x []float32, negm, s float32, pf uintptr) float64

//go:noescape
func expAffine32AVX2(dst, x []float32, negm, s, c, b float32)

//go:noescape
func axpy32AVX2(dst, x []float32, a float32)

//go:noescape
func axpy64AVX2(dst, x []float64, a float64)

//go:noescape
func expStoreSum32AVX2(dst, x []float32, negm, s float32, pf uintptr) float64

//go:noescape
func exp32AVX2(dst, x []float32)

//go:noescape
func maxNaN32AVX2(x []float32) (m float32, nan bool)

//go:noescape
func sum32AVX2(x []float32) float64

//go:noescape
func scale32AVX2(dst, x []float32, c float32)

//go:noescape
func shiftScale32AVX2(dst, x []float32, m, s, c float32)

//go:noescape
func expSum64AVX2(x []float64, m, s float64) float64

//go:noescape
func expAffine64AVX2(dst, x []float64, m, s, c, b float64)

//go:noescape
func expStoreSum64AVX2(dst, x []float64, m, s float64) float64

//go:noescape
func exp64AVX2(dst, x []float64)

//go:noescape
func maxNaN64AVX2(x []float64) (m float64, nan bool)

//go:noescape
func sum64AVX2(x []float64) float64

//go:noescape
func scale64AVX2(dst, x []float64, c float64)

//go:noescape
func shiftScale64AVX2(dst, x []float64, m, s, c float64)
