package embedding

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/xentlab/xent/internal/gradcheck"
)

// refGroupViews returns the normalised views and their labels as the
// definitions of SupCon and Optax's ntxent read them.
func refGroupViews(z, pos []float64, labels []int64, d int) ([][]float64, []int64) {
	n := len(z) / d
	var v [][]float64
	var y []int64
	for k, src := range [][]float64{z, pos} {
		if src == nil {
			continue
		}
		for i := 0; i < n; i++ {
			row := append([]float64(nil), src[i*d:(i+1)*d]...)
			var s float64
			for _, e := range row {
				s += e * e
			}
			for j := range row {
				row[j] /= math.Sqrt(s)
			}
			v = append(v, row)
			lab := int64(i)
			if labels != nil {
				lab = labels[i]
			}
			y = append(y, lab)
		}
		_ = k
	}
	return v, y
}

func refDot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// refSupCon: −(1/|P(a)|) Σ_p log(e^{s_ap}/Σ_{b≠a} e^{s_ab}), averaged over
// the anchors with a positive.
func refSupCon(z, pos []float64, labels []int64, d int, tau float64) float64 {
	v, y := refGroupViews(z, pos, labels, d)
	var total float64
	anchors := 0
	for a := range v {
		var den float64
		for b := range v {
			if b != a {
				den += math.Exp(refDot(v[a], v[b]) / tau)
			}
		}
		var s float64
		np := 0
		for p := range v {
			if p != a && y[p] == y[a] {
				s += math.Log(math.Exp(refDot(v[a], v[p])/tau) / den)
				np++
			}
		}
		if np > 0 {
			total += -s / float64(np)
			anchors++
		}
	}
	if anchors == 0 {
		return 0
	}
	return total / float64(anchors)
}

// refNTXentLabels: Optax's ntxent, each same-label pair against the
// anchor's other-label views, averaged over the pairs.
func refNTXentLabels(z, pos []float64, labels []int64, d int, tau float64) float64 {
	v, y := refGroupViews(z, pos, labels, d)
	var total float64
	pairs := 0
	for a := range v {
		var neg float64
		for b := range v {
			if y[b] != y[a] {
				neg += math.Exp(refDot(v[a], v[b]) / tau)
			}
		}
		for p := range v {
			if p != a && y[p] == y[a] {
				e := math.Exp(refDot(v[a], v[p]) / tau)
				total += -math.Log(e / (e + neg))
				pairs++
			}
		}
	}
	if pairs == 0 {
		return 0
	}
	return total / float64(pairs)
}

func TestGroupLosses(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	const n, d = 6, 3
	for _, c := range []struct {
		labels []int64
		pos    bool
	}{
		{[]int64{0, 0, 1, 1, 1, 2}, false},
		{[]int64{0, 1, 0, 1, 2, 2}, true},
		{nil, true},
		{[]int64{3, 3, 3, 3, 3, 3}, false},
	} {
		for _, tau := range []float64{0.5, 1} {
			z := randRows(rng, n*d)
			var pos []float64
			if c.pos {
				pos = randRows(rng, n*d)
			}
			for _, l := range []struct {
				loss Loss
				ref  func(z, pos []float64, labels []int64, d int, tau float64) float64
			}{
				{&SupCon{tau, true}, refSupCon},
				{&NTXentLabels{tau, true}, refNTXentLabels},
			} {
				in := Input[float64]{Embeddings: z, Positives: pos, Labels: c.labels, Dim: d}
				out := Output[float64]{Grad: make([]float64, n*d)}
				if pos != nil {
					out.GradPositives = make([]float64, n*d)
				}
				v, err := l.loss.Eval64(in, out)
				if err != nil {
					t.Fatal(err)
				}
				want := l.ref(z, pos, c.labels, d, tau)
				if math.Abs(v-want) > 1e-13*max(1, want) {
					t.Errorf("%s %v: loss %.15g, reference %.15g", l.loss.Name(), c.labels, v, want)
				}
				f := func([]float64) float64 { return l.ref(z, pos, c.labels, d, tau) }
				if err := gradcheck.Check(f, out.Grad, z, 1e-6, 1e-7, 1e-5); err != nil {
					t.Errorf("%s %v: embeddings: %v", l.loss.Name(), c.labels, err)
				}
				if pos != nil {
					if err := gradcheck.Check(f, out.GradPositives, pos, 1e-6, 1e-7, 1e-5); err != nil {
						t.Errorf("%s %v: positives: %v", l.loss.Name(), c.labels, err)
					}
				}
			}
		}
	}
}

// TestGroupLossesIdentities: with two views per item and no labels both
// are SimCLR's NT-Xent; Optax's docstring example gives log 3.
func TestGroupLossesIdentities(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	const n, d = 5, 4
	z, pos := randRows(rng, n*d), randRows(rng, n*d)
	nt, _ := NewNTXent(0.5, true)
	g0, p0 := make([]float64, n*d), make([]float64, n*d)
	want, _ := nt.Eval64(Input[float64]{Embeddings: z, Positives: pos, Dim: d}, Output[float64]{Grad: g0, GradPositives: p0})
	for _, l := range []Loss{&SupCon{0.5, true}, &NTXentLabels{0.5, true}} {
		g, p := make([]float64, n*d), make([]float64, n*d)
		v, err := l.Eval64(Input[float64]{Embeddings: z, Positives: pos, Dim: d}, Output[float64]{Grad: g, GradPositives: p})
		if err != nil || math.Abs(v-want) > 1e-14 {
			t.Errorf("%s: %v (%v), nt-xent %v", l.Name(), v, err, want)
		}
		for i := range g {
			if math.Abs(g[i]-g0[i]) > 1e-13 || math.Abs(p[i]-p0[i]) > 1e-13 {
				t.Fatalf("%s: gradient differs from nt-xent at %d", l.Name(), i)
			}
		}
	}
	// Optax: ntxent([[0.0897], [1.6291], [0.8623], [0.1361]], [0, 0, 1, 1]) = 1.0986123.
	emb := []float64{0.08969027, 1.6291292, 0.8622629, 0.13612625}
	l, _, _ := Parse("nt-xent-labels")
	v, err := l.Eval64(Input[float64]{Embeddings: emb, Labels: []int64{0, 0, 1, 1}, Dim: 1}, Output[float64]{})
	if err != nil || math.Abs(v-math.Log(3)) > 1e-12 {
		t.Errorf("Optax's example: %v (%v), want log 3", v, err)
	}
	// Neither labels nor positives: an error; no positive pair: loss 0.
	for _, l := range []Loss{&SupCon{0.1, true}, &NTXentLabels{0.1, true}} {
		if _, err := l.Eval64(Input[float64]{Embeddings: z, Dim: d}, Output[float64]{}); !errors.Is(err, ErrShape) {
			t.Errorf("%s without labels or positives: %v", l.Name(), err)
		}
		v, err := l.Eval64(Input[float64]{Embeddings: z, Labels: []int64{0, 1, 2, 3, 4}, Dim: d}, Output[float64]{Grad: make([]float64, n*d)})
		if err != nil || v != 0 {
			t.Errorf("%s without positive pairs: %v %v", l.Name(), v, err)
		}
	}
}
