//go:build !purego

package vek

// extExpSum32AVX2 runs pass 1 of the two-pass softmax over x (len ≥ 1) and
// stores the eight per-lane states: Σ over lane i = m[i]·2^e[i]. A NaN or
// +Inf input makes some m[i] NaN; an entry above TwoPassLimit makes some
// e[i] larger than twoPassMaxE.
//
//go:noescape
func extExpSum32AVX2(x []float32, m *[8]float64, e *[8]float32)

// extExpScale32AVX2 is pass 2: dst_i = c·p_i·2^(n_i − e).
//
//go:noescape
func extExpScale32AVX2(dst, x []float32, e, c float32)

// extExpSumStore32AVX2 is extExpSum32AVX2 that also writes each element's
// mantissa relative to its group's reference exponent into dst, and the
// references (eight per group) at refs.
//
//go:noescape
func extExpSumStore32AVX2(dst, x []float32, m *[8]float64, e *[8]float32, refs *float32)

// extRescale32AVX2 multiplies dst_i by c·2^(r − e), r the reference of
// i's group and lane.
//
//go:noescape
func extRescale32AVX2(dst []float32, refs *float32, e, c float32)

// The AVX-512 twins (twopass_avx512_amd64.s). extExpSum32AVX512,
// extExpSumStore32AVX512 and extRescale32AVX512 take whole 64-element
// blocks only (len a positive multiple of 64): the callers run the rest
// of a row through the AVX2 kernels, whose layout of groups and
// references continues where the blocks end.

//go:noescape
func extExpSum32AVX512(x []float32, m *[8]float64, e *[8]float32)

//go:noescape
func extExpScale32AVX512(dst, x []float32, e, c float32)

//go:noescape
func extExpSumStore32AVX512(dst, x []float32, m *[8]float64, e *[8]float32, refs *float32)

//go:noescape
func extRescale32AVX512(dst []float32, refs *float32, e, c float32)
