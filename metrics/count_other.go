//go:build purego || !amd64

package metrics

func countGT32(x []float32, t float32) int { return countGreaterGo(x, t) }
func countGT64(x []float64, t float64) int { return countGreaterGo(x, t) }
