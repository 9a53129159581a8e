package metrics

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestCountGreater checks the counting kernels (AVX2 where available)
// against a plain loop, for every length up to 70 and thresholds on,
// between and beyond the values, with ±Inf and signed zeros.
func TestCountGreater(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	specials := []float64{math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1)}
	for n := 0; n <= 70; n++ {
		x64 := make([]float64, n)
		for i := range x64 {
			x64[i] = float64(rng.IntN(9) - 4)
			if rng.IntN(10) == 0 {
				x64[i] = specials[rng.IntN(len(specials))]
			}
		}
		x32 := to32(x64)
		for _, th := range []float64{-5, -4, -0.5, 0, math.Copysign(0, -1), 2, 4, math.Inf(-1), math.Inf(1)} {
			want := 0
			for _, v := range x64 {
				if v > th {
					want++
				}
			}
			if got := countGreater(x64, th); got != want {
				t.Fatalf("float64 n=%d t=%v: %d, want %d", n, th, got, want)
			}
			if got := countGreater(x32, float32(th)); got != want {
				t.Fatalf("float32 n=%d t=%v: %d, want %d", n, th, got, want)
			}
			if got := countGreaterGo(x32, float32(th)); got != want {
				t.Fatalf("portable float32 n=%d t=%v: %d, want %d", n, th, got, want)
			}
		}
	}
}
