package embedding

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/xentlab/xent/internal/gradcheck"
)

// refTriplet is PyTorch's definition written out: pairwise distances
// ‖x − y + ε‖_p, the swap, the hinge, the mean.
func refTriplet(a, p, n []float64, d int, margin, pp, eps float64, swap bool) float64 {
	dist := func(x, y []float64) float64 {
		var s float64
		for k := range x {
			s += math.Pow(math.Abs(x[k]-y[k]+eps), pp)
		}
		return math.Pow(s, 1/pp)
	}
	rows := len(a) / d
	var total float64
	for i := 0; i < rows; i++ {
		ai, pi, ni := a[i*d:(i+1)*d], p[i*d:(i+1)*d], n[i*d:(i+1)*d]
		dn := dist(ai, ni)
		if swap {
			dn = math.Min(dn, dist(pi, ni))
		}
		total += math.Max(0, dist(ai, pi)-dn+margin)
	}
	return total / float64(rows)
}

func TestTripletMargin(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	const n, d = 6, 4
	for _, c := range []struct {
		margin, p, eps float64
		swap           bool
	}{{1, 2, 1e-6, false}, {1, 2, 1e-6, true}, {0.5, 1, 1e-6, false}, {2, 3, 0, true}, {1.5, 1.5, 0.01, false}} {
		a, p, ng := randRows(rng, n*d), randRows(rng, n*d), randRows(rng, n*d)
		l, err := NewTripletMargin(c.margin, c.p, c.eps, c.swap)
		if err != nil {
			t.Fatal(err)
		}
		out := Output[float64]{Grad: make([]float64, n*d), GradPositives: make([]float64, n*d), GradNegatives: make([]float64, n*d)}
		v, err := l.Eval64(Input[float64]{Embeddings: a, Positives: p, Negatives: ng, Dim: d}, out)
		if err != nil {
			t.Fatal(err)
		}
		if want := refTriplet(a, p, ng, d, c.margin, c.p, c.eps, c.swap); math.Abs(v-want) > 1e-13 {
			t.Errorf("%+v: loss %.15g, reference %.15g", c, v, want)
		}
		for _, part := range []struct {
			name string
			x, g []float64
		}{{"anchors", a, out.Grad}, {"positives", p, out.GradPositives}, {"negatives", ng, out.GradNegatives}} {
			f := func([]float64) float64 { return refTriplet(a, p, ng, d, c.margin, c.p, c.eps, c.swap) }
			if err := gradcheck.Check(f, part.g, part.x, 1e-6, 1e-7, 1e-5); err != nil {
				t.Errorf("%+v: %s: %v", c, part.name, err)
			}
		}
	}
}

// TestTripletPyTorch: PyTorch 1.13's values and gradients, including a
// triplet exactly at the hinge (the gradient passes) and a tied swap
// (shared half and half).
func TestTripletPyTorch(t *testing.T) {
	a := []float64{0, 0, 1, 1}
	p := []float64{0.1, 0.1, 1.1, 1.1}
	ng := []float64{1, 0, 0, 1}
	for _, c := range []struct {
		spec string
		want float64
	}{
		{"triplet-margin", (0.14142135623730951 + 0.14142135623730951) / 2},
		{"triplet-margin:swap=1", (0.2359 + 0.1414) / 2},
		{"triplet-margin:p=1", 0.2},
	} {
		l, _, err := Parse(c.spec)
		if err != nil {
			t.Fatal(err)
		}
		v, err := l.Eval64(Input[float64]{Embeddings: a, Positives: p, Negatives: ng, Dim: 2}, Output[float64]{})
		if err != nil || math.Abs(v-c.want) > 1e-4 {
			t.Errorf("%s: %v (%v), PyTorch %v", c.spec, v, err, c.want)
		}
	}
	grads := func(l Loss, a, p, n []float64) ([]float64, []float64, []float64, float64) {
		out := Output[float64]{Grad: make([]float64, 2), GradPositives: make([]float64, 2), GradNegatives: make([]float64, 2)}
		v, err := l.Eval64(Input[float64]{Embeddings: a, Positives: p, Negatives: n, Dim: 2}, out)
		if err != nil {
			t.Fatal(err)
		}
		return out.Grad, out.GradPositives, out.GradNegatives, v
	}
	at, _ := NewTripletMargin(0, 2, 0, false)
	ga, gp, gn, v := grads(at, []float64{0, 0}, []float64{1, 0}, []float64{0, 1})
	if v != 0 || ga[0] != -1 || ga[1] != 1 || gp[0] != 1 || gn[1] != -1 {
		t.Errorf("at the hinge: loss %v, grads %v %v %v; PyTorch 0, [-1 1] [1 0] [0 -1]", v, ga, gp, gn)
	}
	tie, _ := NewTripletMargin(5, 2, 0, true)
	ga, gp, gn, v = grads(tie, []float64{0, 0}, []float64{2, 0}, []float64{1, 3})
	s := 1 / math.Sqrt(10)
	wantA := []float64{-1 + 0.5*s, 1.5 * s}
	wantP := []float64{1 - 0.5*s, 1.5 * s}
	wantN := []float64{0, -3 * s}
	for k := 0; k < 2; k++ {
		if math.Abs(ga[k]-wantA[k]) > 1e-15 || math.Abs(gp[k]-wantP[k]) > 1e-15 || math.Abs(gn[k]-wantN[k]) > 1e-15 {
			t.Fatalf("tied swap: grads %v %v %v, want %v %v %v", ga, gp, gn, wantA, wantP, wantN)
		}
	}
	if math.Abs(v-(2-math.Sqrt(10)+5)) > 1e-15 {
		t.Errorf("tied swap: loss %v", v)
	}
}

func TestTripletErrors(t *testing.T) {
	l, _ := NewTripletMargin(1, 2, 1e-6, false)
	x := []float64{1, 2, 3, 4}
	cases := []struct {
		in   Input[float64]
		out  Output[float64]
		kind error
		text string
	}{
		{Input[float64]{Embeddings: x, Positives: x, Dim: 2}, Output[float64]{}, ErrShape, "Negatives"},
		{Input[float64]{Embeddings: x, Negatives: x, Dim: 2}, Output[float64]{}, ErrShape, "Positives"},
		{Input[float64]{Embeddings: x, Positives: x, Negatives: x[:2], Dim: 2}, Output[float64]{}, ErrShape, "Negatives"},
		{Input[float64]{Embeddings: x, Positives: x, Negatives: []float64{1, math.NaN(), 0, 0}, Dim: 2}, Output[float64]{}, ErrValue, "Negatives"},
		{Input[float64]{Embeddings: x, Positives: x, Negatives: x, Dim: 2}, Output[float64]{GradNegatives: make([]float64, 3)}, ErrShape, "GradNegatives"},
	}
	for _, c := range cases {
		_, err := l.Eval64(c.in, c.out)
		if !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.text) {
			t.Errorf("err %v, want %v mentioning %q", err, c.kind, c.text)
		}
	}
	// Another loss does not read negatives.
	inf, _ := NewInfoNCE(0.1, false, true)
	if _, err := inf.Eval64(Input[float64]{Embeddings: x, Positives: x, Negatives: x, Dim: 2}, Output[float64]{}); !errors.Is(err, ErrShape) {
		t.Errorf("infonce with negatives: %v", err)
	}
	for _, bad := range []string{"triplet-margin:p=0.5", "triplet-margin:swap=2", "triplet-margin:margin=nan"} {
		if _, _, err := Parse(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	// float32 inputs give the float64 result rounded once.
	a32 := []float32{0.5, -1, 2, 0.25}
	l32, _ := NewTripletMargin(1, 2, 1e-6, true)
	v32, err := l32.Eval32(Input[float32]{Embeddings: a32, Positives: []float32{0, 0, 1, 1}, Negatives: []float32{1, 1, 0, 0}, Dim: 2},
		Output[float32]{GradNegatives: make([]float32, 4)})
	v64, _ := l32.Eval64(Input[float64]{Embeddings: []float64{0.5, -1, 2, 0.25}, Positives: []float64{0, 0, 1, 1}, Negatives: []float64{1, 1, 0, 0}, Dim: 2}, Output[float64]{})
	if err != nil || v32 != v64 {
		t.Errorf("float32 %v (%v), float64 %v", v32, err, v64)
	}
}

func randRows(rng *rand.Rand, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	return x
}
