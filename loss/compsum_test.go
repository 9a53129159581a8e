package loss

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// refCompSum is Φ^τ(u) with u = Σ_{j≠y} exp(z_j − z_y), straight from the
// definition.
func refCompSum(tau float64) hardRef {
	return func(x []float64, y int) float64 {
		var u float64
		for j, v := range x {
			if j != y {
				u += math.Exp(v - x[y])
			}
		}
		if tau == 1 {
			return math.Log(1 + u)
		}
		return (math.Pow(1+u, 1-tau) - 1) / (1 - tau)
	}
}

func TestCompSumSuite(t *testing.T) {
	for _, tau := range []float64{0, 0.5, 1, 1.7, 2, 3} {
		t.Run(fmt.Sprint("tau=", tau), func(t *testing.T) {
			hardSuite{
				build:   func(opts ...Option) (Loss, error) { return NewCompSum(tau, opts...) },
				ref:     refCompSum(tau),
				weights: true, masks: true,
			}.run(t)
		})
	}
}

// TestCompSumCatalog: catalog A2's vector h = [1, 2, 0.5], y = 0,
// recomputed independently (mpmath, 40 digits); the catalog's values agree.
func TestCompSumCatalog(t *testing.T) {
	x := []float64{1, 2, 0.5}
	cases := []struct {
		tau  float64
		loss float64
		grad []float64
	}{
		{0, 3.324812488, []float64{-3.324812488, 2.718281828, 0.6065306597}},
		{0.5, 2.159236703, []float64{-1.598760891, 1.307106098, 0.2916547929}},
		{1, 1.464368784, []float64{-0.7687761024, 0.6285317192, 0.1402443832}},
		{1.5, 1.038285078, []float64{-0.3696717245, 0.3022341665, 0.06743755798}},
		{2, 0.7687761024, []float64{-0.1777594068, 0.1453315539, 0.0324278529}},
	}
	for _, c := range cases {
		l, err := NewCompSum(c.tau)
		if err != nil {
			t.Fatal(err)
		}
		g := make([]float64, 3)
		v, err := l.Eval64(Input[float64]{Logits: x, Cols: 3, Labels: []int32{0}}, Output[float64]{Grad: g})
		if err != nil {
			t.Fatal(err)
		}
		if !near(v, c.loss, 1e-9) {
			t.Errorf("tau %v: loss %.10g, want %.10g", c.tau, v, c.loss)
		}
		checkVec(t, fmt.Sprint("tau ", c.tau), g, c.grad, 1e-9)
	}
}

// TestCompSumIsCrossEntropy: τ = 1 is cross-entropy (same options, both
// precisions), and GCE tends to it as q → 0.
func TestCompSumIsCrossEntropy(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const rows, cols = 6, 9
	x := make([]float32, rows*cols)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 4)
	}
	labels := []int32{0, 3, -100, 8, 2, 2}
	cw := []float64{1, 2, 0.5, 1, 1, 3, 1, 1, 0.25}
	rw := []float32{1, 0.5, 1, 2, 0, 1}
	opts := []Option{WithClassWeights(cw)}
	ce, _ := NewCrossEntropy(ForCrossEntropy(opts...)...)
	for _, l := range []func() (Loss, error){
		func() (Loss, error) { return NewCompSum(1, opts...) },
		func() (Loss, error) { return NewGCE(1e-9, opts...) },
	} {
		cs, err := l()
		if err != nil {
			t.Fatal(err)
		}
		in := Input[float32]{Logits: x, Cols: cols, Labels: labels, RowWeights: rw}
		g1, g2 := make([]float32, len(x)), make([]float32, len(x))
		v1, err1 := cs.Eval32(in, Output[float32]{Grad: g1})
		v2, err2 := ce.Eval32(in, Output[float32]{Grad: g2})
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if !near(v1, v2, 1e-6) {
			t.Errorf("%s: loss %v, cross-entropy %v", cs.Name(), v1, v2)
		}
		for i := range g1 {
			if math.Abs(float64(g1[i]-g2[i])) > 1e-6 {
				t.Fatalf("%s: grad[%d] %v, cross-entropy %v", cs.Name(), i, g1[i], g2[i])
			}
		}
	}
}

// TestCompSumConfident: a confidently right row keeps its tiny loss and
// target gradient in float32 (1 − p_y far below float32's epsilon).
func TestCompSumConfident(t *testing.T) {
	for _, tau := range []float64{0, 0.5, 1, 2, 3} {
		l, _ := NewCompSum(tau, WithReduction(Sum))
		for _, gap := range []float32{20, 40, 80} {
			x := []float32{gap, 0, 0, -gap}
			g := make([]float32, 4)
			v, err := l.Eval32(Input[float32]{Logits: x, Cols: 4, Labels: []int32{0}}, Output[float32]{Grad: g})
			if err != nil {
				t.Fatal(err)
			}
			// u = 2e^−gap + e^−2gap; for tiny u, ℓ = u − τu²/2 + …
			g64 := float64(gap)
			u := 2*math.Exp(-g64) + math.Exp(-2*g64)
			want := u * (1 - tau*u/2)
			if math.Abs(v-want) > 1e-6*want {
				t.Errorf("tau %v gap %v: loss %g, want %g", tau, gap, v, want)
			}
			// ∂ℓ/∂z_y = −p_y^(τ−1)·(1 − p_y) ≈ −u.
			if g[0] == 0 || math.Abs(float64(g[0])+u) > 1e-5*u {
				t.Errorf("tau %v gap %v: target gradient %g, want %g", tau, gap, g[0], -u)
			}
		}
	}
}

// TestCompSumHuge: at logit scale 1e4 the bounded members stay finite and
// exact; exp-loss overflows with an error, not Inf.
func TestCompSumHuge(t *testing.T) {
	x := []float32{1e4, -1e4, 5e3, 1e4 - 1}
	for _, tau := range []float64{1, 1.7, 2} {
		l, _ := NewCompSum(tau)
		g := make([]float32, 4)
		v, err := l.Eval32(Input[float32]{Logits: x, Cols: 4, Labels: []int32{2}}, Output[float32]{Grad: g})
		if err != nil {
			t.Fatal(err)
		}
		// p_y = exp(−5000)/(1 + e^−1): the row is as wrong as can be.
		a := 5000 + math.Log1p(math.Exp(-1))
		want := a
		if tau != 1 {
			want = math.Expm1((1-tau)*a) / (1 - tau)
		}
		if !near(v, want, 1e-6) {
			t.Errorf("tau %v: loss %v, want %v", tau, v, want)
		}
		for _, e := range g {
			if math.IsNaN(float64(e)) || math.IsInf(float64(e), 0) {
				t.Fatalf("tau %v: gradient %v", tau, g)
			}
		}
	}
	l, _ := NewCompSum(0)
	if _, err := l.Eval32(Input[float32]{Logits: x, Cols: 4, Labels: []int32{2}}, Output[float32]{}); !isOverflow(err) {
		t.Errorf("exp-loss at a logit gap of 5000: %v", err)
	}
}

func TestCompSumRegistry(t *testing.T) {
	for _, c := range []struct {
		text string
		tau  float64
	}{{"comp-sum", 1}, {"comp-sum:tau=0.25", 0.25}, {"gce", 1.7}, {"gce:q=0.3", 1.3}, {"mae", 2}, {"exp-loss", 0}} {
		l, s, err := Parse(c.text)
		if err != nil {
			t.Fatal(err)
		}
		if l.(*CompSum).Tau() != c.tau || s.Needs != NeedsLabels || l.Name() != s.Name {
			t.Errorf("%s: tau %v, spec %+v", c.text, l.(*CompSum).Tau(), s)
		}
	}
	for _, bad := range []string{"comp-sum:tau=-1", "gce:q=-0.1", "gce:q=NaN"} {
		if _, _, err := Parse(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
