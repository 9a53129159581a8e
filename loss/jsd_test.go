package loss

import (
	"math"
	"math/rand/v2"
	"testing"
)

// refJSDRow computes β·KL(q‖m) + (1−β)·KL(p‖m) from the probabilities.
func refJSDRow(s, t []float64, beta, T float64) float64 {
	p, q := tsrSM(s, T), tsrSM(t, T)
	var js float64
	for k := range p {
		m := beta*q[k] + (1-beta)*p[k]
		if q[k] > 0 {
			js += beta * q[k] * math.Log(q[k]/m)
		}
		if p[k] > 0 {
			js += (1 - beta) * p[k] * math.Log(p[k]/m)
		}
	}
	return js
}

func TestJSDReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	const rows, cols = 4, 5
	for _, beta := range []float64{0.1, 0.5, 0.9} {
		for _, T := range []float64{1, 2} {
			s := tsrRand(rng, rows*cols, 2)
			te := tsrRand(rng, rows*cols, 2)
			b, tt := beta, T
			tsrVerify(t, tsrCase{
				name: "jsd",
				mk:   func(opts ...Option) (Loss, error) { return NewJSD(b, tt, opts...) },
				in:   Input[float64]{Logits: s, Cols: cols, Teacher: te},
				den:  rows,
				ref: func(x []float64) float64 {
					return tsrMeanRows(x, te, cols, nil, nil, func(_ int, s, t []float64) float64 { return refJSDRow(s, t, b, tt) })
				},
			})
		}
	}
}

func TestJSDIdentities(t *testing.T) {
	rng := rand.New(rand.NewPCG(63, 64))
	const rows, cols = 3, 6
	s := tsrRand(rng, rows*cols, 3)
	te := tsrRand(rng, rows*cols, 3)
	eval := func(l Loss, s, te []float64) (float64, []float64) {
		g := make([]float64, len(s))
		v, err := l.Eval64(Input[float64]{Logits: s, Cols: cols, Teacher: te}, Output[float64]{Grad: g})
		if err != nil {
			t.Fatal(err)
		}
		return v, g
	}
	// Swapping student and teacher swaps β and 1−β; β = 0.5 is symmetric.
	for _, b := range []float64{0.2, 0.5} {
		l1, _ := NewJSD(b, 1)
		l2, _ := NewJSD(1-b, 1)
		v1, _ := eval(l1, s, te)
		v2, _ := eval(l2, te, s)
		if math.Abs(v1-v2) > 1e-14 {
			t.Errorf("β=%v: %v, swapped %v", b, v1, v2)
		}
	}
	// β = 0 is KL(teacher ‖ student) = kd/T², β = 1 is reverse-kl/T².
	for _, T := range []float64{1, 2} {
		j0, _ := NewJSD(0, T)
		kd, _ := NewKD(T)
		v, g := eval(j0, s, te)
		w, gw := eval(kd, s, te)
		if math.Abs(v*T*T-w) > 1e-13*w {
			t.Errorf("β=0 T=%v: %v·T², kd %v", T, v, w)
		}
		for j := range g {
			gw[j] /= T * T
		}
		if !tsrClose(g, gw, 1e-16, 1e-12) {
			t.Errorf("β=0 gradient %v, kd/T² %v", g, gw)
		}
		j1, _ := NewJSD(1, T)
		rk, _ := NewReverseKL(T)
		v, g = eval(j1, s, te)
		w, gw = eval(rk, s, te)
		for j := range g {
			gw[j] /= T * T
		}
		if math.Abs(v*T*T-w) > 1e-13*w || !tsrClose(g, gw, 1e-16, 1e-12) {
			t.Errorf("β=1 T=%v: %v, reverse-kl %v", T, v, w)
		}
	}
	// Near-equal distributions keep a relatively accurate divergence:
	// JSD_β ≈ β(1−β)/2·Σ q·ε² for p = q·(1+ε) (ε ~ 1e-6; the expansion's
	// own error is O(ε)), far below what subtracting rounded logarithms
	// would give.
	const b = 0.3
	l, _ := NewJSD(b, 1)
	base := []float64{0.5, -1, 2, 0.25}
	d := []float64{1e-6, -2e-6, 0.5e-6, 3e-6}
	pert := make([]float64, 4)
	for k := range base {
		pert[k] = base[k] + d[k]
	}
	v, _ := l.Eval64(Input[float64]{Logits: pert, Cols: 4, Teacher: base}, Output[float64]{})
	q := tsrSM(base, 1)
	var mean float64
	for k := range q {
		mean += q[k] * d[k]
	}
	var chi float64
	for k := range q {
		e := d[k] - mean // p/q − 1 to first order
		chi += q[k] * e * e
	}
	want := b * (1 - b) / 2 * chi
	if math.Abs(v-want) > 1e-4*want {
		t.Errorf("near-equal: %.6g, expansion %.6g", v, want)
	}
}

func TestJSDEdges(t *testing.T) {
	l, _ := NewJSD(0.5, 1)
	inf := math.Inf(-1)
	// Equal rows: exactly 0.
	x := []float64{3, -1, 0, 1e4, inf}
	g := make([]float64, 5)
	v, err := l.Eval64(Input[float64]{Logits: x, Cols: 5, Teacher: x}, Output[float64]{Grad: g})
	if err != nil || v != 0 || !tsrClose(g, make([]float64, 5), 0, 0) {
		t.Fatalf("self: %v %v %v", v, g, err)
	}
	// Disjoint supports through masks: log 2, finite both ways.
	v, err = l.Eval64(Input[float64]{Logits: []float64{0, inf}, Cols: 2, Teacher: []float64{inf, 0}}, Output[float64]{Grad: make([]float64, 2)})
	if err != nil || math.Abs(v-math.Ln2) > 1e-15 {
		t.Fatalf("disjoint: %v %v", v, err)
	}
	// Masks against a reference that drops nothing.
	s := []float64{1, inf, 0.5, 2}
	te := []float64{0, 1, inf, -1}
	gs := make([]float64, 4)
	v, err = l.Eval64(Input[float64]{Logits: s, Cols: 4, Teacher: te}, Output[float64]{Grad: gs})
	if want := refJSDRow(s, te, 0.5, 1); err != nil || math.Abs(v-want) > 1e-14 {
		t.Fatalf("masks: %v, want %v (%v)", v, want, err)
	}
	if gs[1] != 0 {
		t.Fatalf("masked gradient %v", gs)
	}
	// Huge logits: bounded by log 2.
	v, err = l.Eval32(Input[float32]{Logits: []float32{1e4, -1e4, 0}, Cols: 3, Teacher: []float32{-1e4, 1e4, 0}}, Output[float32]{})
	if err != nil || math.Abs(v-math.Ln2) > 1e-6 {
		t.Fatalf("huge: %v %v", v, err)
	}
	for _, b := range []float64{-0.1, 1.1, math.NaN()} {
		if _, err := NewJSD(b, 1); err == nil {
			t.Errorf("beta %v accepted", b)
		}
	}
}
