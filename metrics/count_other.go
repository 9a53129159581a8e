//go:build purego || !amd64

package metrics

const hasAVX2 = false

func countGT32AVX2(x []float32, t float32) int { panic("unreachable") }
func countGT64AVX2(x []float64, t float64) int { panic("unreachable") }
