package loss

import (
	"fmt"
	"math"
	"testing"
)

func refMultiMargin(p int, m float64) hardRef {
	return func(x []float64, y int) float64 {
		var s float64
		for j := range x {
			if j != y {
				s += math.Pow(math.Max(0, m-x[y]+x[j]), float64(p))
			}
		}
		return s / float64(len(x))
	}
}

func TestMultiMarginSuite(t *testing.T) {
	for _, c := range []struct {
		p int
		m float64
	}{{1, 1}, {2, 1}, {1, 0.25}, {2, 3}} {
		t.Run(fmt.Sprintf("p=%d,margin=%g", c.p, c.m), func(t *testing.T) {
			hardSuite{
				build:         func(opts ...Option) (Loss, error) { return NewMultiMargin(c.p, c.m, opts...) },
				ref:           refMultiMargin(c.p, c.m),
				masks:         true,
				kinks:         true,
				columnWeights: true,
			}.run(t)
		})
	}
}

// TestMultiMarginPyTorch: PyTorch 1.13's values with class weights
// (applied after the power) and its mean over rows; a tie at the hinge
// has loss 0 and gradient 0.
func TestMultiMarginPyTorch(t *testing.T) {
	x := []float64{0.1, 0.2, 0.4, 0.8, 0.5, -0.3, 0.2, 0.9}
	y := []int32{3, 0}
	w := []float64{1, 2, 3, 0.5}
	for _, c := range []struct {
		p    int
		rows []float64
		mean float64
	}{{1, []float64{0.1625, 0.575}, 0.36875}, {2, []float64{0.07625, 0.6225}, 0.349375}} {
		l, _ := NewMultiMargin(c.p, 1, WithClassWeights(w))
		rows := make([]float64, 2)
		v, err := l.Eval64(Input[float64]{Logits: x, Cols: 4, Labels: y}, Output[float64]{Rows: rows})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(v-c.mean) > 1e-15 || math.Abs(rows[0]-c.rows[0]) > 1e-15 || math.Abs(rows[1]-c.rows[1]) > 1e-15 {
			t.Errorf("p=%d: mean %v rows %v, PyTorch %v %v", c.p, v, rows, c.mean, c.rows)
		}
	}
	l, _ := NewMultiMargin(1, 1)
	g := make([]float64, 2)
	v, _ := l.Eval64(Input[float64]{Logits: []float64{0, 1}, Cols: 2, Labels: []int32{1}}, Output[float64]{Grad: g})
	if v != 0 || g[0] != 0 || g[1] != 0 {
		t.Errorf("tie at the hinge: loss %v, grad %v", v, g)
	}
	// p = 1 without weights is hinge-ww divided by the classes.
	ww, _ := NewHingeWW(1, WithReduction(Sum))
	mm, _ := NewMultiMargin(1, 1, WithReduction(Sum))
	a, _ := ww.Eval64(Input[float64]{Logits: x, Cols: 4, Labels: y}, Output[float64]{})
	b, _ := mm.Eval64(Input[float64]{Logits: x, Cols: 4, Labels: y}, Output[float64]{})
	if math.Abs(a/4-b) > 1e-15 {
		t.Errorf("hinge-ww/C %v, multi-margin %v", a/4, b)
	}
	for _, bad := range []string{"multi-margin:p=3", "multi-margin:margin=inf"} {
		if _, _, err := Parse(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
