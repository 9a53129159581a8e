package loss

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/xentlab/xent/internal/gradcheck"
)

// refOrdinal is −Σ_k λ_k[l_k·log σ(z_k) + (1 − l_k)·log(1 − σ(z_k))] with
// the plain sigmoid.
func refOrdinal(lw []float64) hardRef {
	return func(x []float64, y int) float64 {
		var l float64
		for k, z := range x {
			s := 1 / (1 + math.Exp(-z))
			w := 1.0
			if lw != nil {
				w = lw[k]
			}
			if k < y {
				l -= w * math.Log(s)
			} else {
				l -= w * math.Log(1-s)
			}
		}
		return l
	}
}

func TestOrdinalSuite(t *testing.T) {
	hardSuite{
		build:         func(opts ...Option) (Loss, error) { return NewOrdinal(opts...) },
		ref:           refOrdinal(nil),
		classes:       func(cols int) int { return cols + 1 },
		columnWeights: true,
	}.run(t)
}

// TestOrdinalCatalog: catalog A3's vector (K = 4, z = [1.5, 0.5, −0.5],
// y = 2), recomputed with mpmath (it agrees): ℓ = 1.149567246, gradient
// [−0.1824255238, −0.3775406688, 0.3775406688]; and the extreme labels.
func TestOrdinalCatalog(t *testing.T) {
	l, _ := NewOrdinal()
	z := []float64{1.5, 0.5, -0.5}
	g := make([]float64, 3)
	v, err := l.Eval64(Input[float64]{Logits: z, Cols: 3, Labels: []int32{2}}, Output[float64]{Grad: g})
	if err != nil {
		t.Fatal(err)
	}
	if !near(v, 1.149567246, 1e-9) {
		t.Errorf("loss %.10g, want 1.149567246", v)
	}
	checkVec(t, "gradient", g, []float64{-0.1824255238, -0.3775406688, 0.3775406688}, 1e-9)
	for y := int32(0); y <= 3; y++ {
		v, err := l.Eval64(Input[float64]{Logits: z, Cols: 3, Labels: []int32{y}}, Output[float64]{})
		if want := refOrdinal(nil)(z, int(y)); err != nil || !near(v, want, 1e-14) {
			t.Errorf("label %d: %v, want %v (%v)", y, v, want, err)
		}
	}
}

// TestOrdinalWeights: importance weights weight the terms; Mean divides
// by the row weights only.
func TestOrdinalWeights(t *testing.T) {
	rng := rand.New(rand.NewPCG(81, 82))
	const rows, cols = 4, 5
	lw := []float64{1, 0.5, 2, 0, 3}
	x := randLogits(rng, rows*cols, 2)
	labels := []int32{0, 5, -100, 3}
	rw := []float64{1, 2, 1, 0.5}
	for _, red := range []Reduction{Mean, Sum} {
		l, err := NewOrdinal(WithClassWeights(lw), WithReduction(red))
		if err != nil {
			t.Fatal(err)
		}
		f := func(x []float64) float64 {
			var s, den float64
			for i := 0; i < rows; i++ {
				if labels[i] != -100 {
					s += rw[i] * refOrdinal(lw)(x[i*cols:(i+1)*cols], int(labels[i]))
					den += rw[i]
				}
			}
			if red == Mean {
				s /= den
			}
			return s
		}
		g := make([]float64, len(x))
		v, err := l.Eval64(Input[float64]{Logits: x, Cols: cols, Labels: labels, RowWeights: rw}, Output[float64]{Grad: g})
		if err != nil || !near(v, f(x), 1e-13) {
			t.Fatalf("%v: %v, want %v (%v)", red, v, f(x), err)
		}
		if err := gradcheck.Check(f, g, x, 1e-5, 1e-8, 1e-6); err != nil {
			t.Errorf("%v: %v", red, err)
		}
	}
	l, _ := NewOrdinal(WithClassWeights([]float64{1, 1}))
	if _, err := l.Eval64(Input[float64]{Logits: x, Cols: cols, Labels: []int32{0, 0, 0, 0}}, Output[float64]{}); err == nil {
		t.Error("importance weights of the wrong length accepted")
	}
}

// TestOrdinalExtremes: logits of 1e4 and ±Inf where the loss is finite;
// errors where it is not.
func TestOrdinalExtremes(t *testing.T) {
	l, _ := NewOrdinal(WithReduction(Sum))
	inf := float32(math.Inf(1))
	g := make([]float32, 3)
	v, err := l.Eval32(Input[float32]{Logits: []float32{inf, 1e4, -1e4}, Cols: 3, Labels: []int32{2}}, Output[float32]{Grad: g})
	if err != nil || v != 0 || g[0] != 0 || g[1] != 0 || g[2] != 0 {
		t.Errorf("saturated right: %v %v %v", v, g, err)
	}
	v, err = l.Eval32(Input[float32]{Logits: []float32{1e4, 1e4, -inf}, Cols: 3, Labels: []int32{1}}, Output[float32]{Grad: g})
	if err != nil || math.Abs(v-1e4) > 1e-12 || g[1] != 1 {
		t.Errorf("one wrong level: %v %v %v", v, g, err)
	}
	for _, c := range []struct {
		x []float32
		y int32
	}{{[]float32{inf, 0, 0}, 0}, {[]float32{0, -inf, 0}, 3}} {
		if _, err := l.Eval32(Input[float32]{Logits: c.x, Cols: 3, Labels: []int32{c.y}}, Output[float32]{}); err == nil {
			t.Errorf("%v label %d: infinite loss accepted", c.x, c.y)
		}
	}
}
