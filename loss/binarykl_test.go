package loss

import (
	"math"
	"math/rand/v2"
	"testing"
)

func refBinaryKLRow(s, t []float64, T float64, norm bool) float64 {
	sig := func(u float64) float64 { return 1 / (1 + math.Exp(-u)) }
	var v float64
	for k := range s {
		if norm {
			d := sig((s[k] - t[k]) / T)
			v += 0.5*math.Log(0.5/d) + 0.5*math.Log(0.5/(1-d))
			continue
		}
		a, b := sig(t[k]/T), sig(s[k]/T)
		v += a*math.Log(a/b) + (1-a)*math.Log((1-a)/(1-b))
	}
	return T * T * v
}

func TestBinaryKLCatalogVector(t *testing.T) {
	// Catalog B29 (recomputed with mpmath), T = 2: BinaryKL
	// 0.219089891712, ∂ = [−0.1730317951, 0.2171984949, 0.1243530018];
	// BinaryKLNorm 0.278607386237, ∂ = [−0.2449186624, 0.2449186624,
	// 0.1243530018].
	s := []float64{2, -1, 0.5}
	te := []float64{3, -2, 0}
	for _, c := range []struct {
		norm bool
		v    float64
		g    []float64
	}{
		{false, 0.219089891712, []float64{-0.1730317951, 0.2171984949, 0.1243530018}},
		{true, 0.278607386237, []float64{-0.2449186624, 0.2449186624, 0.1243530018}},
	} {
		l, _ := NewBinaryKL(2, c.norm)
		g := make([]float64, 3)
		v, err := l.Eval64(Input[float64]{Logits: s, Cols: 3, Teacher: te}, Output[float64]{Grad: g})
		if err != nil || math.Abs(v-c.v) > 1e-11 || !tsrClose(g, c.g, 1e-10, 0) {
			t.Errorf("norm=%v: %v %v %v", c.norm, v, g, err)
		}
	}
}

func TestBinaryKLReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(121, 122))
	const rows, cols = 4, 5
	for _, norm := range []bool{false, true} {
		for _, T := range []float64{1, 2} {
			s := tsrRand(rng, rows*cols, 3)
			te := tsrRand(rng, rows*cols, 3)
			n, tt := norm, T
			tsrVerify(t, tsrCase{
				name: "binary-kl",
				mk:   func(opts ...Option) (Loss, error) { return NewBinaryKL(tt, n, opts...) },
				in:   Input[float64]{Logits: s, Cols: cols, Teacher: te},
				den:  rows,
				ref: func(x []float64) float64 {
					return tsrMeanRows(x, te, cols, nil, nil, func(_ int, s, t []float64) float64 { return refBinaryKLRow(s, t, tt, n) })
				},
			})
		}
	}
}

// The stable element-wise divergence against a float64 reference in the
// ranges where the naive formula is itself accurate, and against known
// asymptotics where it is not.
func TestBernoulliKLStable(t *testing.T) {
	rng := rand.New(rand.NewPCG(123, 124))
	for i := 0; i < 2000; i++ {
		a, b := rng.NormFloat64()*5, rng.NormFloat64()*5
		want := refBinaryKLRow([]float64{b}, []float64{a}, 1, false)
		if got := bernoulliKL(a, b); math.Abs(got-want) > 1e-13+1e-9*want {
			t.Fatalf("KL(%v, %v) = %v, want %v", a, b, got, want)
		}
		x := rng.NormFloat64() * 3
		if got, want := logCosh(x), math.Log(math.Cosh(x)); math.Abs(got-want) > 1e-15+1e-13*want {
			t.Fatalf("logCosh(%v) = %v, want %v", x, got, want)
		}
	}
	// Large logits: equal ones give exactly 0, far-apart ones the softplus
	// gap.
	if v := bernoulliKL(5000, 5000); v != 0 {
		t.Errorf("equal large logits: %v", v)
	}
	if v, want := bernoulliKL(-5000, 10), softplus(10); math.Abs(v-want) > 1e-15*want {
		t.Errorf("far apart: %v, want %v", v, want)
	}
	// Tiny differences: KL ≈ σ'(a)·d²/2.
	a, d := 0.7, 1e-7
	s := 1 / (1 + math.Exp(-a))
	if v, want := bernoulliKL(a, a+d), s*(1-s)*d*d/2; math.Abs(v-want) > 1e-6*want {
		t.Errorf("tiny difference: %v, want %v", v, want)
	}
	if v, want := logCosh(1e-8), 0.5e-16; math.Abs(v-want) > 1e-15*want {
		t.Errorf("logCosh tiny: %v, want %v", v, want)
	}
	if v, want := logCosh(1e4), 1e4-math.Ln2; v != want {
		t.Errorf("logCosh large: %v, want %v", v, want)
	}
}

func TestBinaryKLEdges(t *testing.T) {
	inf := math.Inf(-1)
	l, _ := NewBinaryKL(2, false)
	ln, _ := NewBinaryKL(2, true)
	// Teacher equal to student: 0 for both.
	x := []float32{1e4, -1e4, 3, 0}
	for _, m := range []*BinaryKL{l, ln} {
		g := make([]float32, 4)
		v, err := m.Eval32(Input[float32]{Logits: x, Cols: 4, Teacher: x}, Output[float32]{Grad: g})
		if err != nil || v != 0 {
			t.Errorf("%s self: %v %v", m.Name(), v, err)
		}
		for _, e := range g {
			if e != 0 {
				t.Errorf("%s self gradient %v", m.Name(), g)
			}
		}
	}
	// Masks: teacher −Inf is probability 0; both −Inf add nothing.
	g := make([]float64, 3)
	v, err := l.Eval64(Input[float64]{Logits: []float64{1, inf, 0}, Cols: 3, Teacher: []float64{inf, inf, 0}}, Output[float64]{Grad: g})
	if want := 4 * softplus(0.5); err != nil || math.Abs(v-want) > 1e-15 || math.Abs(g[0]-2*sigmoid(0.5)) > 1e-15 || g[1] != 0 {
		t.Errorf("masks: %v %v %v", v, g, err)
	}
	_, err = l.Eval64(Input[float64]{Logits: []float64{inf}, Cols: 1, Teacher: []float64{0}}, Output[float64]{})
	tsrWantErr(t, "student mask", err, ErrValue)
	_, err = ln.Eval64(Input[float64]{Logits: []float64{0}, Cols: 1, Teacher: []float64{inf}}, Output[float64]{})
	tsrWantErr(t, "norm teacher mask", err, ErrValue)
	// Beyond the official clamp (|z/T| > 18.4) the gradient is not zero.
	g = make([]float64, 1)
	if _, err := l.Eval64(Input[float64]{Logits: []float64{-60}, Cols: 1, Teacher: []float64{-40}}, Output[float64]{Grad: g}); err != nil || !(g[0] < 0) {
		t.Errorf("saturated gradient %v %v", g, err)
	}
}
