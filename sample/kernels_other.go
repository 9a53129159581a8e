//go:build purego || !amd64

package sample

const hasAVX512 = false

func sum64AVX512(x []float32) float64 { panic("unreachable") }

func massAboveAVX512(key, e []float32, thr *[8]float32, out *[8]float64) { panic("unreachable") }

func compressAVX512(key, a []float32, ids []int32, base int32, lo, hi float32, oIds []int32, oKey, oA []float32) int {
	panic("unreachable")
}

func splitAVX512(key, e []float32, ids []int32, base int32, lo, hi float32, out []int32) (n int, total, above float64, nAbove int) {
	panic("unreachable")
}

func sumAboveAVX512(key, e []float32, thr float32) (sum float64, count int) { panic("unreachable") }
