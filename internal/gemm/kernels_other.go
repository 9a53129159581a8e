//go:build purego || !amd64

package gemm

const (
	hasAVX2   = false
	hasAVX512 = false
)

// Stubs of the assembly kernels, never called: the tiers that use them are
// not selected without them.

func gemmColAVX2(kc int, a *float32, sa, tiles, rest int, b, c *float32, ldc int, alpha, beta float32, accum bool, pf *float32, pfLines, pfStride, pfN int) {
	panic("unreachable")
}

func gemmColMaskAVX2(kc int, a *float32, sa, tiles, rest int, b, c *float32, ldc, cols int, alpha, beta float32, accum bool, pf *float32, pfLines, pfStride, pfN int) {
	panic("unreachable")
}

func gemmColAVX512(kc int, a *float32, sa, tiles, rest int, b, c *float32, ldc int, alpha, beta float32, accum bool, pf *float32, pfLines, pfStride, pfN int) {
	panic("unreachable")
}

func gemmColMaskAVX512(kc int, a *float32, sa, tiles, rest int, b, c *float32, ldc, cols int, alpha, beta float32, accum bool, pf *float32, pfLines, pfStride, pfN int) {
	panic("unreachable")
}

func packANAVX2(dst, src *float32, ld, kc int)             { panic("unreachable") }
func packATAVX2(dst, src *float32, ld, kc, np, sdst int)   { panic("unreachable") }
func packBNAVX2(dst, src *float32, ld, kc, np, sdst int)   { panic("unreachable") }
func packBTAVX2(dst, src *float32, ld, kc int)             { panic("unreachable") }
func packANAVX512(dst, src *float32, ld, kc int)           { panic("unreachable") }
func packATAVX512(dst, src *float32, ld, kc, np, sdst int) { panic("unreachable") }
func packBNAVX512(dst, src *float32, ld, kc, np, sdst int) { panic("unreachable") }
func packBTAVX512(dst, src *float32, ld, kc int)           { panic("unreachable") }
