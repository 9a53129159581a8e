//go:build purego || !amd64

package gemm

const (
	hasAVX2   = false
	hasAVX512 = false
)

func kern6x16AVX2(k int, a, b, c *float32, ldc int, alpha, beta float32, accum bool, pf *float32) {
	panic("unreachable")
}

func kern12x32AVX512(k int, a0, a1, b0, b1, c *float32, ldc int, alpha, beta float32, accum bool, pf0, pf1 *float32) {
	panic("unreachable")
}

func packB16NAVX2(dst, src *float32, ld, kc, np, stride int) { panic("unreachable") }
func packB16TAVX2(dst, src *float32, ld, kc4 int)            { panic("unreachable") }
func packA6NAVX2(dst, src *float32, ld, kc4 int)             { panic("unreachable") }
func packA6TAVX2(dst, src *float32, ld, kc, np, stride int)  { panic("unreachable") }
