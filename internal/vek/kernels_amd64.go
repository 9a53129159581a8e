//go:build !purego

package vek

import "golang.org/x/sys/cpu"

// hasAVX2 selects the AVX2+FMA kernels. It is read once at start-up;
// GODEBUG=cpu.avx2=off or cpu.all=off turn it off.
var hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasBMI2

// hasAVX512 selects the AVX-512 kernels (AVX512F, with the AVX2 tier
// beneath them for what has no AVX-512 version). GODEBUG=cpu.avx512f=off
// turns it off and leaves the AVX2 tier.
var hasAVX512 = hasAVX2 && cpu.X86.HasAVX512F

//go:noescape
func axpy64AVX2(dst, x []float64, a float64)

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

var (
	avx2Kernels32 = &kernels32{"avx2+fma", maxNaN32AVX2, sum32AVX2, expShiftSum32AVX2, expShiftStore32AVX2,
		expSum32AVX2, expStoreSum32AVX2, expAffine32AVX2, exp32AVX2, scale32AVX2, shiftScale32AVX2,
		axpy32AVX2, step32AVX2}
	avx512Kernels32 = &kernels32{"avx512", maxNaN32AVX512, sum32AVX512, expShiftSum32AVX512, expShiftStore32AVX512,
		expSum32AVX512, expStoreSum32AVX512, expAffine32AVX512, exp32AVX512, scale32AVX512, shiftScale32AVX512,
		axpy32AVX512, step32AVX512}
)

func init() {
	if hasAVX2 {
		k32 = avx2Kernels32
		tiers32 = append(tiers32, avx2Kernels32)
	}
	if hasAVX512 {
		k32 = avx512Kernels32
		tiers32 = append(tiers32, avx512Kernels32)
	}
}
