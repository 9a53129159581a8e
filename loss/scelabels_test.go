package loss

import (
	"fmt"
	"math"
	"testing"
)

// sceLabelsRef is ℓ = −α·log p_y − β·A·(1 − p_y) and its gradient
// α·(p − e_y) + β·A·p_y·(e_y − p), in float64 from the definition.
func sceLabelsRef(z []float64, y int, alpha, beta, a float64) (float64, []float64) {
	m := math.Inf(-1)
	for _, v := range z {
		m = math.Max(m, v)
	}
	var s float64
	for _, v := range z {
		s += math.Exp(v - m)
	}
	p := make([]float64, len(z))
	for j, v := range z {
		p[j] = math.Exp(v-m) / s
	}
	lse := m + math.Log(s)
	val := -alpha*(z[y]-lse) - beta*a*(1-p[y])
	g := make([]float64, len(z))
	for j := range z {
		e := 0.0
		if j == y {
			e = 1
		}
		g[j] = alpha*(p[j]-e) + beta*a*p[y]*(e-p[j])
	}
	return val, g
}

func TestSCELabels(t *testing.T) {
	z := []float64{1, 2, 0.5, -3, 0, 40, -20, 0.1, 7, 7, 7, 7}
	labels := []int64{2, 1, 0}
	const cols = 4
	for _, c := range []struct{ alpha, beta, a float64 }{{0.1, 1, -4}, {0.01, 1, -4}, {1, 0, -4}, {0, 1, -2}, {0.3, 0.7, -6}} {
		l, err := NewSCELabels(c.alpha, c.beta, c.a, WithReduction(Sum))
		if err != nil {
			t.Fatal(err)
		}
		g := make([]float64, len(z))
		rowsOut := make([]float64, 3)
		v, err := l.Eval64(Input[float64]{Logits: z, Cols: cols, Labels64: labels}, Output[float64]{Grad: g})
		if err != nil {
			t.Fatal(err)
		}
		var want float64
		for i, y := range labels {
			rv, rg := sceLabelsRef(z[i*cols:(i+1)*cols], int(y), c.alpha, c.beta, c.a)
			want += rv
			rowsOut[i] = rv
			for j := range rg {
				if d := math.Abs(g[i*cols+j] - rg[j]); d > 1e-12*math.Max(1, math.Abs(rg[j])) {
					t.Errorf("%+v: grad[%d][%d] %v, want %v", c, i, j, g[i*cols+j], rg[j])
				}
			}
		}
		if math.Abs(v-want) > 1e-12*math.Max(1, math.Abs(want)) {
			t.Errorf("%+v: loss %v, want %v", c, v, want)
		}
		// Mean over rows, float32 within float32 rounding.
		lm, _ := NewSCELabels(c.alpha, c.beta, c.a)
		z32 := make([]float32, len(z))
		for i, x := range z {
			z32[i] = float32(x)
		}
		v32, err := lm.Eval32(Input[float32]{Logits: z32, Cols: cols, Labels: []int32{2, 1, 0}}, Output[float32]{})
		if err != nil || math.Abs(v32-want/3) > 1e-5*math.Max(1, math.Abs(want/3)) {
			t.Errorf("%+v: float32 mean %v (%v), want %v", c, v32, err, want/3)
		}
	}
}

// TestSCELabelsFiniteDifferences checks the gradient of the mean loss
// against central differences.
func TestSCELabelsFiniteDifferences(t *testing.T) {
	z := []float64{0.3, -1.2, 2, 0.7, 0.1, -0.4, 1.5, 1.4, -2}
	labels := []int32{2, 0, 1}
	l, err := NewSCELabels(0.1, 1, -4)
	if err != nil {
		t.Fatal(err)
	}
	g := make([]float64, len(z))
	if _, err := l.Eval64(Input[float64]{Logits: z, Cols: 3, Labels: labels}, Output[float64]{Grad: g}); err != nil {
		t.Fatal(err)
	}
	const h = 1e-6
	for i := range z {
		zp := append([]float64(nil), z...)
		zm := append([]float64(nil), z...)
		zp[i] += h
		zm[i] -= h
		vp, _ := l.Eval64(Input[float64]{Logits: zp, Cols: 3, Labels: labels}, Output[float64]{})
		vm, _ := l.Eval64(Input[float64]{Logits: zm, Cols: 3, Labels: labels}, Output[float64]{})
		if fd := (vp - vm) / (2 * h); math.Abs(fd-g[i]) > 1e-7 {
			t.Errorf("∂/∂z[%d]: analytic %v, central difference %v", i, g[i], fd)
		}
	}
}

func TestSCELabelsIgnoreAndErrors(t *testing.T) {
	z := []float64{1, 2, 3, 0, 0, 5}
	l, _ := NewSCELabels(0.1, 1, -4)
	g := make([]float64, 6)
	v, err := l.Eval64(Input[float64]{Logits: z, Cols: 3, Labels64: []int64{-100, 1}}, Output[float64]{Grad: g})
	want, wg := sceLabelsRef(z[3:], 1, 0.1, 1, -4)
	if err != nil || math.Abs(v-want) > 1e-12 || g[0] != 0 || g[1] != 0 || g[2] != 0 || math.Abs(g[4]-wg[1]) > 1e-12 {
		t.Errorf("ignored row: %v %v, grad %v; want %v", v, err, g, want)
	}
	for _, c := range []struct {
		alpha, beta, a float64
	}{{-1, 1, -4}, {0, 0, -4}, {1, math.NaN(), -4}, {1, 1, 0}, {1, 1, math.Inf(-1)}, {math.Inf(1), 1, -4}} {
		if _, err := NewSCELabels(c.alpha, c.beta, c.a); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
	for _, in := range []Input[float64]{
		{Logits: z, Cols: 3, Labels64: []int64{0, 3}},
		{Logits: z, Cols: 3, Labels64: []int64{0}},
		{Logits: z, Cols: 3, Targets: z},
		{Logits: z, Cols: 3, Labels: []int32{0, 1}, Labels64: []int64{0, 1}},
	} {
		if _, err := l.Eval64(in, Output[float64]{}); err == nil {
			t.Errorf("%+v: no error", in)
		}
	}
	// The registry builds the same loss by name.
	r, _, err := Parse("sce-labels:alpha=0.1,beta=1,a=-4")
	if err != nil {
		t.Fatal(err)
	}
	v2, _ := r.Eval64(Input[float64]{Logits: z, Cols: 3, Labels64: []int64{-100, 1}}, Output[float64]{})
	if v2 != v {
		t.Errorf("registry %v, constructor %v", v2, v)
	}
}

func ExampleNewSCELabels() {
	// One row, label 2: −0.1·log p₂ − 1·(−4)·(1 − p₂).
	l, _ := NewSCELabels(0.1, 1, -4)
	v, _ := l.Eval64(Input[float64]{Logits: []float64{0, 0, 0}, Cols: 3, Labels: []int32{2}}, Output[float64]{})
	fmt.Printf("%.6f\n", v)
	// Output: 2.776528
}
