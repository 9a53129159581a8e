package loss

import (
	"math"
	"testing"
)

// refSparsemaxLoss is the paper's form −z_y + ½Σ_{j∈S}(z_j² − τ²) + ½ with
// τ found by bisection (fine at the random tests' scales).
func refSparsemaxLoss(x []float64, y int) float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = max(m, v)
	}
	lo, hi := m-1, m
	for it := 0; it < 200; it++ {
		mid := (lo + hi) / 2
		var s float64
		for _, v := range x {
			s += max(v-mid, 0)
		}
		if s > 1 {
			lo = mid
		} else {
			hi = mid
		}
	}
	tau := (lo + hi) / 2
	l := -x[y] + 0.5
	for _, v := range x {
		if v > tau {
			l += 0.5 * (v*v - tau*tau)
		}
	}
	return l
}

func TestSparsemaxLossSuite(t *testing.T) {
	hardSuite{
		build:   func(opts ...Option) (Loss, error) { return NewSparsemaxLoss(opts...) },
		ref:     refSparsemaxLoss,
		weights: true, masks: true, kinks: true, scale: 0.7,
	}.run(t)
}

// TestSparsemaxLossVectors: hand-computed rows. z = [1, 0.5, −1]: τ = 0.25,
// p = [0.75, 0.25, 0]; y = 1: ℓ = −0.5 + ½(1 + 0.25 − 2·0.0625) + ½ =
// 0.5625, gradient p − e_1 = [0.75, −0.75, 0]; y = 0: ℓ = 0.0625.
// A clear winner (gap ≥ 1) has ℓ = 0 and gradient 0, at any offset.
func TestSparsemaxLossVectors(t *testing.T) {
	l, _ := NewSparsemaxLoss()
	for _, c := range []struct {
		x    []float64
		y    int32
		loss float64
		grad []float64
	}{
		{[]float64{1, 0.5, -1}, 1, 0.5625, []float64{0.75, -0.75, 0}},
		{[]float64{1, 0.5, -1}, 0, 0.0625, []float64{-0.25, 0.25, 0}},
		{[]float64{1e4 + 1, 1e4 + 0.5, 1e4 - 1}, 1, 0.5625, []float64{0.75, -0.75, 0}},
		{[]float64{1e4, -1e4, 1e4 - 1}, 0, 0, []float64{0, 0, 0}},
		{[]float64{0, 0, 0, 0}, 2, 0.375, []float64{0.25, 0.25, -0.75, 0.25}},
		{[]float64{5}, 0, 0, []float64{0}},
	} {
		g := make([]float64, len(c.x))
		v, err := l.Eval64(Input[float64]{Logits: c.x, Cols: len(c.x), Labels: []int32{c.y}}, Output[float64]{Grad: g})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(v-c.loss) > 1e-15 {
			t.Errorf("%v y %d: loss %v, want %v", c.x, c.y, v, c.loss)
		}
		checkVec(t, "gradient", g, c.grad, 1e-15)
	}
	// Nearly right: z = [0, −(1 − 2δ)] gives τ = −1 + δ, p = [1 − δ, δ]
	// and ℓ = δ·(−1 + 2δ) + ½(1 − (1−δ)² − δ²) = δ², which keeps its
	// digits (the cancellation of the ±δ terms costs about 1e-10 of δ²).
	d := 1e-6
	x := []float64{0, -(1 - 2*d)}
	v, _ := l.Eval64(Input[float64]{Logits: x, Cols: 2, Labels: []int32{0}}, Output[float64]{})
	if math.Abs(v-d*d) > 1e-9*d*d {
		t.Errorf("nearly right: %g, want %g", v, d*d)
	}
}
