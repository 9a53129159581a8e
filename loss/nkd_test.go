package loss

import (
	"math"
	"math/rand/v2"
	"testing"
)

func refNKDRow(s, t []float64, y int, gamma, lam float64) float64 {
	S, T := tsrLSM(s, 1), tsrSM(t, 1)
	l := -T[y] * S[y]
	var ns, nt []float64
	for k := range s {
		if k != y {
			ns, nt = append(ns, s[k]), append(nt, t[k])
		}
	}
	if len(ns) == 0 {
		return l
	}
	lS, Th := tsrLSM(ns, lam), tsrSM(nt, lam)
	var ce float64
	for k := range lS {
		if Th[k] > 0 {
			ce -= Th[k] * lS[k]
		}
	}
	return l + gamma*lam*lam*ce
}

func TestNKDCatalogVector(t *testing.T) {
	// Catalog B15 (recomputed with mpmath): λ = 1, γ = 1.5:
	// L = 1.92807638589, ∂ = [−0.3255591739, 0.4754471061, −0.2559745211,
	// 0.1060865889]; λ = 3, γ = 3.5: L = 34.3331974406, ∂ = [−0.3255591739,
	// 0.6920976946, −0.7180969435, 0.3515584228].
	s := []float64{2, 1, 0.5, -0.5}
	te := []float64{3, 0.5, 1, -1}
	for _, c := range []struct {
		lam, gam, v float64
		g           []float64
	}{
		{1, 1.5, 1.92807638589, []float64{-0.3255591739, 0.4754471061, -0.2559745211, 0.1060865889}},
		{3, 3.5, 34.3331974406, []float64{-0.3255591739, 0.6920976946, -0.7180969435, 0.3515584228}},
	} {
		l, _ := NewNKD(c.gam, c.lam)
		g := make([]float64, 4)
		v, err := l.Eval64(Input[float64]{Logits: s, Cols: 4, Teacher: te, Labels: []int32{0}}, Output[float64]{Grad: g})
		if err != nil || math.Abs(v-c.v) > 1e-10*c.v || !tsrClose(g, c.g, 1e-10, 0) {
			t.Errorf("λ=%v: %v %v %v", c.lam, v, g, err)
		}
	}
}

func TestNKDReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(101, 102))
	const rows, cols = 5, 6
	for _, lam := range []float64{1, 3} {
		s := tsrRand(rng, rows*cols, 2)
		te := tsrRand(rng, rows*cols, 2)
		labels := []int64{0, 5, -100, 2, 3}
		rw := []float64{1, 2, 1, 0.5, 1}
		ll := lam
		tsrVerify(t, tsrCase{
			name: "nkd",
			mk:   func(opts ...Option) (Loss, error) { return NewNKD(1.5, ll, opts...) },
			in:   Input[float64]{Logits: s, Cols: cols, Teacher: te, Labels64: labels, RowWeights: rw},
			den:  4.5,
			ref: func(x []float64) float64 {
				return tsrMeanRows(x, te, cols, rw, func(i int) bool { return labels[i] == -100 },
					func(i int, s, t []float64) float64 { return refNKDRow(s, t, int(labels[i]), 1.5, ll) })
			},
		})
	}
}

func TestNKDEdges(t *testing.T) {
	l, _ := NewNKD(1.5, 1)
	inf := math.Inf(-1)
	// One class: −1·log 1 = 0.
	v, err := l.Eval64(Input[float64]{Logits: []float64{4}, Cols: 1, Teacher: []float64{1}, Labels: []int32{0}}, Output[float64]{Grad: []float64{9}})
	if err != nil || v != 0 {
		t.Fatalf("one class: %v %v", v, err)
	}
	// A confident student (S_y → 1) keeps an accurate non-target term:
	// the reference works on the non-target logits only.
	s := []float64{40, 1, -2, 0.5}
	te := []float64{3, 0, 1, 2}
	v, err = l.Eval64(Input[float64]{Logits: s, Cols: 4, Teacher: te, Labels: []int32{0}}, Output[float64]{})
	if want := refNKDRow(s, te, 0, 1.5, 1); err != nil || math.Abs(v-want) > 1e-13*want {
		t.Fatalf("confident: %v, want %v (%v)", v, want, err)
	}
	// Teacher non-target logits all masked: only the target term.
	v, err = l.Eval64(Input[float64]{Logits: []float64{1, 2, 3}, Cols: 3, Teacher: []float64{0, inf, inf}, Labels: []int32{0}}, Output[float64]{})
	if want := -tsrLSM([]float64{1, 2, 3}, 1)[0]; err != nil || math.Abs(v-want) > 1e-15 {
		t.Fatalf("masked non-target teacher: %v, want %v (%v)", v, want, err)
	}
	// Student mask under teacher mass: an error.
	_, err = l.Eval64(Input[float64]{Logits: []float64{1, inf, 3}, Cols: 3, Teacher: []float64{0, 1, 1}, Labels: []int32{0}}, Output[float64]{})
	tsrWantErr(t, "mask", err, ErrValue)
	// Labels: required, in range.
	_, err = l.Eval64(Input[float64]{Logits: []float64{1, 2}, Cols: 2, Teacher: []float64{0, 1}}, Output[float64]{})
	tsrWantErr(t, "no labels", err, ErrShape)
	_, err = l.Eval64(Input[float64]{Logits: []float64{1, 2}, Cols: 2, Teacher: []float64{0, 1}, Labels: []int32{2}}, Output[float64]{})
	tsrWantErr(t, "label range", err, ErrValue)
	// All rows ignored: 0.
	g := []float64{5, 5}
	v, err = l.Eval64(Input[float64]{Logits: []float64{1, 2}, Cols: 2, Teacher: []float64{0, 1}, Labels: []int32{-100}}, Output[float64]{Grad: g})
	if err != nil || v != 0 || g[0] != 0 || g[1] != 0 {
		t.Fatalf("ignored: %v %v %v", v, g, err)
	}
	if _, err := NewNKD(-1, 1); err == nil {
		t.Error("negative gamma accepted")
	}
	if _, err := NewNKD(1, 0); err == nil {
		t.Error("zero temperature accepted")
	}
}
