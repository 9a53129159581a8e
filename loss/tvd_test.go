package loss

import (
	"math"
	"math/rand/v2"
	"testing"
)

func refTVDRow(s, t []float64) float64 {
	p, q := tsrSM(s, 1), tsrSM(t, 1)
	var tv float64
	for k := range p {
		tv += math.Abs(p[k] - q[k])
	}
	return tv / 2
}

func TestTVDReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(71, 72))
	const rows, cols = 5, 4
	s := tsrRand(rng, rows*cols, 2)
	te := tsrRand(rng, rows*cols, 2)
	rw := []float64{2, 1, 0, 1, 0.5}
	tsrVerify(t, tsrCase{
		name: "tvd",
		mk:   func(opts ...Option) (Loss, error) { return NewTVD(opts...) },
		in:   Input[float64]{Logits: s, Cols: cols, Teacher: te, RowWeights: rw},
		den:  4.5,
		ref: func(x []float64) float64 {
			return tsrMeanRows(x, te, cols, rw, nil, func(_ int, s, t []float64) float64 { return refTVDRow(s, t) })
		},
	})
}

func TestTVDEdges(t *testing.T) {
	l, _ := NewTVD()
	inf := math.Inf(-1)
	x := []float64{2, inf, -1, 0}
	g := make([]float64, 4)
	v, err := l.Eval64(Input[float64]{Logits: x, Cols: 4, Teacher: x}, Output[float64]{Grad: g})
	if err != nil || v != 0 || !tsrClose(g, make([]float64, 4), 0, 0) {
		t.Fatalf("self: %v %v %v", v, g, err)
	}
	// Symmetric, and 1 for disjoint supports.
	s, te := []float64{1, 2, 3}, []float64{0, -1, 4}
	a, _ := l.Eval64(Input[float64]{Logits: s, Cols: 3, Teacher: te}, Output[float64]{})
	b, _ := l.Eval64(Input[float64]{Logits: te, Cols: 3, Teacher: s}, Output[float64]{})
	if a != b {
		t.Errorf("not symmetric: %v %v", a, b)
	}
	v, err = l.Eval32(Input[float32]{Logits: []float32{0, float32(inf)}, Cols: 2, Teacher: []float32{float32(inf), 5}}, Output[float32]{})
	if err != nil || v != 1 {
		t.Errorf("disjoint: %v %v", v, err)
	}
	// Tiny differences keep their relative accuracy: p − q ≈ q·(δ − Σqδ).
	base := []float64{0.3, -0.2, 1.1}
	d := []float64{1e-9, 0, -1e-9}
	pert := []float64{base[0] + d[0], base[1], base[2] + d[2]}
	v, _ = l.Eval64(Input[float64]{Logits: pert, Cols: 3, Teacher: base}, Output[float64]{})
	q := tsrSM(base, 1)
	mean := q[0]*d[0] + q[2]*d[2]
	var want float64
	for k := range q {
		want += math.Abs(q[k] * (d[k] - mean))
	}
	want /= 2
	if math.Abs(v-want) > 1e-6*want {
		t.Errorf("tiny: %.10g, want %.10g", v, want)
	}
}
