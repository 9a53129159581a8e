package loss

import (
	"math"
	"math/rand/v2"
	"testing"
)

func refReverseKLRow(s, t []float64, T float64) float64 {
	p, lp, lq := tsrSM(s, T), tsrLSM(s, T), tsrLSM(t, T)
	var kl float64
	for k := range s {
		if p[k] > 0 {
			kl += p[k] * (lp[k] - lq[k])
		}
	}
	return T * T * kl
}

func TestReverseKLReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	const rows, cols = 4, 6
	for _, T := range []float64{1, 2.5} {
		s := tsrRand(rng, rows*cols, 2)
		te := tsrRand(rng, rows*cols, 2)
		rw := []float64{1, 0.25, 3, 1}
		tt := T
		tsrVerify(t, tsrCase{
			name: "reverse-kl",
			mk:   func(opts ...Option) (Loss, error) { return NewReverseKL(tt, opts...) },
			in:   Input[float64]{Logits: s, Cols: cols, Teacher: te, RowWeights: rw},
			den:  5.25,
			ref: func(x []float64) float64 {
				return tsrMeanRows(x, te, cols, rw, nil, func(_ int, s, t []float64) float64 { return refReverseKLRow(s, t, tt) })
			},
		})
	}
}

// reverse-kl(student, teacher) = kd with the two exchanged.
func TestReverseKLIsKDSwapped(t *testing.T) {
	rng := rand.New(rand.NewPCG(53, 54))
	const rows, cols = 5, 4
	s := tsrRand(rng, rows*cols, 3)
	te := tsrRand(rng, rows*cols, 3)
	for _, T := range []float64{1, 3} {
		r, _ := NewReverseKL(T)
		k, _ := NewKD(T)
		v1, err1 := r.Eval64(Input[float64]{Logits: s, Cols: cols, Teacher: te}, Output[float64]{})
		v2, err2 := k.Eval64(Input[float64]{Logits: te, Cols: cols, Teacher: s}, Output[float64]{})
		if err1 != nil || err2 != nil || math.Abs(v1-v2) > 1e-13*v2 {
			t.Fatalf("T=%v: reverse-kl %v (%v), kd swapped %v (%v)", T, v1, err1, v2, err2)
		}
	}
}

func TestReverseKLEdges(t *testing.T) {
	l, _ := NewReverseKL(2)
	inf := math.Inf(-1)
	// The teacher equal to the student: exactly 0, gradient 0.
	x := []float32{1, -3, 2.5, 7, float32(inf)}
	g := make([]float32, len(x))
	v, err := l.Eval32(Input[float32]{Logits: x, Cols: 5, Teacher: x}, Output[float32]{Grad: g})
	if err != nil || v != 0 {
		t.Fatalf("self: %v %v", v, err)
	}
	for _, e := range g {
		if e != 0 {
			t.Fatalf("self gradient %v", g)
		}
	}
	// A student mask is fine (no mass); a teacher mask under student mass
	// is an infinite divergence.
	if _, err := l.Eval64(Input[float64]{Logits: []float64{inf, 0, 1}, Cols: 3, Teacher: []float64{0, 0, 1}}, Output[float64]{}); err != nil {
		t.Fatal(err)
	}
	_, err = l.Eval64(Input[float64]{Logits: []float64{0, 0, 1}, Cols: 3, Teacher: []float64{inf, 0, 1}}, Output[float64]{})
	tsrWantErr(t, "teacher mask", err, ErrValue)
	// Huge logits.
	s := []float64{1e4, 0, -1e4}
	te := []float64{9990, 1e4, 0}
	v64, err := l.Eval64(Input[float64]{Logits: s, Cols: 3, Teacher: te}, Output[float64]{})
	want := refReverseKLRow(s, te, 2)
	if err != nil || math.Abs(v64-want) > 1e-12*want {
		t.Fatalf("huge: %v, want %v (%v)", v64, want, err)
	}
	for _, T := range []float64{0, -1, math.Inf(1), math.NaN()} {
		if _, err := NewReverseKL(T); err == nil {
			t.Errorf("temperature %v accepted", T)
		}
	}
}
