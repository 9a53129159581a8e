//go:build !purego

package metrics

import "golang.org/x/sys/cpu"

// The counting kernels' tier, chosen once at start-up as internal/vek
// chooses its own (GODEBUG=cpu.avx512f=off or cpu.avx2=off step down).
var (
	hasAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasPOPCNT
	hasAVX512 = hasAVX2 && cpu.X86.HasAVX512F
)

func countGT32(x []float32, t float32) int {
	switch {
	case hasAVX512:
		return countGT32AVX512(x, t)
	case hasAVX2:
		return countGT32AVX2(x, t)
	}
	return countGreaterGo(x, t)
}

func countGT64(x []float64, t float64) int {
	switch {
	case hasAVX512:
		return countGT64AVX512(x, t)
	case hasAVX2:
		return countGT64AVX2(x, t)
	}
	return countGreaterGo(x, t)
}
