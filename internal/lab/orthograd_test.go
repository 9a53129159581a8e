package lab

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestOrthoGradCatalog: catalog B16's vector: w = [1, 2], g = [0.5, 0.5]
// → g⊥ = [0.2, −0.1] → rescaled to ‖g‖ = √0.5: [0.6324555, −0.3162278].
func TestOrthoGradCatalog(t *testing.T) {
	g := []float32{0.5, 0.5}
	if err := OrthoGrad(g, []float32{1, 2}); err != nil {
		t.Fatal(err)
	}
	want := []float64{0.6324555320336759, -0.31622776601683794}
	for i := range g {
		if math.Abs(float64(g[i])-want[i]) > 1e-7 {
			t.Errorf("g⊥[%d] = %v, want %v", i, g[i], want[i])
		}
	}
}

// TestOrthoGradProperties: the result is orthogonal to w and has g's
// norm; w = 0 leaves g, g = 0 stays 0; bad input is an error.
func TestOrthoGradProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 2, 7, 1000} {
		w := make([]float32, n)
		g := make([]float32, n)
		for i := range w {
			w[i] = float32(rng.NormFloat64())
			g[i] = float32(rng.NormFloat64() * 1e-3)
		}
		orig := append([]float32(nil), g...)
		if err := OrthoGrad(g, w); err != nil {
			t.Fatal(err)
		}
		var wg, ww, gg, oo float64
		for i := range g {
			wg += float64(w[i]) * float64(g[i])
			ww += float64(w[i]) * float64(w[i])
			gg += float64(g[i]) * float64(g[i])
			oo += float64(orig[i]) * float64(orig[i])
		}
		if n > 1 && math.Abs(wg) > 1e-6*math.Sqrt(ww*gg) {
			t.Errorf("n = %d: w·g⊥ = %v, not orthogonal", n, wg)
		}
		if n > 1 && math.Abs(math.Sqrt(gg)-math.Sqrt(oo)) > 1e-6*math.Sqrt(oo) {
			t.Errorf("n = %d: ‖g⊥‖ = %v, want ‖g‖ = %v", n, math.Sqrt(gg), math.Sqrt(oo))
		}
	}
	g := []float32{3, -4}
	if err := OrthoGrad(g, []float32{0, 0}); err != nil || g[0] != 3 || g[1] != -4 {
		t.Errorf("w = 0: %v %v", g, err)
	}
	g = []float32{0, 0}
	if err := OrthoGrad(g, []float32{1, 2}); err != nil || g[0] != 0 || g[1] != 0 {
		t.Errorf("g = 0: %v %v", g, err)
	}
	// g parallel to w: nothing orthogonal is left, and the ε keeps it 0.
	g = []float32{2, 4}
	if err := OrthoGrad(g, []float32{1, 2}); err != nil || g[0] != 0 || g[1] != 0 {
		t.Errorf("g ∥ w: %v %v", g, err)
	}
	if err := OrthoGrad([]float32{1}, []float32{1, 2}); err == nil {
		t.Error("length mismatch accepted")
	}
	if err := OrthoGrad([]float32{float32(math.NaN())}, []float32{1}); err == nil {
		t.Error("NaN accepted")
	}
}

// TestOptimizerOrthoGrad: with OrthoGrad, SGD (no momentum) moves each
// tensor by −lr·⊥Grad(its gradient), and the caller's gradient is left
// as it was.
func TestOptimizerOrthoGrad(t *testing.T) {
	params := []float32{1, 2, 0.5, -1, 3}
	grad := []float32{0.5, 0.5, 1, 2, -1}
	tensors := []Span{{0, 2}, {2, 5}}
	o, err := NewOptimizer(OptimizerConfig{Name: "sgd", LR: 0.1, OrthoGrad: true, Tensors: tensors}, 5, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]float32(nil), params...)
	for _, s := range tensors {
		// ⊥Grad from its formula, in float64.
		w, g := want[s.Lo:s.Hi], grad[s.Lo:s.Hi]
		var wg, ww, gg float64
		for i := range w {
			wg += float64(w[i]) * float64(g[i])
			ww += float64(w[i]) * float64(w[i])
			gg += float64(g[i]) * float64(g[i])
		}
		p := make([]float64, len(w))
		var pp float64
		for i := range w {
			p[i] = float64(g[i]) - wg/ww*float64(w[i])
			pp += p[i] * p[i]
		}
		for i := range w {
			w[i] -= float32(0.1 * p[i] * math.Sqrt(gg) / math.Sqrt(pp))
		}
	}
	before := append([]float32(nil), grad...)
	o.Step(params, grad)
	for i := range params {
		if math.Abs(float64(params[i]-want[i])) > 1e-6 {
			t.Errorf("param %d = %v, want %v", i, params[i], want[i])
		}
		if grad[i] != before[i] {
			t.Errorf("the caller's gradient changed at %d", i)
		}
	}
	if _, err := NewOptimizer(OptimizerConfig{Name: "adam", LR: 0.1, OrthoGrad: true, Tensors: []Span{{0, 9}}}, 5, nil, 1); err == nil {
		t.Error("a tensor outside the parameters was accepted")
	}
	// The model lists its tensors in order, covering every parameter.
	m, _ := NewMLP(3, 4, 2, 1)
	end := 0
	for _, s := range m.Tensors() {
		if s.Lo != end {
			t.Fatalf("tensors %v leave a gap", m.Tensors())
		}
		end = s.Hi
	}
	if end != len(m.Params) {
		t.Errorf("tensors end at %d of %d", end, len(m.Params))
	}
}

// FuzzOrthoGrad: any finite tensor and gradient give a finite result of
// the gradient's norm (up to rounding), orthogonal to the tensor.
func FuzzOrthoGrad(f *testing.F) {
	f.Add(float32(1), float32(2), float32(0.5), float32(0.5), float32(3))
	f.Add(float32(0), float32(0), float32(1), float32(-1), float32(0))
	f.Add(float32(3e38), float32(-3e38), float32(1e-38), float32(2e-45), float32(-7))
	f.Fuzz(func(t *testing.T, w0, w1, g0, g1, w2 float32) {
		w := []float32{w0, w1, w2}
		g := []float32{g0, g1, g0 - g1}
		for _, v := range append(append([]float32(nil), w...), g...) {
			if v != v || math.IsInf(float64(v), 0) {
				if err := OrthoGrad(g, w); err == nil {
					t.Fatalf("non-finite input accepted: w %v g %v", w, g)
				}
				return
			}
		}
		var gg float64
		for _, v := range g {
			gg += float64(v) * float64(v)
		}
		if err := OrthoGrad(g, w); err != nil {
			t.Fatal(err)
		}
		var oo, wo, ww float64
		for i, v := range g {
			if v != v || math.IsInf(float64(v), 0) {
				t.Fatalf("non-finite result %v for w %v", g, w)
			}
			oo += float64(v) * float64(v)
			wo += float64(w[i]) * float64(v)
			ww += float64(w[i]) * float64(w[i])
		}
		if math.Sqrt(oo) > math.Sqrt(gg)*(1+1e-6)+1e-30 {
			t.Fatalf("‖g⊥‖ = %v above ‖g‖ = %v", math.Sqrt(oo), math.Sqrt(gg))
		}
		if ww > 1e-30 && oo > 1e-30 && math.Abs(wo) > 1e-4*math.Sqrt(ww*oo) {
			t.Fatalf("w·g⊥ = %v, not orthogonal (w %v, g⊥ %v)", wo, w, g)
		}
	})
}
