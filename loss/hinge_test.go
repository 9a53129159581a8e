package loss

import (
	"fmt"
	"math"
	"testing"
)

func refHingeCS(margin float64) hardRef {
	return func(x []float64, y int) float64 {
		var l float64
		for j, v := range x {
			if j != y {
				l = max(l, margin+v-x[y])
			}
		}
		return l
	}
}

func refHingeWW(margin float64) hardRef {
	return func(x []float64, y int) float64 {
		var l float64
		for j, v := range x {
			if j != y {
				l += max(0, margin+v-x[y])
			}
		}
		return l
	}
}

func TestHingeSuites(t *testing.T) {
	for _, margin := range []float64{0, 1, 2.5} {
		t.Run(fmt.Sprint("cs/margin=", margin), func(t *testing.T) {
			hardSuite{
				build:   func(opts ...Option) (Loss, error) { return NewHingeCS(margin, opts...) },
				ref:     refHingeCS(margin),
				weights: true, masks: true, kinks: true,
			}.run(t)
		})
		t.Run(fmt.Sprint("ww/margin=", margin), func(t *testing.T) {
			hardSuite{
				build:   func(opts ...Option) (Loss, error) { return NewHingeWW(margin, opts...) },
				ref:     refHingeWW(margin),
				weights: true, masks: true, kinks: true,
			}.run(t)
		})
	}
}

// TestHingeVectors: hand-computed rows, ties and rows exactly at the
// hinge (the subgradient choices of the doc comments).
func TestHingeVectors(t *testing.T) {
	cases := []struct {
		name   string
		cs     bool
		margin float64
		x      []float64
		y      int32
		loss   float64
		grad   []float64
	}{
		{"cs", true, 1, []float64{1, 2, 0.5}, 0, 2, []float64{-1, 1, 0}},
		{"ww", false, 1, []float64{1, 2, 0.5}, 0, 2.5, []float64{-2, 1, 1}},
		{"cs tie: first competitor", true, 1, []float64{0, 1, 1}, 0, 2, []float64{-1, 1, 0}},
		{"ww tie", false, 1, []float64{0, 1, 1}, 0, 4, []float64{-2, 1, 1}},
		{"cs at the hinge", true, 0.5, []float64{1, 0.5, 0}, 0, 0, []float64{0, 0, 0}},
		{"ww at the hinge", false, 0.5, []float64{1, 0, 0.5}, 0, 0, []float64{0, 0, 0}},
		{"cs satisfied", true, 1, []float64{5, 0, 1}, 0, 0, []float64{0, 0, 0}},
		{"cs one class", true, 1, []float64{3}, 0, 0, []float64{0}},
		{"ww one class", false, 1, []float64{3}, 0, 0, []float64{0}},
		{"cs huge", true, 1, []float64{1e4, -1e4, 1e4 + 0.5}, 1, 2e4 + 1.5, []float64{0, -1, 1}},
		{"ww huge", false, 1, []float64{1e4, -1e4, 1e4 + 0.5}, 1, 4e4 + 2.5, []float64{1, -2, 1}},
		{"cs all masked", true, 1, []float64{math.Inf(-1), 2, math.Inf(-1)}, 1, 0, []float64{0, 0, 0}},
	}
	for _, c := range cases {
		var l Loss
		if c.cs {
			l, _ = NewHingeCS(c.margin)
		} else {
			l, _ = NewHingeWW(c.margin)
		}
		g := make([]float64, len(c.x))
		v, err := l.Eval64(Input[float64]{Logits: c.x, Cols: len(c.x), Labels: []int32{c.y}}, Output[float64]{Grad: g})
		if err != nil {
			t.Fatal(c.name, err)
		}
		if v != c.loss {
			t.Errorf("%s: loss %v, want %v", c.name, v, c.loss)
		}
		checkVec(t, c.name, g, c.grad, 0)
	}
	for _, bad := range []float64{-1, math.NaN()} {
		if _, err := NewHingeCS(bad); err == nil {
			t.Errorf("margin %v accepted", bad)
		}
		if _, err := NewHingeWW(bad); err == nil {
			t.Errorf("margin %v accepted", bad)
		}
	}
}
