package loss

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/xentlab/xent/internal/gradcheck"
)

// refDCO is −log(1 − (1 − p_y)^N) with the plain formula (fine at the
// random tests' scales).
func refDCO(n float64) hardRef {
	return func(x []float64, y int) float64 {
		p := refSoftmax(x)[y]
		return -math.Log(1 - math.Pow(1-p, n))
	}
}

func TestDCOSuite(t *testing.T) {
	for _, n := range []float64{1, 2.5, 4, 16} {
		t.Run(fmt.Sprint("n=", n), func(t *testing.T) {
			hardSuite{
				build:   func(opts ...Option) (Loss, error) { return NewDCO(n, opts...) },
				ref:     refDCO(n),
				weights: true, masks: true,
			}.run(t)
		})
	}
}

// TestDCOCatalog: catalog A8's table, as functions of log p̂, recomputed
// with mpmath (they agree; the catalog's "≈ −3.197e-19" is
// −3.19722694131e-19). A two-class row [log p̂ − log(1 − p̂), 0] with label
// 0 has p_0 = p̂, and ∂ℓ/∂z_0 = −F·(1 − p̂).
func TestDCOCatalog(t *testing.T) {
	cases := []struct {
		logp, n, loss, dlogp float64
	}{
		{-2, 1, 2, -1},
		{-2, 4, 0.818649530801, -0.793504171702},
		{-2, 16, 0.102725788961, -0.270932014973},
		{-0.05, 4, 5.65760665626e-6, -0.000441388857305},
		{-0.05, 16, 1.02453331652e-21, -3.19722694131e-19},
		{-30, 4, 28.6137056389, -1},
	}
	for _, c := range cases {
		l, _ := NewDCO(c.n)
		a := -c.logp
		loss, f := dcoTerms(a, c.n)
		if math.Abs(loss-c.loss) > 1e-11*c.loss || math.Abs(-f-c.dlogp) > 1e-10*math.Abs(c.dlogp) {
			t.Errorf("log p %v N %v: loss %.12g F %.12g, want %.12g and %.12g", c.logp, c.n, loss, f, c.loss, -c.dlogp)
		}
		p := math.Exp(c.logp)
		x := []float64{c.logp - math.Log1p(-p), 0}
		g := make([]float64, 2)
		v, err := l.Eval64(Input[float64]{Logits: x, Cols: 2, Labels: []int32{0}}, Output[float64]{Grad: g})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(v-c.loss) > 1e-9*c.loss {
			t.Errorf("log p %v N %v: row loss %.12g, want %.12g", c.logp, c.n, v, c.loss)
		}
		if want := c.dlogp * (1 - p); math.Abs(g[0]-want) > 1e-9*math.Abs(want) {
			t.Errorf("log p %v N %v: target gradient %.12g, want %.12g", c.logp, c.n, g[0], want)
		}
	}
	// Far tails: p̂ → 0 (a > 700) and p̂ = 1 exactly.
	if l, f := dcoTerms(1000, 4); math.Abs(l-(1000-math.Log(4))) > 1e-12*l || f != 1 {
		t.Errorf("a = 1000: %v %v", l, f)
	}
	if l, f := dcoTerms(0, 4); l != 0 || f != 0 {
		t.Errorf("a = 0: %v %v", l, f)
	}
	// A confident float32 row keeps its 1e-21 loss.
	l, _ := NewDCO(16)
	x := []float32{float32(-0.05 - math.Log1p(-math.Exp(-0.05))), 0}
	v, _ := l.Eval32(Input[float32]{Logits: x, Cols: 2, Labels: []int32{0}}, Output[float32]{})
	if math.Abs(v-1.02453331652e-21) > 1e-4*1.02453331652e-21 {
		t.Errorf("float32 confident row: %g", v)
	}
}

// refDCOSeq is the sequence loss from log-probabilities: log p̂_g = Σ_t
// log p_t over the counted tokens of sequence g.
func refDCOSeq(x []float64, cols int, labels []int32, groups []int32, n float64, G int, mean bool) float64 {
	lp := make([]float64, G)
	has := make([]bool, G)
	for i, g := range groups {
		if labels[i] == -100 {
			continue
		}
		lp[g] += refLogSoftmax(x[i*cols : (i+1)*cols])[labels[i]]
		has[g] = true
	}
	var total float64
	cnt := 0
	for g := range lp {
		if has[g] {
			total += -math.Log(1 - math.Pow(1-math.Exp(lp[g]), n))
			cnt++
		}
	}
	if mean && cnt > 0 {
		total /= float64(cnt)
	}
	return total
}

func TestDCOSequences(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	const rows, cols = 9, 5
	x := randLogits(rng, rows*cols, 1.5)
	labels := []int32{0, 1, -100, 4, 2, 2, 3, 0, 1}
	groups := []int32{0, 0, 0, 2, 2, 1, 0, 3, 3} // sequence 0 is not contiguous; 3 holds the last two rows
	for _, red := range []Reduction{Mean, Sum, None} {
		for _, n := range []float64{1, 4} {
			d, _ := NewDCO(n, WithReduction(red))
			g := make([]float64, len(x))
			seq := make([]float64, 4)
			v, err := DCOSequences(d, Input[float64]{Logits: x, Cols: cols, Labels: labels}, groups, g, seq)
			if err != nil {
				t.Fatal(err)
			}
			f := func(x []float64) float64 { return refDCOSeq(x, cols, labels, groups, n, 4, red == Mean) }
			want := f(x)
			if !near(v, want, 1e-12) {
				t.Errorf("%v n %v: %v, reference %v", red, n, v, want)
			}
			if err := gradcheck.Check(f, g, x, 1e-5, 1e-8, 1e-6); err != nil {
				t.Errorf("%v n %v: %v", red, n, err)
			}
			for j := 2 * cols; j < 3*cols; j++ {
				if g[j] != 0 {
					t.Fatal("ignored token has a gradient")
				}
			}
			var sum float64
			for _, s := range seq {
				sum += s
			}
			if red != Mean && !near(sum, v, 1e-14) {
				t.Errorf("sequence losses %v add to %v, not %v", seq, sum, v)
			}
		}
	}
	// Sequences of one token each are the per-row loss; float32 works.
	d, _ := NewDCO(4)
	x32 := make([]float32, len(x))
	for i, v := range x {
		x32[i] = float32(v)
	}
	ids := []int32{0, 1, 2, 3, 4, 5, 6, 7, 8}
	lab := []int32{0, 1, 3, 4, 2, 2, 3, 0, 1}
	g1, g2 := make([]float32, len(x)), make([]float32, len(x))
	v1, err1 := DCOSequences(d, Input[float32]{Logits: x32, Cols: cols, Labels: lab}, ids, g1, nil)
	v2, err2 := d.Eval32(Input[float32]{Logits: x32, Cols: cols, Labels: lab}, Output[float32]{Grad: g2})
	if err1 != nil || err2 != nil || !near(v1, v2, 1e-12) {
		t.Fatalf("one-token sequences: %v %v, %v %v", v1, v2, err1, err2)
	}
	for i := range g1 {
		if g1[i] != g2[i] {
			t.Fatalf("one-token sequences: grad[%d] %v vs %v", i, g1[i], g2[i])
		}
	}
	// Errors.
	in := Input[float64]{Logits: x, Cols: cols, Labels: labels}
	for _, c := range []struct {
		groups []int32
		seq    []float64
		d      *DCO
	}{
		{groups[:3], nil, d},
		{[]int32{0, 0, 0, 0, 0, 0, 0, 0, 9}, nil, d},
		{[]int32{0, 0, 0, 0, 0, 0, 0, 0, -1}, nil, d},
		{groups, make([]float64, 3), d},
	} {
		if _, err := DCOSequences(c.d, in, c.groups, nil, c.seq); err == nil {
			t.Errorf("groups %v, seqLoss %d accepted", c.groups, len(c.seq))
		}
	}
	none, _ := NewDCO(4, WithReduction(None))
	if _, err := DCOSequences(none, in, groups, nil, nil); err == nil {
		t.Error("none without seqLoss accepted")
	}
	rw := in
	rw.RowWeights = make([]float64, rows)
	if _, err := DCOSequences(d, rw, groups, nil, nil); err == nil {
		t.Error("row weights accepted")
	}
}
