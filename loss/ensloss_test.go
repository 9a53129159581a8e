package loss

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestEnsLossCatalogVector(t *testing.T) {
	// Catalog B2, recomputed by hand from the steps: s = [−0.5, 2, 0.3,
	// 1.5], draws ε = [0.2, −1, 1.5, 0] → g = [−1.000001, −0.1839407,
	// −1.000001, −0.6666677], L = −0.2919707, ∂L/∂z = g·y/4 for
	// y = [1, −1, 1, 1].
	s := []float64{-0.5, 2, 0.3, 1.5}
	g := make([]float64, 4)
	if err := EnsLossDerivatives(s, []float64{0.2, -1, 1.5, 0}, 0, g); err != nil {
		t.Fatal(err)
	}
	want := []float64{-1.000001, -math.Exp(-1)/2 - 1e-6, -1.000001, -1/1.5 - 1e-6}
	if !tsrClose(g, want, 1e-15, 0) {
		t.Fatalf("g %v, want %v", g, want)
	}
	var L float64
	for i := range g {
		L += g[i] * s[i] / 4
	}
	if math.Abs(L-(-0.2919707)) > 1e-7 {
		t.Fatalf("L %v", L)
	}
}

func TestEnsLossEval(t *testing.T) {
	rng := rand.New(rand.NewPCG(191, 192))
	const rows, cols = 50, 2
	z := tsrRand(rng, rows*cols, 2)
	tg := make([]float64, rows*cols)
	for i := range tg {
		tg[i] = float64(rng.IntN(2))
	}
	in := Input[float64]{Logits: z, Cols: cols, Targets: tg}
	// The same seed gives the same draws in float64 and float32.
	e1, _ := NewEnsLoss(0, 7)
	e2, _ := NewEnsLoss(0, 7)
	g1 := make([]float64, len(z))
	g2 := make([]float32, len(z))
	v1, err1 := e1.Eval64(in, Output[float64]{Grad: g1})
	v2, err2 := e2.Eval32(tsrIn32(in), Output[float32]{Grad: g2})
	if err1 != nil || err2 != nil || math.Abs(v1-v2) > 1e-6 {
		t.Fatalf("%v %v %v %v", v1, v2, err1, err2)
	}
	// The gradient is g·y/B with g from the same draws: recompute it.
	draws := rand.New(rand.NewPCG(7, 0x656e736c6f7373))
	eps := make([]float64, len(z))
	for i := range eps {
		eps[i] = draws.NormFloat64()
	}
	s := make([]float64, len(z))
	for i := range s {
		s[i] = (2*tg[i] - 1) * z[i]
	}
	g := make([]float64, len(z))
	if err := EnsLossDerivatives(s, eps, 0, g); err != nil {
		t.Fatal(err)
	}
	var L float64
	for i := range g {
		L += g[i] * s[i] / float64(len(z))
		if want := g[i] * (2*tg[i] - 1) / float64(len(z)); math.Abs(g1[i]-want) > 1e-15*math.Abs(want) || math.Abs(float64(g2[i])-want) > 1e-8 {
			t.Fatalf("gradient %d: %v / %v, want %v", i, g1[i], g2[i], want)
		}
	}
	if math.Abs(v1-L) > 1e-15 {
		t.Fatalf("value %v, want %v", v1, L)
	}
	// A second call draws afresh.
	v3, _ := e1.Eval64(in, Output[float64]{})
	if v3 == v1 {
		t.Error("no fresh draws")
	}
	// Properties of the derivatives: negative, ≥ −1 − 1e−6,
	// non-decreasing in the margin where s ≤ 1.
	for _, lam := range []float64{0, 0.5, -0.5, 2} {
		for i := range eps {
			eps[i] = rng.NormFloat64()
		}
		if err := EnsLossDerivatives(s, eps, lam, g); err != nil {
			t.Fatal(err)
		}
		for i := range g {
			if !(g[i] < 0 && g[i] >= -1-1e-6) {
				t.Fatalf("λ=%v: g[%d] = %v", lam, i, g[i])
			}
			for j := range g {
				if s[i] < s[j] && s[j] <= 1 && g[i] > g[j] {
					t.Fatalf("λ=%v: not monotone at %d, %d", lam, i, j)
				}
			}
		}
	}
}

func TestEnsLossErrors(t *testing.T) {
	e, _ := NewEnsLoss(0, 1)
	for _, c := range []struct {
		what string
		in   Input[float64]
		want error
	}{
		{"target 0.5", Input[float64]{Logits: []float64{1}, Cols: 1, Targets: []float64{0.5}}, ErrValue},
		{"inf logit", Input[float64]{Logits: []float64{math.Inf(1)}, Cols: 1, Targets: []float64{1}}, ErrValue},
		{"no targets", Input[float64]{Logits: []float64{1}, Cols: 1}, ErrShape},
		{"labels", Input[float64]{Logits: []float64{1}, Cols: 1, Targets: []float64{1}, Labels: []int32{0}}, ErrShape},
	} {
		_, err := e.Eval64(c.in, Output[float64]{})
		tsrWantErr(t, c.what, err, c.want)
	}
	if _, err := NewEnsLoss(math.NaN(), 1); err == nil {
		t.Error("NaN lambda accepted")
	}
	if _, _, err := Parse("ensloss:seed=-1"); err == nil {
		t.Error("negative seed accepted")
	}
	tsrWantErr(t, "lengths", EnsLossDerivatives([]float64{1}, nil, 0, []float64{0}), ErrShape)
}
