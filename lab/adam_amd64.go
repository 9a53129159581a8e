//go:build !purego

package lab

import "golang.org/x/sys/cpu"

// hasAVX2 selects the AVX2 Adam kernel, read once at start-up;
// GODEBUG=cpu.avx2=off or cpu.all=off turn it off.
var hasAVX2 = cpu.X86.HasAVX2

// adamAVX2 runs adamGeneric's update on n elements (a multiple of 8)
// eight at a time. It uses no fused multiply-add, so each element is
// computed with the same roundings as adamGeneric's.
//
//go:noescape
func adamAVX2(p, grad, m, v *float32, n int, k *adamConsts)

// adamKernel applies one Adam update to p, m, v from g (equal lengths).
func adamKernel(p, g, m, v []float32, k *adamConsts) {
	n := len(p)
	if hasAVX2 && n >= 8 {
		g, m, v = g[:n], m[:n], v[:n]
		w := n &^ 7
		adamAVX2(&p[0], &g[0], &m[0], &v[0], w, k)
		p, g, m, v = p[w:], g[w:], m[w:], v[w:]
	}
	adamGeneric(p, g, m, v, k)
}
