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
