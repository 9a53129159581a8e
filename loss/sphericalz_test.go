package loss

import (
	"fmt"
	"math"
	"testing"
)

// refSphericalZ z-normalises with E[o²] − μ² (the paper's form; fine in
// float64 at test scales) and applies log(1 + exp(·))/a.
func refSphericalZ(a, b float64) hardRef {
	return func(o []float64, c int) float64 {
		D := float64(len(o))
		var s, s2 float64
		for _, v := range o {
			s += v
			s2 += v * v
		}
		mu := s / D
		sd := math.Sqrt(s2/D - mu*mu)
		zc := (o[c] - mu) / sd
		return math.Log(1+math.Exp(a*(b-zc))) / a
	}
}

func TestSphericalZSuite(t *testing.T) {
	for _, p := range [][2]float64{{1, 1}, {0.1, 10}, {3, -0.5}} {
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			hardSuite{
				build:   func(opts ...Option) (Loss, error) { return NewSphericalZ(p[0], p[1], opts...) },
				ref:     refSphericalZ(p[0], p[1]),
				weights: true, equalUndefined: true,
			}.run(t)
		})
	}
}

// TestSphericalZCatalog: catalog A9's vectors o = [1, 2, 0.5, −1], c = 1,
// recomputed with mpmath (they agree), and the invariance to 2o + 3 and
// to a huge offset and scale.
func TestSphericalZCatalog(t *testing.T) {
	o := []float64{1, 2, 0.5, -1}
	for _, c := range []struct {
		a, b, loss float64
		grad       []float64
	}{
		{1, 1, 0.5671582881, []float64{0.1439509528, -0.138619436, 0.08530426833, -0.0906357851}},
		{0.1, 10, 12.22021393, []float64{0.2345721142, -0.2258842581, 0.1390056973, -0.1476935534}},
	} {
		l, _ := NewSphericalZ(c.a, c.b)
		g := make([]float64, 4)
		v, err := l.Eval64(Input[float64]{Logits: o, Cols: 4, Labels: []int32{1}}, Output[float64]{Grad: g})
		if err != nil {
			t.Fatal(err)
		}
		if !near(v, c.loss, 1e-9) {
			t.Errorf("a %v b %v: loss %.10g, want %.10g", c.a, c.b, v, c.loss)
		}
		checkVec(t, "gradient", g, c.grad, 1e-9)
		for _, aff := range [][2]float64{{2, 3}, {1e3, 1e4}, {0.5, -7}} {
			o2 := make([]float32, 4)
			for k, v := range o {
				o2[k] = float32(aff[0]*v + aff[1])
			}
			v2, err := l.Eval32(Input[float32]{Logits: o2, Cols: 4, Labels: []int32{1}}, Output[float32]{})
			if err != nil || !near(v2, c.loss, 1e-5) {
				t.Errorf("a %v b %v, logits %v·o + %v: loss %v, want %v (%v)", c.a, c.b, aff[0], aff[1], v2, c.loss, err)
			}
		}
	}
	// Equal logits: z = 0, ℓ = softplus(a·b)/a, gradient 0.
	l, _ := NewSphericalZ(1, 1)
	g := []float32{9, 9, 9}
	v, err := l.Eval32(Input[float32]{Logits: []float32{1e4, 1e4, 1e4}, Cols: 3, Labels: []int32{2}}, Output[float32]{Grad: g})
	if err != nil || !near(v, math.Log1p(math.E), 1e-15) || g[0] != 0 || g[2] != 0 {
		t.Errorf("equal logits: %v %v %v", v, g, err)
	}
}
