package loss

import (
	"fmt"
	"math"
	"testing"
)

func refFocal(gamma float64) hardRef {
	return func(x []float64, y int) float64 {
		p := refSoftmax(x)
		return -math.Pow(1-p[y], gamma) * math.Log(p[y])
	}
}

func TestFocalSuite(t *testing.T) {
	for _, gamma := range []float64{0, 0.5, 2, 5} {
		t.Run(fmt.Sprint("gamma=", gamma), func(t *testing.T) {
			hardSuite{
				build:   func(opts ...Option) (Loss, error) { return NewFocal(gamma, opts...) },
				ref:     refFocal(gamma),
				weights: true, masks: true,
			}.run(t)
		})
	}
}

// TestFocalVectors: values and gradients recomputed with mpmath (40
// digits) by differentiating −(1 − p_y)^γ·log p_y numerically.
func TestFocalVectors(t *testing.T) {
	x := []float64{1, 2, 0.5}
	cases := []struct {
		gamma float64
		y     int32
		loss  float64
		grad  []float64
	}{
		{2, 0, 0.865466399905, []float64{-0.854592540168, 0.698693048387, 0.155899491781}},
		{2, 1, 0.0640776372387, []float64{0.0820451656328, -0.13180807407, 0.0497629084375}},
		{0.5, 0, 1.28395676485, []float64{-0.822502693207, 0.672457208567, 0.15004548464}},
		{0.5, 1, 0.283024404786, []float64{0.196291386207, -0.31534813018, 0.119056743972}},
	}
	for _, c := range cases {
		l, _ := NewFocal(c.gamma)
		g := make([]float64, 3)
		v, err := l.Eval64(Input[float64]{Logits: x, Cols: 3, Labels: []int32{c.y}}, Output[float64]{Grad: g})
		if err != nil {
			t.Fatal(err)
		}
		ctx := fmt.Sprintf("gamma %v y %d", c.gamma, c.y)
		if !near(v, c.loss, 1e-10) {
			t.Errorf("%s: loss %.12g, want %.12g", ctx, v, c.loss)
		}
		checkVec(t, ctx, g, c.grad, 1e-10)
	}
}

// TestFocalConfident: at a logit gap of 20, 1 − p_y ≈ 4e-9 is below the
// float32 epsilon; the loss (≈ 7e-26) and every gradient entry keep their
// digits in float32 (mpmath values).
func TestFocalConfident(t *testing.T) {
	l, _ := NewFocal(2)
	x := []float32{20, 0, 0, -20}
	g := make([]float32, 4)
	v, err := l.Eval32(Input[float32]{Logits: x, Cols: 4, Labels: []int32{0}}, Output[float32]{Grad: g})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(v-7.00520855962e-26) > 1e-5*7.00520855962e-26 {
		t.Errorf("loss %g, want 7.00520855962e-26", v)
	}
	want := []float64{-2.10156256067e-25, 1.05078127925e-25, 1.05078127925e-25, 2.16582164012e-34}
	for j := range want {
		if math.Abs(float64(g[j])-want[j]) > 1e-5*math.Abs(want[j]) {
			t.Errorf("grad[%d] = %g, want %g", j, g[j], want[j])
		}
	}
	// γ = 0 is cross-entropy, also for a confident row.
	f0, _ := NewFocal(0)
	ce, _ := NewCrossEntropy()
	g0, gc := make([]float32, 4), make([]float32, 4)
	v0, _ := f0.Eval32(Input[float32]{Logits: x, Cols: 4, Labels: []int32{0}}, Output[float32]{Grad: g0})
	vc, _ := ce.Eval32(Input[float32]{Logits: x, Cols: 4, Labels: []int32{0}}, Output[float32]{Grad: gc})
	if math.Abs(v0-vc) > 1e-6*vc {
		t.Errorf("gamma 0: %g, cross-entropy %g", v0, vc)
	}
	for j := range g0 {
		if math.Abs(float64(g0[j]-gc[j])) > 1e-6*math.Abs(float64(gc[j])) {
			t.Errorf("gamma 0: grad %v, cross-entropy %v", g0, gc)
		}
	}
}

func TestFocalOptions(t *testing.T) {
	for _, bad := range []float64{-1, math.NaN(), math.Inf(1)} {
		if _, err := NewFocal(bad); err == nil {
			t.Errorf("gamma %v accepted", bad)
		}
	}
	l, _, err := Parse("focal:gamma=3")
	if err != nil || l.(*Focal).gamma != 3 {
		t.Fatal(l, err)
	}
}
