package loss

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/xentlab/xent/internal/gradcheck"
)

// refEISLSeq is the n-gram loss of one sequence from the formula: o the
// sequence's rows, y its targets, ns the n-gram sizes to average.
func refEISLSeq(o [][]float64, y []int, ns []int) float64 {
	L := len(y)
	C := make([][]float64, L)
	for t := range C {
		lp := tsrLSM(o[t], 1)
		C[t] = make([]float64, L)
		for j := range C[t] {
			C[t][j] = math.Max(lp[y[j]], -20)
		}
	}
	var tot float64
	for _, n := range ns {
		K := L - n + 1
		var s float64
		for b := 0; b < K; b++ {
			G := make([]float64, K)
			var z float64
			for a := range G {
				for r := 0; r < n; r++ {
					G[a] += C[a+r][b+r] / float64(n)
				}
				z += math.Exp(G[a])
			}
			for a := range G {
				s += math.Exp(G[a]) / z * G[a]
			}
		}
		tot += s / float64(K) / float64(len(ns))
	}
	return -tot
}

func TestEISLCatalogVector(t *testing.T) {
	// Catalog A25 (recomputed with mpmath; no Gumbel noise): logits
	// [[2, 0, 0.5], [0, 0.5, 2.5], [0.2, 1.8, 0.1]], target [0, 2, 1]:
	// L(1,2) = 0.605787176517, L(1) = 0.711285498905, L(2) =
	// 0.500288854129, and the gradient of L(1,2) below.
	o := []float64{2, 0, 0.5, 0, 0.5, 2.5, 0.2, 1.8, 0.1}
	y := []int32{0, 2, 1}
	grad := []float64{-0.101093751, 0.03938106309, 0.06171268792, 0.05091378263, 0.06296991615, -0.1138836988, 0.04809019095, -0.1062771481, 0.05818695718}
	for _, c := range []struct {
		ns []int
		v  float64
	}{{[]int{1, 2}, 0.605787176517}, {[]int{1}, 0.711285498905}, {[]int{2}, 0.500288854129}} {
		e, _ := NewEISL(c.ns)
		g := make([]float64, 9)
		v, err := e.Eval64(Input[float64]{Logits: o, Cols: 3, Labels: y}, Output[float64]{Grad: g})
		if err != nil || math.Abs(v-c.v) > 1e-11 {
			t.Errorf("%v: %v %v", c.ns, v, err)
		}
		if len(c.ns) == 2 && !tsrClose(g, grad, 1e-9, 0) {
			t.Errorf("gradient %v", g)
		}
	}
}

func TestEISLReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(161, 162))
	const rows, cols = 11, 6
	x := tsrRand(rng, rows*cols, 2)
	labels := []int64{0, 5, 2, -100, 3, 3, 1, 0, 4, 2, 5}
	ids := []int32{1, 1, 2, 1, 2, 1, 2, 3, 3, 3, 3}
	// Sequences in row order, without the ignored row: 1: rows 0 1 5;
	// 2: rows 2 4 6; 3: rows 7 8 9 10.
	seqs := [][]int{{0, 1, 5}, {2, 4, 6}, {7, 8, 9, 10}}
	// A clamped entry: row 8's log-probability of class 2 far below −20.
	x[8*cols+2] = -40
	for _, ns := range [][]int{{1}, {2}, {1, 2}, {3, 0, -1}} {
		nsz := ns
		tsrVerify(t, tsrCase{
			name: "eisl",
			mk: func(opts ...Option) (Loss, error) {
				e, err := NewEISL(nsz, opts...)
				if err != nil {
					return nil, err
				}
				return e.ForSequences(ids), nil
			},
			in:  Input[float64]{Logits: x, Cols: cols, Labels64: labels},
			den: 3,
			ref: func(x []float64) float64 {
				var tot float64
				for _, s := range seqs {
					o := make([][]float64, len(s))
					y := make([]int, len(s))
					for t, i := range s {
						o[t] = x[i*cols : (i+1)*cols]
						y[t] = int(labels[i])
					}
					tot += refEISLSeq(o, y, eislSizes(nsz, len(s)))
				}
				return tot / 3
			},
		})
	}
}

func TestEISLSizes(t *testing.T) {
	for _, c := range []struct {
		ns   []int
		L    int
		want []int
	}{
		{[]int{1, 2}, 1, []int{1}},
		{[]int{3}, 2, []int{2}},
		{[]int{0}, 5, []int{5}},
		{[]int{-1}, 5, []int{4}},
		{[]int{-5}, 5, []int{5}},
		{[]int{2, 2, -1}, 3, []int{2}},
	} {
		got := eislSizes(c.ns, c.L)
		if len(got) != len(c.want) {
			t.Errorf("%v L=%d: %v, want %v", c.ns, c.L, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%v L=%d: %v, want %v", c.ns, c.L, got, c.want)
			}
		}
	}
}

// With one n-gram spanning the whole sequence the alignment is trivial
// and the loss is the sequence's mean token cross-entropy; the shares in
// Output.Rows add up to the loss; a shifted output is penalized less than
// by cross-entropy.
func TestEISLIdentities(t *testing.T) {
	rng := rand.New(rand.NewPCG(163, 164))
	const rows, cols = 5, 4
	x := tsrRand(rng, rows*cols, 1)
	labels := []int32{1, 3, 0, 2, 2}
	whole, _ := NewEISL([]int{0})
	ce, _ := NewCrossEntropy()
	v, err := whole.Eval64(Input[float64]{Logits: x, Cols: cols, Labels: labels}, Output[float64]{})
	w, _ := ce.Eval64(Input[float64]{Logits: x, Cols: cols, Labels: labels}, Output[float64]{})
	if err != nil || math.Abs(v-w) > 1e-14 {
		t.Errorf("whole sequence: %v, CE %v (%v)", v, w, err)
	}
	e, _ := NewEISL([]int{1, 2}, WithReduction(None))
	rowsOut := make([]float64, rows)
	v, _ = e.Eval64(Input[float64]{Logits: x, Cols: cols, Labels: labels}, Output[float64]{Rows: rowsOut})
	var s float64
	for _, r := range rowsOut {
		s += r
	}
	if math.Abs(s-v) > 1e-14 {
		t.Errorf("shares %v add to %v, loss %v", rowsOut, s, v)
	}
	// A confident output that is the target shifted by one position.
	target := []int32{0, 1, 2, 3}
	shifted := make([]float64, 4*4)
	for t := 0; t < 4; t++ {
		for v := 0; v < 4; v++ {
			shifted[t*4+v] = -5
		}
		shifted[t*4+(t+1)%4] = 5 // predicts target[t+1] at position t
	}
	e2, _ := NewEISL([]int{2})
	ve, _ := e2.Eval64(Input[float64]{Logits: shifted, Cols: 4, Labels: target}, Output[float64]{})
	vc, _ := ce.Eval64(Input[float64]{Logits: shifted, Cols: 4, Labels: target}, Output[float64]{})
	if !(ve < vc/2) {
		t.Errorf("shifted output: eisl %v, CE %v", ve, vc)
	}
}

func TestEISLEdges(t *testing.T) {
	e, _ := NewEISL([]int{2})
	inf := math.Inf(-1)
	// A masked target logit is clamped at −20 (no error, zero gradient
	// through that entry).
	if _, err := e.Eval64(Input[float64]{Logits: []float64{inf, 0, 1, 2}, Cols: 2, Labels: []int32{0, 1}}, Output[float64]{Grad: make([]float64, 4)}); err != nil {
		t.Error(err)
	}
	// Huge logits.
	v, err := e.Eval32(Input[float32]{Logits: []float32{1e4, -1e4, -1e4, 1e4}, Cols: 2, Labels: []int32{0, 1}}, Output[float32]{Grad: make([]float32, 4)})
	if err != nil || math.IsNaN(v) || v < 0 {
		t.Errorf("huge: %v %v", v, err)
	}
	// All rows ignored: 0.
	if v, err := e.Eval64(Input[float64]{Logits: []float64{0, 1}, Cols: 2, Labels: []int32{-100}}, Output[float64]{}); v != 0 || err != nil {
		t.Errorf("all ignored: %v %v", v, err)
	}
	for _, c := range []struct {
		what string
		in   Input[float64]
		want error
	}{
		{"no labels", Input[float64]{Logits: []float64{0, 1}, Cols: 2}, ErrShape},
		{"label range", Input[float64]{Logits: []float64{0, 1}, Cols: 2, Labels: []int32{2}}, ErrValue},
		{"+inf", Input[float64]{Logits: []float64{math.Inf(1), 1}, Cols: 2, Labels: []int32{0}}, ErrValue},
		{"all −inf", Input[float64]{Logits: []float64{inf, inf}, Cols: 2, Labels: []int32{0}}, ErrValue},
		{"teacher", Input[float64]{Logits: []float64{0, 1}, Cols: 2, Labels: []int32{0}, Teacher: []float64{0, 1}}, ErrShape},
	} {
		_, err := e.Eval64(c.in, Output[float64]{})
		tsrWantErr(t, c.what, err, c.want)
	}
	_, err = e.ForSequences([]int32{1, 2}).Eval64(Input[float64]{Logits: []float64{0, 1}, Cols: 2, Labels: []int32{0}}, Output[float64]{})
	tsrWantErr(t, "ids length", err, ErrShape)
	if _, err := NewEISL(nil); err == nil {
		t.Error("no n-grams accepted")
	}
	if _, _, err := Parse("eisl:ngram=1.5"); err == nil {
		t.Error("ngram 1.5 accepted")
	}
}

// TestEISLRegistrySet: the registered loss takes a set of n-gram sizes
// ("ngram=1+2") and defaults to {1, 2}, the official scripts' and the
// catalog's headline (A25's vector: L(1,2) = 0.605787176517).
func TestEISLRegistrySet(t *testing.T) {
	o := []float64{2, 0, 0.5, 0, 0.5, 2.5, 0.2, 1.8, 0.1}
	y := []int32{0, 2, 1}
	for _, c := range []struct {
		text string
		want float64
	}{
		{"eisl", 0.605787176517},
		{"eisl:ngram=1+2", 0.605787176517},
		{"eisl:ngram=2+1+2", 0.605787176517},
		{"eisl:ngram=1", 0.711285498905},
		{"eisl:ngram=2", 0.500288854129},
		{"eisl:ngram=2,gumbel=0", 0.500288854129},
	} {
		l, _, err := Parse(c.text)
		if err != nil {
			t.Fatalf("%s: %v", c.text, err)
		}
		v, err := l.Eval64(Input[float64]{Logits: o, Cols: 3, Labels: y}, Output[float64]{})
		if err != nil || math.Abs(v-c.want) > 1e-11 {
			t.Errorf("%s = %v, %v; want %v", c.text, v, err, c.want)
		}
	}
	s, _ := Lookup("eisl")
	if got := s.ParamList(); !strings.Contains(got, "ngram=1+2") {
		t.Errorf("parameters listed as %q", got)
	}
	for _, bad := range []string{"eisl:ngram=1+x", "eisl:ngram=1.5+2", "eisl:gumbel=2", "eisl:seed=-1", "eisl:seed=0.5"} {
		if _, _, err := Parse(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// TestEISLGumbel: the official Gumbel noise, seeded: the same seed gives
// the same first evaluation, each evaluation draws fresh noise, the
// thread count does not change the draws, and the gradient is the exact
// gradient of the noisy loss with the noise held (checked by central
// differences over losses that all draw the first noise of the seed).
func TestEISLGumbel(t *testing.T) {
	rng := rand.New(rand.NewPCG(165, 166))
	const rows, cols = 12, 5
	x := tsrRand(rng, rows*cols, 2)
	labels := make([]int32, rows)
	for i := range labels {
		labels[i] = int32(rng.IntN(cols))
	}
	ids := []int32{0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 2}
	mk := func(threads int) *EISL {
		e, err := NewEISL([]int{1, 2}, WithThreads(threads))
		if err != nil {
			t.Fatal(err)
		}
		return e.ForSequences(ids).WithGumbel(42)
	}
	in := Input[float64]{Logits: x, Cols: cols, Labels: labels}
	plain, _ := NewEISL([]int{1, 2})
	vPlain, _ := plain.ForSequences(ids).Eval64(in, Output[float64]{})
	a, b := mk(1), mk(4)
	ga, gb := make([]float64, len(x)), make([]float64, len(x))
	va, err := a.Eval64(in, Output[float64]{Grad: ga})
	if err != nil {
		t.Fatal(err)
	}
	vb, _ := b.Eval64(in, Output[float64]{Grad: gb})
	if va != vb || !slicesEqual(ga, gb) {
		t.Errorf("threads changed the noisy loss: %v vs %v", va, vb)
	}
	if va == vPlain {
		t.Error("the Gumbel noise changed nothing")
	}
	va2, _ := a.Eval64(in, Output[float64]{})
	if va2 == va {
		t.Error("the second evaluation drew the same noise")
	}
	if other, _ := mk(1).Eval64(in, Output[float64]{}); other != va {
		t.Errorf("same seed, first evaluation: %v vs %v", other, va)
	}
	f := func(z []float64) float64 {
		v, err := mk(1).Eval64(Input[float64]{Logits: z, Cols: cols, Labels: labels}, Output[float64]{})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if err := gradcheck.Check(f, ga, x, 1e-6, 1e-8, 1e-6); err != nil {
		t.Errorf("gradient of the noisy loss: %v", err)
	}
	// The registry's gumbel=1 is this loss.
	l, _, err := Parse("eisl:gumbel=1,seed=42")
	if err != nil {
		t.Fatal(err)
	}
	e := l.(*EISL).ForSequences(ids)
	if v, _ := e.Eval64(in, Output[float64]{}); v != va {
		t.Errorf("eisl:gumbel=1,seed=42 = %v, want %v", v, va)
	}
}

// TestGumbelDraw: the noise is Gumbel(0, 1): mean γ (Euler–Mascheroni),
// variance π²/6, and P(g ≤ 0) = exp(−1).
func TestGumbelDraw(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 400000
	var s, s2, below float64
	for range n {
		g := gumbelDraw(r)
		s += g
		s2 += g * g
		if g <= 0 {
			below++
		}
	}
	mean := s / n
	variance := s2/n - mean*mean
	const gamma = 0.5772156649015329
	if math.Abs(mean-gamma) > 0.01 || math.Abs(variance-math.Pi*math.Pi/6) > 0.03 || math.Abs(below/n-math.Exp(-1)) > 0.005 {
		t.Errorf("mean %v (want %v), variance %v (want %v), P(g ≤ 0) %v (want %v)", mean, gamma, variance, math.Pi*math.Pi/6, below/n, math.Exp(-1))
	}
}

func slicesEqual(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
