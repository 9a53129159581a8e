package attention

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestRecipOnePlus: within one float32 rounding of 1/(1 + x) for x from 0
// to +Inf, including the largest finite float32.
func TestRecipOnePlus(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	x := []float32{0, 1, float32(math.Inf(1)), math.MaxFloat32, 1e-30, 3, float32(math.Inf(1)), 7}
	for range 1000 {
		x = append(x, float32(math.Exp(rng.Float64()*180-90)))
	}
	y := append([]float32(nil), x...)
	recipOnePlus(y)
	for i, v := range x {
		want := 1 / (1 + float64(v))
		if math.Abs(float64(y[i])-want) > max(want*0x1p-24, 0x1p-149) { // subnormals: absolute
			t.Fatalf("1/(1 + %v) = %v, want %v", v, y[i], want)
		}
	}
}

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
