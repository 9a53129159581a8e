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

var (
	avx2Kernels32 = &kernels32{"avx2+fma", maxNaN32AVX2, sum32AVX2, expShiftSum32AVX2, expShiftStore32AVX2,
		expSum32AVX2, expStoreSum32AVX2, expAffine32AVX2, exp32AVX2, sigmoidSum32AVX2, scale32AVX2, shiftScale32AVX2,
		axpy32AVX2, dots4AVX2, axpy2AVX2, step32AVX2, storeFenceAVX2}
	avx512Kernels32 = &kernels32{"avx512", maxNaN32AVX512, sum32AVX512, expShiftSum32AVX512, expShiftStore32AVX512,
		expSum32AVX512, expStoreSum32AVX512, expAffine32AVX512, exp32AVX512, sigmoidSum32AVX512, scale32AVX512, shiftScale32AVX512,
		axpy32AVX512, dots4AVX512, axpy2AVX512, step32AVX512, storeFenceAVX512}
)

var (
	avx2Kernels64 = &kernels64{"avx2+fma", maxNaN64AVX2, sum64AVX2, expSum64AVX2, expStoreSum64AVX2,
		expAffine64AVX2, exp64AVX2, scale64AVX2, shiftScale64AVX2, axpy64AVX2}
	avx512Kernels64 = &kernels64{"avx512", maxNaN64AVX512, sum64AVX512, expSum64AVX512, expStoreSum64AVX512,
		expAffine64AVX512, exp64AVX512, scale64AVX512, shiftScale64AVX512, axpy64AVX512}
)

var (
	avx2TP   = &kernelsTP{"avx2+fma", extExpSum32AVX2, extExpSumStore32AVX2, extExpScale32AVX2, extRescale32AVX2}
	avx512TP = &kernelsTP{"avx512", extExpSum32AVX512, extExpSumStore32AVX512, extExpScale32AVX512, extRescale32AVX512}
)

func init() {
	if hasAVX2 {
		kTP = avx2TP
		tiersTP = append(tiersTP, avx2TP)
	}
	if hasAVX512 {
		kTP = avx512TP
		tiersTP = append(tiersTP, avx512TP)
	}
	if hasAVX2 {
		k32, k64 = avx2Kernels32, avx2Kernels64
		tiers32 = append(tiers32, avx2Kernels32)
		tiers64 = append(tiers64, avx2Kernels64)
	}
	if hasAVX512 {
		k32, k64 = avx512Kernels32, avx512Kernels64
		tiers32 = append(tiers32, avx512Kernels32)
		tiers64 = append(tiers64, avx512Kernels64)
	}
}
