//go:build !purego

package sample

import "golang.org/x/sys/cpu"

// hasAVX512 selects the AVX-512 kernels (kernels_avx512_amd64.s, from
// internal/asmgen; AVX512F and POPCNT); GODEBUG=cpu.avx512f=off turns
// them off, as it does package vek's. The kernels take len(x) ≥ 16 (the
// wrappers in kernels.go see to it).
var hasAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasPOPCNT
