package loss

import (
	"fmt"
	"math"
	"testing"
)

// refSigmoidFocal is torchvision's definition, written directly.
func refSigmoidFocal(alpha, gamma float64) func(x, y float64) float64 {
	return func(x, y float64) float64 {
		p := 1 / (1 + math.Exp(-x))
		ce := -y*math.Log(p) - (1-y)*math.Log(1-p)
		pt := p*y + (1-p)*(1-y)
		l := ce * math.Pow(1-pt, gamma)
		if alpha >= 0 {
			l *= alpha*y + (1-alpha)*(1-y)
		}
		return l
	}
}

func TestSigmoidFocalSuite(t *testing.T) {
	for _, c := range []struct{ alpha, gamma float64 }{{0.25, 2}, {-1, 2}, {0.5, 0}, {0.75, 0.5}, {0.25, 5}} {
		t.Run(fmt.Sprintf("alpha=%g,gamma=%g", c.alpha, c.gamma), func(t *testing.T) {
			elemSuite{
				build:     func(opts ...Option) (Loss, error) { return NewSigmoidFocal(c.alpha, c.gamma, opts...) },
				ref:       refSigmoidFocal(c.alpha, c.gamma),
				target:    softTarget,
				badTarget: 1.5,
			}.run(t)
		})
	}
}

// TestSigmoidFocalStable: logits where 1 − p_t rounds to 0 or 1 in the
// textbook form keep their exact values; ±1e4 stay finite.
func TestSigmoidFocalStable(t *testing.T) {
	l, _ := NewSigmoidFocal(0.25, 2, WithReduction(None))
	s40 := 1 / (1 + math.Exp(40)) // σ(−40), correctly rounded from e^40
	cases := []struct {
		x, y, loss, grad float64
	}{
		// Confident and right: q = σ(−40), CE = log1p(e^−40) ≈ e^−40.
		{40, 1, 0.25 * s40 * s40 * math.Log1p(math.Exp(-40)), 0},
		{-40, 0, 0.75 * s40 * s40 * math.Log1p(math.Exp(-40)), 0},
		// Confident and wrong: q → 1, CE = x.
		{1e4, 0, 0.75 * 1e4, 0.75},
		{-1e4, 1, 0.25 * 1e4, -0.25},
		// Soft target 0.5 at 1e4: q = ½, CE = 5000, α_t = ½.
		{1e4, 0.5, 0.5 * 0.25 * 5000, 0},
		{1e4, 1, 0, 0},
	}
	for _, c := range cases {
		g := make([]float64, 1)
		rows := make([]float64, 1)
		_, err := l.Eval64(Input[float64]{Logits: []float64{c.x}, Cols: 1, Targets: []float64{c.y}}, Output[float64]{Grad: g, Rows: rows})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(rows[0]-c.loss) > 1e-13*math.Abs(c.loss) || c.loss == 0 && rows[0] != 0 {
			t.Errorf("x=%g y=%g: loss %.17g, want %.17g", c.x, c.y, rows[0], c.loss)
		}
		if c.grad != 0 && math.Abs(g[0]-c.grad) > 1e-12 || math.IsNaN(g[0]) {
			t.Errorf("x=%g y=%g: grad %v, want %v", c.x, c.y, g[0], c.grad)
		}
	}
	// The confident element's gradient: d/dx of 0.25·σ(−x)²·log1p(e^−x) at
	// x = 40 is about −0.25·3·e^−120.
	g := make([]float64, 1)
	l.Eval64(Input[float64]{Logits: []float64{40}, Cols: 1, Targets: []float64{1}}, Output[float64]{Grad: g, Rows: make([]float64, 1)})
	if want := -0.75 * math.Exp(-120); math.Abs(g[0]-want) > 1e-6*math.Abs(want) {
		t.Errorf("confident gradient %v, want %v", g[0], want)
	}
	if _, err := NewSigmoidFocal(1.5, 2); err == nil {
		t.Error("alpha 1.5 accepted")
	}
	if _, err := NewSigmoidFocal(0.25, -1); err == nil {
		t.Error("gamma −1 accepted")
	}
}

// TestSigmoidFocalIdentities: γ = 0 without α is bce.
func TestSigmoidFocalIdentities(t *testing.T) {
	x := []float64{-3, -0.5, 0, 0.25, 2, 7}
	y := []float64{0, 1, 0.3, 1, 0, 0.9}
	f, _ := NewSigmoidFocal(-1, 0)
	b, _ := NewBCEWithLogits()
	gf, gb := make([]float64, 6), make([]float64, 6)
	vf, _ := f.Eval64(Input[float64]{Logits: x, Cols: 3, Targets: y}, Output[float64]{Grad: gf})
	vb, _ := b.Eval64(Input[float64]{Logits: x, Cols: 3, Targets: y}, Output[float64]{Grad: gb})
	if math.Abs(vf-vb) > 1e-15 {
		t.Errorf("γ = 0: %v, bce %v", vf, vb)
	}
	for i := range gf {
		if math.Abs(gf[i]-gb[i]) > 1e-16 {
			t.Errorf("γ = 0: grad %v, bce %v", gf, gb)
			break
		}
	}
}
