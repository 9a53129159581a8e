package loss

import (
	"fmt"
	"math"
	"testing"
)

func refPoly1(eps float64) hardRef {
	return func(x []float64, y int) float64 {
		p := refSoftmax(x)
		return -math.Log(p[y]) + eps*(1-p[y])
	}
}

func TestPoly1Suite(t *testing.T) {
	for _, eps := range []float64{-1, 0, 1, 4} {
		t.Run(fmt.Sprint("eps=", eps), func(t *testing.T) {
			hardSuite{
				build:   func(opts ...Option) (Loss, error) { return NewPoly1(eps, opts...) },
				ref:     refPoly1(eps),
				weights: true, masks: true,
			}.run(t)
		})
	}
}

// TestPoly1Vectors: mpmath values (40 digits, numerical derivatives).
func TestPoly1Vectors(t *testing.T) {
	cases := []struct {
		eps  float64
		x    []float64
		loss float64
		grad []float64
	}{
		{1, []float64{1, 2, 0.5}, 2.23314488649, []float64{-0.946535509168, 0.773863273107, 0.172672236061}},
		{2, []float64{1, 2, 0.5}, 3.00192098886, []float64{-1.12429491596, 0.919194827002, 0.205100088957}},
		// A confident row: 1 − p_y ≈ 4e-9.
		{1, []float64{20, 0, 0, -20}, 8.24461447276e-9, []float64{-8.24461444727e-9, 4.12230721939e-9, 4.12230721939e-9, 8.49670845804e-18}},
	}
	for _, c := range cases {
		l, _ := NewPoly1(c.eps)
		g := make([]float64, len(c.x))
		v, err := l.Eval64(Input[float64]{Logits: c.x, Cols: len(c.x), Labels: []int32{0}}, Output[float64]{Grad: g})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(v-c.loss) > 1e-10*c.loss {
			t.Errorf("eps %v: loss %.12g, want %.12g", c.eps, v, c.loss)
		}
		for j := range g {
			if math.Abs(g[j]-c.grad[j]) > 1e-9*math.Abs(c.grad[j]) {
				t.Errorf("eps %v: grad %v, want %v", c.eps, g, c.grad)
				break
			}
		}
		// float32 keeps the confident row's digits too.
		x32 := make([]float32, len(c.x))
		for j, v := range c.x {
			x32[j] = float32(v)
		}
		g32 := make([]float32, len(c.x))
		v32, _ := l.Eval32(Input[float32]{Logits: x32, Cols: len(c.x), Labels: []int32{0}}, Output[float32]{Grad: g32})
		if math.Abs(v32-c.loss) > 1e-5*c.loss {
			t.Errorf("eps %v: float32 loss %g, want %g", c.eps, v32, c.loss)
		}
		if math.Abs(float64(g32[0])-c.grad[0]) > 1e-5*math.Abs(c.grad[0]) {
			t.Errorf("eps %v: float32 target gradient %g, want %g", c.eps, g32[0], c.grad[0])
		}
	}
	if _, err := NewPoly1(-1.5); err == nil {
		t.Error("epsilon −1.5 accepted")
	}
}
