package lab

import (
	"math"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*(1+math.Abs(b)) }

func TestSGD(t *testing.T) {
	o, err := NewOptimizer(OptimizerConfig{Name: "sgd", LR: 0.1, Momentum: 0.5, WeightDecay: 0.01}, 2, []Span{{0, 1}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	p := []float32{1, 1}
	g := []float32{0.5, 0.5}
	// Step 1: v = g + wd·p (weights only); p −= lr·v.
	o.Step(p, g)
	v0, v1 := 0.5+0.01*1.0, 0.5
	p0, p1 := 1-0.1*v0, 1-0.1*v1
	if !near(float64(p[0]), p0, 1e-6) || !near(float64(p[1]), p1, 1e-6) {
		t.Fatalf("after step 1: %v, want [%v %v]", p, p0, p1)
	}
	// Step 2: v = μ·v + g + wd·p.
	o.Step(p, g)
	v0 = 0.5*v0 + 0.5 + 0.01*p0
	v1 = 0.5*v1 + 0.5
	p0, p1 = p0-0.1*v0, p1-0.1*v1
	if !near(float64(p[0]), p0, 1e-6) || !near(float64(p[1]), p1, 1e-6) {
		t.Fatalf("after step 2: %v, want [%v %v]", p, p0, p1)
	}
}

func TestAdam(t *testing.T) {
	const lr, wd = 0.01, 0.1
	o, err := NewOptimizer(OptimizerConfig{Name: "adam", LR: lr, WeightDecay: wd}, 3, []Span{{1, 3}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	p := []float32{1, -2, 3}
	ref := []float64{1, -2, 3}
	m, v := make([]float64, 3), make([]float64, 3)
	grads := [][]float32{{0.1, -0.2, 0.3}, {1, 0, -1}, {-0.5, 0.25, 2}}
	for step, g := range grads {
		o.Step(p, g)
		tt := float64(step + 1)
		for i := range ref {
			gi := float64(g[i])
			m[i] = 0.9*m[i] + 0.1*gi
			v[i] = 0.999*v[i] + 0.001*gi*gi
			mh := m[i] / (1 - math.Pow(0.9, tt))
			vh := v[i] / (1 - math.Pow(0.999, tt))
			if i >= 1 {
				ref[i] -= lr * wd * ref[i] // decoupled, weights only
			}
			ref[i] -= lr * mh / (math.Sqrt(vh) + 1e-8)
		}
		for i := range ref {
			if !near(float64(p[i]), ref[i], 1e-5) {
				t.Fatalf("step %d: %v, want %v", step+1, p, ref)
			}
		}
	}
}

// TestOptimizerThreads checks that the update does not depend on the
// number of goroutines.
func TestOptimizerThreads(t *testing.T) {
	const n = 3*stepGrain + 17
	run := func(name string, threads int) []float32 {
		o, err := NewOptimizer(OptimizerConfig{Name: name, LR: 0.01, Momentum: 0.9, WeightDecay: 0.01}, n, []Span{{5, n - 9}}, threads)
		if err != nil {
			t.Fatal(err)
		}
		r := newRNG(1)
		p, g := make([]float32, n), make([]float32, n)
		for i := range p {
			p[i] = float32(r.float64())
		}
		for k := 0; k < 3; k++ {
			for i := range g {
				g[i] = float32(r.float64() - 0.5)
			}
			o.Step(p, g)
		}
		return p
	}
	for _, name := range []string{"adam", "sgd"} {
		a, b := run(name, 1), run(name, 4)
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("%s: parameter %d differs between 1 and 4 threads: %v, %v", name, i, a[i], b[i])
			}
		}
	}
}

func TestOptimizerErrors(t *testing.T) {
	for _, c := range []OptimizerConfig{
		{Name: "adam", LR: 0},
		{Name: "adam", LR: math.Inf(1)},
		{Name: "sgd", LR: 0.1, Momentum: 1},
		{Name: "adam", LR: 0.1, WeightDecay: -1},
		{Name: "adam", LR: 0.1, Beta1: 1.5},
		{Name: "rmsprop", LR: 0.1},
	} {
		if _, err := NewOptimizer(c, 4, nil, 1); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
	if _, err := NewOptimizer(OptimizerConfig{Name: "sgd", LR: 0.1}, 4, []Span{{2, 6}}, 1); err == nil {
		t.Error("decay span past the end: no error")
	}
}

// TestAdamKernel compares the dispatched Adam kernel (AVX2 on amd64 when
// available) with the element-by-element Go update on lengths around the
// vector width. Both round the same operations in the same order, so
// they agree to the bit unless the compiler fuses the Go version's
// multiply-adds (GOAMD64=v3); the tolerance allows for that.
func TestAdamKernel(t *testing.T) {
	r := newRNG(11)
	for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 100, 1029} {
		p, g, m, v := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range p {
			p[i] = float32(r.float64()*2 - 1)
			g[i] = float32((r.float64()*2 - 1) * 1e-2)
			m[i] = float32((r.float64()*2 - 1) * 1e-3)
			v[i] = float32(r.float64() * 1e-5)
		}
		if n > 3 {
			g[3], v[3] = 0, 0 // √0 + ε
		}
		p2, m2, v2 := append([]float32(nil), p...), append([]float32(nil), m...), append([]float32(nil), v...)
		k := adamConsts{b1: 0.9, c1: 0.1, b2: 0.999, c2: 0.001, step: 1e-3, eps: 1e-8, keep: 1 - 1e-5}
		adamKernel(p, g, m, v, &k)
		adamGeneric(p2, g, m2, v2, &k)
		// The kernels round every operation as the portable twin does:
		// the same bits.
		same := func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }
		for i := range p {
			if !same(p[i], p2[i]) || !same(m[i], m2[i]) || !same(v[i], v2[i]) {
				t.Fatalf("n=%d, element %d: kernel (%v, %v, %v), generic (%v, %v, %v)", n, i, p[i], m[i], v[i], p2[i], m2[i], v2[i])
			}
		}
	}
}
