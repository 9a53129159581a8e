package loss

import (
	"math"
	"math/rand/v2"
	"testing"
)

func refListwiseRow(s, t []float64, T float64) float64 {
	p, lq := tsrSM(t, T), tsrLSM(s, 1)
	var ce float64
	for k := range p {
		if p[k] > 0 {
			ce -= p[k] * lq[k]
		}
	}
	return ce
}

func TestListwiseCatalogVector(t *testing.T) {
	// Catalog B26 (recomputed with mpmath): L_ret = 1.06087441915,
	// ∂/∂s^q = [−0.4955873066, 0.4599017936, 0.03568551301].
	l, _ := NewListwise(1)
	g := make([]float64, 3)
	v, err := l.Eval64(Input[float64]{Logits: []float64{1, 1.5, -0.5}, Cols: 3, Teacher: []float64{3, 1, 0}}, Output[float64]{Grad: g})
	if err != nil || math.Abs(v-1.06087441915) > 1e-10 || !tsrClose(g, []float64{-0.4955873066, 0.4599017936, 0.03568551301}, 1e-10, 0) {
		t.Fatalf("%v %v %v", v, g, err)
	}
}

func TestListwiseReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(81, 82))
	const rows, cols = 3, 8
	for _, T := range []float64{1, 3} {
		s := tsrRand(rng, rows*cols, 2)
		te := tsrRand(rng, rows*cols, 2)
		tt := T
		tsrVerify(t, tsrCase{
			name: "listwise",
			mk:   func(opts ...Option) (Loss, error) { return NewListwise(tt, opts...) },
			in:   Input[float64]{Logits: s, Cols: cols, Teacher: te},
			den:  rows,
			ref: func(x []float64) float64 {
				return tsrMeanRows(x, te, cols, nil, nil, func(_ int, s, t []float64) float64 { return refListwiseRow(s, t, tt) })
			},
		})
	}
}

// listwise(T=1) = sce(α=0) and = kd(T=1) + H(teacher).
func TestListwiseIdentities(t *testing.T) {
	rng := rand.New(rand.NewPCG(83, 84))
	const rows, cols = 4, 5
	s := tsrRand(rng, rows*cols, 2)
	te := tsrRand(rng, rows*cols, 2)
	in := Input[float64]{Logits: s, Cols: cols, Teacher: te}
	lw, _ := NewListwise(1)
	sc, _ := NewSCE(0, math.Inf(-1))
	kd, _ := NewKD(1)
	g1, g2 := make([]float64, len(s)), make([]float64, len(s))
	v1, _ := lw.Eval64(in, Output[float64]{Grad: g1})
	v2, _ := sc.Eval64(in, Output[float64]{Grad: g2})
	v3, _ := kd.Eval64(in, Output[float64]{})
	var h float64
	for i := 0; i < rows; i++ {
		q := tsrSM(te[i*cols:(i+1)*cols], 1)
		for _, v := range q {
			h -= v * math.Log(v)
		}
	}
	h /= rows
	if math.Abs(v1-v2) > 1e-14 || !tsrClose(g1, g2, 1e-16, 1e-13) || math.Abs(v1-(v3+h)) > 1e-13 {
		t.Fatalf("listwise %v, sce α=0 %v, kd+H %v", v1, v2, v3+h)
	}
}
