package loss

import (
	"math"
	"math/rand/v2"
	"testing"
)

func refGPGRow(s, t []float64, y int, alpha, T float64) float64 {
	q, lq, lpT, lp := tsrSM(t, T), tsrLSM(t, T), tsrLSM(s, T), tsrLSM(s, 1)
	var kl float64
	for k := range q {
		if q[k] > 0 {
			kl += q[k] * (lq[k] - lpT[k])
		}
	}
	return alpha*T*T*kl - (1-alpha)*lp[y]
}

func TestGPGCatalogVector(t *testing.T) {
	// Catalog A21 (recomputed with mpmath): teacher [2, 0.5, −1], student
	// [1, 1, 0], y = 0, α = 0.5; τ = 1: L = 0.570758788354,
	// ∇ = [−0.470479719, 0.3346736022, 0.1358061169]; τ = 2:
	// L = 0.609981762124, ∇ = [−0.4949865333, 0.3162104411, 0.1787760922].
	for _, c := range []struct {
		T, v float64
		g    []float64
	}{
		{1, 0.570758788354, []float64{-0.470479719, 0.3346736022, 0.1358061169}},
		{2, 0.609981762124, []float64{-0.4949865333, 0.3162104411, 0.1787760922}},
	} {
		l, _ := NewGPG(0.5, c.T)
		g := make([]float64, 3)
		v, err := l.Eval64(Input[float64]{Logits: []float64{1, 1, 0}, Cols: 3, Teacher: []float64{2, 0.5, -1}, Labels: []int32{0}}, Output[float64]{Grad: g})
		if err != nil || math.Abs(v-c.v) > 1e-11 || !tsrClose(g, c.g, 1e-9, 0) {
			t.Errorf("τ=%v: %v %v %v", c.T, v, g, err)
		}
	}
}

func TestGPGReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(111, 112))
	const rows, cols = 4, 5
	for _, alpha := range []float64{0, 0.5, 1} {
		for _, T := range []float64{1, 2} {
			s := tsrRand(rng, rows*cols, 2)
			te := tsrRand(rng, rows*cols, 2)
			labels := []int32{1, -100, 4, 0}
			a, tt := alpha, T
			tsrVerify(t, tsrCase{
				name: "gpg",
				mk:   func(opts ...Option) (Loss, error) { return NewGPG(a, tt, opts...) },
				in:   Input[float64]{Logits: s, Cols: cols, Teacher: te, Labels: labels},
				den:  3,
				ref: func(x []float64) float64 {
					return tsrMeanRows(x, te, cols, nil, func(i int) bool { return labels[i] == -100 },
						func(i int, s, t []float64) float64 { return refGPGRow(s, t, int(labels[i]), a, tt) })
				},
			})
		}
	}
}

// At τ = 1, GPG is cross-entropy against the soft target α·q + (1−α)·e_y;
// α = 1 is kd·1 and α = 0 is cross-entropy.
func TestGPGIdentities(t *testing.T) {
	rng := rand.New(rand.NewPCG(113, 114))
	const rows, cols = 3, 4
	s := tsrRand(rng, rows*cols, 2)
	te := tsrRand(rng, rows*cols, 2)
	labels := []int32{2, 0, 3}
	const a = 0.3
	soft := make([]float64, len(s))
	var h float64 // α·H(q), the constant between the two
	for i := 0; i < rows; i++ {
		q := tsrSM(te[i*cols:(i+1)*cols], 1)
		for k, v := range q {
			soft[i*cols+k] = a * v
			h -= a * v * math.Log(v)
		}
		soft[i*cols+int(labels[i])] += 1 - a
	}
	h /= rows
	l, _ := NewGPG(a, 1)
	ce, _ := NewCrossEntropy()
	g1, g2 := make([]float64, len(s)), make([]float64, len(s))
	v1, err1 := l.Eval64(Input[float64]{Logits: s, Cols: cols, Teacher: te, Labels: labels}, Output[float64]{Grad: g1})
	v2, err2 := ce.Eval64(Input[float64]{Logits: s, Cols: cols, Targets: soft}, Output[float64]{Grad: g2})
	if err1 != nil || err2 != nil || math.Abs(v1+h-v2) > 1e-13 || !tsrClose(g1, g2, 1e-16, 1e-12) {
		t.Fatalf("gpg %v+αH %v, soft CE %v; %v %v", v1, v1+h, v2, err1, err2)
	}
}

func TestGPGEdges(t *testing.T) {
	inf := math.Inf(-1)
	l, _ := NewGPG(0.5, 1)
	_, err := l.Eval64(Input[float64]{Logits: []float64{inf, 1}, Cols: 2, Teacher: []float64{inf, 0}, Labels: []int32{0}}, Output[float64]{})
	tsrWantErr(t, "masked target", err, ErrValue)
	_, err = l.Eval64(Input[float64]{Logits: []float64{inf, 1}, Cols: 2, Teacher: []float64{0, 0}, Labels: []int32{1}}, Output[float64]{})
	tsrWantErr(t, "mask under teacher mass", err, ErrValue)
	// α = 0 ignores the teacher's masks; α = 1 the label's.
	l0, _ := NewGPG(0, 1)
	if _, err := l0.Eval64(Input[float64]{Logits: []float64{inf, 1}, Cols: 2, Teacher: []float64{0, 0}, Labels: []int32{1}}, Output[float64]{}); err != nil {
		t.Error(err)
	}
	l1, _ := NewGPG(1, 1)
	if _, err := l1.Eval64(Input[float64]{Logits: []float64{inf, 1}, Cols: 2, Teacher: []float64{inf, 0}, Labels: []int32{0}}, Output[float64]{}); err != nil {
		t.Error(err)
	}
	if _, err := NewGPG(1.5, 1); err == nil {
		t.Error("alpha 1.5 accepted")
	}
}
