//go:build !purego

package metrics

import "golang.org/x/sys/cpu"

// hasAVX2 selects the AVX2 counting kernels (GODEBUG=cpu.avx2=off turns
// them off, as it does the vek kernels).
var hasAVX2 = cpu.X86.HasAVX2

//go:noescape
func countGT32AVX2(x []float32, t float32) int

//go:noescape
func countGT64AVX2(x []float64, t float64) int
