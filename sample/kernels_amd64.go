//go:build !purego

package sample

import "golang.org/x/sys/cpu"

// hasAVX512 selects the AVX-512 kernels (AVX512F and POPCNT);
// GODEBUG=cpu.avx512f=off turns them off, as it does package vek's.
var hasAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasPOPCNT

// The kernels take len(x) ≥ 16 (the wrappers in kernels.go see to it).

//go:noescape
func sum64AVX512(x []float32) float64

//go:noescape
func massAboveAVX512(key, e []float32, thr *[8]float32, out *[8]float64)

//go:noescape
func compressAVX512(key, a []float32, ids []int32, base int32, lo, hi float32, oIds []int32, oKey, oA []float32) int

//go:noescape
func splitAVX512(key, e []float32, ids []int32, base int32, lo, hi float32, out []int32) (n int, total, above float64, nAbove int)

//go:noescape
func sumAboveAVX512(key, e []float32, thr float32) (sum float64, count int)
