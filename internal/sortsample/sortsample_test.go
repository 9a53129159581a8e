package sortsample_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/xentlab/xent/internal/sortsample"
	"github.com/xentlab/xent/sample"
)

// TestSameDistribution checks that the baseline draws from the same
// final distribution as package sample: over a fine grid of uniforms,
// the share of the grid that gives each token is its probability.
func TestSameDistribution(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const V = 300
	grid := 40000
	if testing.Short() {
		grid = 10000
	}
	for trial := range 6 {
		x := make([]float32, V)
		for i := range x {
			x[i] = float32(r.NormFloat64() * 2)
		}
		hist := []int32{int32(r.IntN(V)), int32(r.IntN(V)), 7, 7}
		p := sortsample.Params{LastN: 64, Repeat: 1.3, Frequency: 0.1, Pres: 0.2, TopK: 40, TopP: 0.9, MinP: 0.02, Temp: 0.8}
		chain := []sample.Stage{sample.Penalties(64, 1.3, 0.1, 0.2), sample.TopK(40), sample.TopP(0.9), sample.MinP(0.02), sample.Temp(0.8)}
		if trial%2 == 1 {
			p = sortsample.Params{TopP: 0.5}
			chain = []sample.Stage{sample.TopP(0.5)}
		}
		s, _ := sample.New(chain, 1)
		want := make([]float32, V)
		if err := s.Probs(want, sample.Input{Logits: x, History: hist}); err != nil {
			t.Fatal(err)
		}
		var b sortsample.Sampler
		got := make([]float64, V)
		for i := range grid {
			got[b.Sample(x, hist, p, (float64(i)+0.5)/float64(grid))]++
		}
		for i := range got {
			if g := got[i] / float64(grid); math.Abs(g-float64(want[i])) > 2/float64(grid)+1e-5 {
				t.Fatalf("trial %d token %d: share %v, probability %v", trial, i, g, want[i])
			}
		}
	}
}
