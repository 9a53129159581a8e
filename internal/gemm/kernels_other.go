//go:build purego || !amd64

package gemm

const hasAVX2 = false

func kern6x16AVX2(k int, a, b, c *float32, ldc int, alpha, beta float32, accum bool) {
	panic("unreachable")
}
