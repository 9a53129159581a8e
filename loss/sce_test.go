package loss

import (
	"math"
	"math/rand/v2"
	"testing"
)

func refSCERow(s, t []float64, alpha float64, soft bool, floor float64) float64 {
	lp := tsrLSM(s, 1)
	var q, lq []float64
	if soft {
		q = t
		lq = make([]float64, len(t))
		for k, v := range t {
			lq[k] = math.Log(v)
		}
	} else {
		q, lq = tsrSM(t, 1), tsrLSM(t, 1)
	}
	var f, r float64
	for k := range s {
		L := math.Max(lq[k], floor)
		if q[k] > 0 {
			f -= q[k] * lp[k]
		}
		if p := math.Exp(lp[k]); p > 0 {
			r -= p * L
		}
	}
	return (1-alpha)*f + alpha*r
}

func TestSCECatalogVector(t *testing.T) {
	// Catalog A27, recomputed with mpmath: SCE = 1.1298430727,
	// ∂/∂z_s = [0.1258216062, −0.0749698912, −0.05085171496].
	l, err := NewSCE(0.5, math.Inf(-1))
	if err != nil {
		t.Fatal(err)
	}
	g := make([]float64, 3)
	v, err := l.Eval64(Input[float64]{Logits: []float64{1, 0, -1}, Cols: 3, Teacher: []float64{0.5, 0.5, 0}}, Output[float64]{Grad: g})
	if err != nil || math.Abs(v-1.1298430727) > 1e-10 {
		t.Fatalf("loss %.12g, %v", v, err)
	}
	if !tsrClose(g, []float64{0.1258216062, -0.0749698912, -0.05085171496}, 1e-10, 0) {
		t.Fatalf("grad %v", g)
	}
}

func TestSCEReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	const rows, cols = 4, 5
	for _, alpha := range []float64{0, 0.3, 0.5, 1} {
		for _, scale := range []float64{1, 4} {
			s := tsrRand(rng, rows*cols, scale)
			te := tsrRand(rng, rows*cols, scale)
			rw := []float64{1, 0.5, 2, 0}
			a := alpha
			tsrVerify(t, tsrCase{
				name: "sce teacher",
				mk: func(opts ...Option) (Loss, error) {
					return NewSCE(a, math.Inf(-1), opts...)
				},
				in:  Input[float64]{Logits: s, Cols: cols, Teacher: te, RowWeights: rw},
				den: 3.5,
				ref: func(x []float64) float64 {
					return tsrMeanRows(x, te, cols, rw, nil, func(_ int, s, t []float64) float64 { return refSCERow(s, t, a, false, math.Inf(-1)) })
				},
			})
			// Soft targets: random distributions (not normalised in one row).
			q := make([]float64, rows*cols)
			for i := range q {
				q[i] = rng.Float64() + 0.01
			}
			tsrVerify(t, tsrCase{
				name: "sce soft",
				mk: func(opts ...Option) (Loss, error) {
					return NewSCE(a, -3, opts...)
				},
				in:  Input[float64]{Logits: s, Cols: cols, Targets: q},
				den: rows,
				ref: func(x []float64) float64 {
					return tsrMeanRows(x, q, cols, nil, nil, func(_ int, s, t []float64) float64 { return refSCERow(s, t, a, true, -3) })
				},
			})
		}
	}
}

// α = 0 is cross-entropy against the teacher's softmax as soft targets.
func TestSCEAlphaZeroIsSoftCrossEntropy(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	const rows, cols = 3, 7
	s := tsrRand(rng, rows*cols, 3)
	te := tsrRand(rng, rows*cols, 3)
	q := make([]float64, len(te))
	for i := 0; i < rows; i++ {
		copy(q[i*cols:], tsrSM(te[i*cols:(i+1)*cols], 1))
	}
	l, _ := NewSCE(0, math.Inf(-1))
	ce, _ := NewCrossEntropy()
	g1, g2 := make([]float64, len(s)), make([]float64, len(s))
	v1, err1 := l.Eval64(Input[float64]{Logits: s, Cols: cols, Teacher: te}, Output[float64]{Grad: g1})
	v2, err2 := ce.Eval64(Input[float64]{Logits: s, Cols: cols, Targets: q}, Output[float64]{Grad: g2})
	if err1 != nil || err2 != nil || math.Abs(v1-v2) > 1e-13 || !tsrClose(g1, g2, 1e-15, 1e-12) {
		t.Fatalf("sce α=0 %v (%v), soft CE %v (%v)\n%v\n%v", v1, err1, v2, err2, g1, g2)
	}
}

// Wang et al.'s SCE with one-hot labels and log 0 clamped to A = −4 has
// the closed form (1−α)(−log p_y) + α·(−A)·(1 − p_y).
func TestSCEOneHotWithFloor(t *testing.T) {
	s := []float64{2, -1, 0.5, 0}
	y := []float64{0, 0, 1, 0}
	const alpha = 0.4
	l, err := NewSCE(alpha, -4)
	if err != nil {
		t.Fatal(err)
	}
	v, err := l.Eval64(Input[float64]{Logits: s, Cols: 4, Targets: y}, Output[float64]{})
	p := tsrSM(s, 1)
	want := (1-alpha)*-math.Log(p[2]) + alpha*4*(1-p[2])
	if err != nil || math.Abs(v-want) > 1e-14 {
		t.Fatalf("%v (%v), want %v", v, err, want)
	}
	// Without the floor the reverse term is infinite: an error.
	l, _ = NewSCE(alpha, math.Inf(-1))
	_, err = l.Eval64(Input[float64]{Logits: s, Cols: 4, Targets: y}, Output[float64]{})
	tsrWantErr(t, "one-hot without floor", err, ErrValue)
	// α = 0 needs no floor.
	l, _ = NewSCE(0, math.Inf(-1))
	if _, err := l.Eval64(Input[float64]{Logits: s, Cols: 4, Targets: y}, Output[float64]{}); err != nil {
		t.Fatal(err)
	}
}

func TestSCEEdges(t *testing.T) {
	l, _ := NewSCE(0.5, math.Inf(-1))
	inf := math.Inf(-1)
	// One class: both distributions are [1]; loss and gradient 0.
	g := []float64{7}
	v, err := l.Eval64(Input[float64]{Logits: []float64{3}, Cols: 1, Teacher: []float64{-2}}, Output[float64]{Grad: g})
	if err != nil || v != 0 || g[0] != 0 {
		t.Fatalf("one class: %v %v %v", v, g, err)
	}
	// A column masked on both sides is the same as no column.
	g4 := make([]float64, 4)
	v4, err := l.Eval64(Input[float64]{Logits: []float64{1, inf, 0, 2}, Cols: 4, Teacher: []float64{0, inf, 1, -1}}, Output[float64]{Grad: g4})
	g3 := make([]float64, 3)
	v3, err3 := l.Eval64(Input[float64]{Logits: []float64{1, 0, 2}, Cols: 3, Teacher: []float64{0, 1, -1}}, Output[float64]{Grad: g3})
	if err != nil || err3 != nil || math.Abs(v4-v3) > 1e-15 || g4[1] != 0 || !tsrClose([]float64{g4[0], g4[2], g4[3]}, g3, 1e-16, 1e-14) {
		t.Fatalf("mask: %v %v / %v %v (%v %v)", v4, g4, v3, g3, err, err3)
	}
	// Student −Inf where the teacher has mass; teacher −Inf where the
	// student has mass: infinite, errors.
	_, err = l.Eval64(Input[float64]{Logits: []float64{inf, 0}, Cols: 2, Teacher: []float64{0, 0}}, Output[float64]{})
	tsrWantErr(t, "student mask", err, ErrValue)
	_, err = l.Eval64(Input[float64]{Logits: []float64{0, 0}, Cols: 2, Teacher: []float64{inf, 0}}, Output[float64]{})
	tsrWantErr(t, "teacher mask", err, ErrValue)
	// Huge logits: finite, and float32 agrees with float64.
	s := []float64{1e4, -1e4, 9999, 0}
	te := []float64{-1e4, 1e4, 0, 9990}
	v64, err := l.Eval64(Input[float64]{Logits: s, Cols: 4, Teacher: te}, Output[float64]{})
	v32, err32 := l.Eval32(Input[float32]{Logits: tsrTo32(s), Cols: 4, Teacher: tsrTo32(te)}, Output[float32]{})
	want := refSCERow(s, te, 0.5, false, math.Inf(-1))
	if err != nil || err32 != nil || math.Abs(v64-want) > 1e-12*want || math.Abs(v32-want) > 1e-6*want {
		t.Fatalf("huge: %v %v want %v (%v %v)", v64, v32, want, err, err32)
	}
	// Bad inputs.
	nan := math.NaN()
	for _, c := range []struct {
		what string
		in   Input[float64]
		want error
	}{
		{"nan student", Input[float64]{Logits: []float64{nan, 0}, Cols: 2, Teacher: []float64{0, 0}}, ErrValue},
		{"+inf teacher", Input[float64]{Logits: []float64{0, 0}, Cols: 2, Teacher: []float64{math.Inf(1), 0}}, ErrValue},
		{"negative target", Input[float64]{Logits: []float64{0, 0}, Cols: 2, Targets: []float64{-0.5, 1}}, ErrValue},
		{"no teacher", Input[float64]{Logits: []float64{0, 0}, Cols: 2}, ErrShape},
		{"both", Input[float64]{Logits: []float64{0, 0}, Cols: 2, Teacher: []float64{0, 0}, Targets: []float64{1, 0}}, ErrShape},
		{"short teacher", Input[float64]{Logits: []float64{0, 0}, Cols: 2, Teacher: []float64{0}}, ErrShape},
		{"labels", Input[float64]{Logits: []float64{0, 0}, Cols: 2, Teacher: []float64{0, 0}, Labels: []int32{0}}, ErrShape},
		{"all −Inf", Input[float64]{Logits: []float64{inf, inf}, Cols: 2, Teacher: []float64{0, 0}}, ErrValue},
	} {
		_, err := l.Eval64(c.in, Output[float64]{})
		tsrWantErr(t, c.what, err, c.want)
	}
	for _, a := range []float64{-0.1, 1.5, math.NaN()} {
		if _, err := NewSCE(a, math.Inf(-1)); err == nil {
			t.Errorf("alpha %v accepted", a)
		}
	}
	if _, err := NewSCE(0.5, 1); err == nil {
		t.Error("positive log floor accepted")
	}
}
