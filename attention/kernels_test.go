package attention

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSoftcapRow: within 5 ulp of c·tanh(x/c), odd, ±Inf to ±c, and
// tanh itself when asked.
func TestSoftcapRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	c := float32(30)
	x := []float32{0, 1e-30, -1e-30, float32(math.Inf(1)), float32(math.Inf(-1)), 7.5, -7.5, 1e6}
	for range 2000 {
		x = append(x, float32(rng.NormFloat64()*40))
	}
	y, th, tmp := append([]float32(nil), x...), make([]float32, len(x)), make([]float32, len(x))
	softcapRow(y, tmp, c, th)
	for i, v := range x {
		want := float64(c) * math.Tanh(float64(v)/float64(c))
		if math.Abs(float64(y[i])-want) > 5*math.Abs(want)*0x1p-24 {
			t.Fatalf("softcap(%v) = %v, want %v", v, y[i], want)
		}
		if wt := math.Tanh(float64(v) / float64(c)); math.Abs(float64(th[i])-wt) > 5*math.Abs(wt)*0x1p-24 {
			t.Fatalf("tanh(%v/c) = %v, want %v", v, th[i], wt)
		}
	}
}
