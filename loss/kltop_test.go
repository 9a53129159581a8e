package loss

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

func refKLTopRow(s, t []float64, k int, renorm bool) float64 {
	idx := make([]int, len(t))
	for j := range idx {
		idx[j] = j
	}
	sort.SliceStable(idx, func(a, b int) bool { return t[idx[a]] > t[idx[b]] })
	S := idx[:min(k, len(t))]
	if renorm {
		ss, ts := make([]float64, len(S)), make([]float64, len(S))
		for i, j := range S {
			ss[i], ts[i] = s[j], t[j]
		}
		p, lp, lq := tsrSM(ts, 1), tsrLSM(ts, 1), tsrLSM(ss, 1)
		var kl float64
		for i := range p {
			kl += p[i] * (lp[i] - lq[i])
		}
		return kl
	}
	p, lp, lq := tsrSM(t, 1), tsrLSM(t, 1), tsrLSM(s, 1)
	var kl float64
	for _, j := range S {
		kl += p[j] * (lp[j] - lq[j])
	}
	return kl
}

func TestKLTopCatalogVector(t *testing.T) {
	// Catalog B13 (recomputed with mpmath), k = 2:
	// L = 0.0819690151902, ∂ = [−0.2187062055, 0.07531992189,
	// 0.07630735393, 0.04628274972, 0.02079617999]; renormalized
	// L' = 0.0528345619913, ∂' = [−0.1566160618, 0.1566160618, 0, 0, 0];
	// the full KL is 0.0556909681597.
	zq := []float64{2.5, 2.2, 0.8, 0.3, -0.5}
	zf := []float64{3, 2, 1, 0, -1}
	for _, c := range []struct {
		k      int
		renorm bool
		v      float64
		g      []float64
	}{
		{2, false, 0.0819690151902, []float64{-0.2187062055, 0.07531992189, 0.07630735393, 0.04628274972, 0.02079617999}},
		{2, true, 0.0528345619913, []float64{-0.1566160618, 0.1566160618, 0, 0, 0}},
		{5, false, 0.0556909681597, nil},
		{9, true, 0.0556909681597, nil},
	} {
		l, _ := NewKLTop(c.k, c.renorm)
		g := make([]float64, 5)
		v, err := l.Eval64(Input[float64]{Logits: zq, Cols: 5, Teacher: zf}, Output[float64]{Grad: g})
		if err != nil || math.Abs(v-c.v) > 1e-12 || (c.g != nil && !tsrClose(g, c.g, 1e-10, 0)) {
			t.Errorf("k=%d renorm=%v: %v %v %v", c.k, c.renorm, v, g, err)
		}
	}
}

func TestKLTopReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(91, 92))
	const rows, cols = 4, 12
	for _, k := range []int{1, 3, 8, 12} {
		for _, renorm := range []bool{false, true} {
			s := tsrRand(rng, rows*cols, 2)
			te := tsrRand(rng, rows*cols, 2)
			// Ties in the teacher: the lower column wins.
			te[1], te[2] = te[0], te[0]
			kk, rn := k, renorm
			tsrVerify(t, tsrCase{
				name: "kl-top",
				mk:   func(opts ...Option) (Loss, error) { return NewKLTop(kk, rn, opts...) },
				in:   Input[float64]{Logits: s, Cols: cols, Teacher: te},
				den:  rows,
				ref: func(x []float64) float64 {
					return tsrMeanRows(x, te, cols, nil, nil, func(_ int, s, t []float64) float64 { return refKLTopRow(s, t, kk, rn) })
				},
			})
		}
	}
}

func TestKLTopSelect(t *testing.T) {
	rng := rand.New(rand.NewPCG(93, 94))
	for trial := 0; trial < 200; trial++ {
		n := 1 + rng.IntN(40)
		k := 1 + rng.IntN(n)
		x := make([]float64, n)
		for i := range x {
			x[i] = float64(rng.IntN(5)) // many ties
		}
		got := append([]int(nil), klTopSelect(make([]int, k), x)...)
		sort.Ints(got)
		idx := make([]int, n)
		for j := range idx {
			idx[j] = j
		}
		sort.SliceStable(idx, func(a, b int) bool { return x[idx[a]] > x[idx[b]] })
		want := append([]int(nil), idx[:k]...)
		sort.Ints(want)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("x=%v k=%d: %v, want %v", x, k, got, want)
			}
		}
	}
}

func TestKLTopEdges(t *testing.T) {
	l, _ := NewKLTop(2, false)
	inf := math.Inf(-1)
	// The plain sum can be negative (the student puts more mass on S).
	v, err := l.Eval64(Input[float64]{Logits: []float64{5, 5, 0}, Cols: 3, Teacher: []float64{1, 1, 0.5}}, Output[float64]{})
	if err != nil || !(v < 0) {
		t.Errorf("expected a negative partial sum, got %v %v", v, err)
	}
	// A masked student column in S under teacher mass: infinite.
	_, err = l.Eval64(Input[float64]{Logits: []float64{inf, 0, 0}, Cols: 3, Teacher: []float64{1, 1, 0}}, Output[float64]{})
	tsrWantErr(t, "mask in S", err, ErrValue)
	// Outside S a student mask is fine.
	if _, err := l.Eval64(Input[float64]{Logits: []float64{0, 0, inf}, Cols: 3, Teacher: []float64{1, 1, 0}}, Output[float64]{}); err != nil {
		t.Error(err)
	}
	// Teacher equal to student, renormalized: 0.
	lr, _ := NewKLTop(3, true)
	x := []float64{1e4, 3, 2, -1, 9999}
	g := make([]float64, 5)
	v, err = lr.Eval64(Input[float64]{Logits: x, Cols: 5, Teacher: x}, Output[float64]{Grad: g})
	if err != nil || v != 0 || !tsrClose(g, make([]float64, 5), 0, 0) {
		t.Errorf("self: %v %v %v", v, g, err)
	}
	if _, err := NewKLTop(0, false); err == nil {
		t.Error("k = 0 accepted")
	}
	for _, bad := range []string{"kl-top:k=2.5", "kl-top:k=0", "kl-top:renorm=2"} {
		if _, _, err := Parse(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// TestKLTopDefaultK: the registered kl-top defaults to OSTQuant's
// k = 1000 (not renormalized): on rows of 1500 classes the result is the
// sum over the teacher's top 1000 classes, not over a few.
func TestKLTopDefaultK(t *testing.T) {
	s, ok := Lookup("kl-top")
	if !ok {
		t.Fatal("kl-top is not registered")
	}
	for _, p := range s.Params {
		if p.Name == "k" && p.Default != 1000 || p.Name == "renorm" && p.Default != 0 {
			t.Errorf("default %s = %v", p.Name, p.Default)
		}
	}
	rng := rand.New(rand.NewPCG(13, 1000))
	const rows, cols = 3, 1500
	x := make([]float64, rows*cols)
	te := make([]float64, rows*cols)
	for i := range x {
		x[i] = rng.NormFloat64()
		te[i] = rng.NormFloat64() * 0.5 // a flat teacher: the tail matters
	}
	l, _, err := Parse("kl-top")
	if err != nil {
		t.Fatal(err)
	}
	got, err := l.Eval64(Input[float64]{Logits: x, Cols: cols, Teacher: te}, Output[float64]{})
	if err != nil {
		t.Fatal(err)
	}
	ref := func(k int) float64 {
		return tsrMeanRows(x, te, cols, nil, nil, func(_ int, s, t []float64) float64 { return refKLTopRow(s, t, k, false) })
	}
	if want := ref(1000); math.Abs(got-want) > 1e-12*math.Abs(want) {
		t.Errorf("kl-top = %v, want the top-1000 sum %v (top-8: %v)", got, want, ref(8))
	}
}
