//go:build !purego

package lab

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// The Adam kernel's tier, chosen once at start-up (GODEBUG=cpu.avx512f=off
// or cpu.avx2=off step down). The kernels use no fused multiply-add, so
// each element is computed with adamGeneric's roundings.
var (
	hasAVX2   = cpu.X86.HasAVX2
	hasAVX512 = hasAVX2 && cpu.X86.HasAVX512F
)

// adamKernel applies one Adam update to p, m, v from g (equal lengths).
func adamKernel(p, g, m, v []float32, k *adamConsts) {
	n := len(p)
	if n == 0 || !hasAVX2 {
		adamGeneric(p, g, m, v, k)
		return
	}
	g, m, v = g[:n], m[:n], v[:n]
	kk := (*[7]float32)(unsafe.Pointer(k))
	if hasAVX512 {
		adamAVX512(&p[0], &g[0], &m[0], &v[0], n, kk)
		return
	}
	adamAVX2(&p[0], &g[0], &m[0], &v[0], n, kk)
}
