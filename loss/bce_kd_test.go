package loss

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/xentlab/xent/internal/gradcheck"
)

func refBCE(x, y []float64, cols int, pw, w, rw []float64, red Reduction) float64 {
	var s float64
	for i, v := range x {
		j := i % cols
		p, wt := 1.0, 1.0
		if pw != nil {
			p = pw[j]
		}
		if w != nil {
			wt = w[j]
		}
		if rw != nil {
			wt *= rw[i/cols]
		}
		sig := 1 / (1 + math.Exp(-v))
		s += -wt * (p*y[i]*math.Log(sig) + (1-y[i])*math.Log(1-sig))
	}
	if red == Mean {
		s /= float64(len(x))
	}
	return s
}

func TestBCEFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	const rows, cols = 4, 5
	for _, red := range []Reduction{Mean, Sum, None} {
		for _, withW := range []bool{false, true} {
			x := make([]float64, rows*cols)
			y := make([]float64, rows*cols)
			for i := range x {
				x[i] = rng.NormFloat64() * 3
				y[i] = float64(rng.IntN(2))
				if i%7 == 0 {
					y[i] = rng.Float64()
				}
			}
			var pw, w, rw []float64
			opts := []Option{WithReduction(red)}
			if withW {
				pw = []float64{1, 2, 0.5, 3, 1}
				w = []float64{0.5, 1, 2, 1, 0.25}
				rw = []float64{1, 2, 0, 0.5}
				opts = append(opts, WithClassWeights(w))
			}
			b, err := NewBCEWithLogits(append(bceOpts(opts), WithPosWeight(pw))...)
			if err != nil {
				t.Fatal(err)
			}
			g := make([]float64, len(x))
			rowsOut := make([]float64, rows)
			got, err := b.Eval64(Input[float64]{Logits: x, Cols: cols, Targets: y, RowWeights: rw}, Output[float64]{Grad: g, Rows: rowsOut})
			if err != nil {
				t.Fatal(err)
			}
			want := refBCE(x, y, cols, pw, w, rw, red)
			if math.Abs(got-want) > 1e-12*math.Abs(want) {
				t.Errorf("%v: loss %v, want %v", red, got, want)
			}
			f := func(x []float64) float64 { return refBCE(x, y, cols, pw, w, rw, red) }
			if err := gradcheck.Check(f, g, x, 1e-5, 1e-9, 1e-6); err != nil {
				t.Errorf("%v weights=%v: %v", red, withW, err)
			}
		}
	}
	// Extreme logits stay exact: softplus(−40) = e^−40.
	b, _ := NewBCEWithLogits(WithReduction(Sum))
	v, err := b.Eval32(Input[float32]{Logits: []float32{40, -40}, Cols: 2, Targets: []float32{1, 0}}, Output[float32]{})
	if err != nil || math.Abs(v-2*math.Exp(-40)) > 1e-6*2*math.Exp(-40) {
		t.Fatalf("extreme logits: %v, %v", v, err)
	}
	if _, err := b.Eval32(Input[float32]{Logits: []float32{float32(math.Inf(1))}, Cols: 1, Targets: []float32{0}}, Output[float32]{}); !errors.Is(err, ErrValue) {
		t.Fatalf("+Inf logit with target 0: %v", err)
	}
	if _, err := NewBCEWithLogits(WithIgnoreIndex(0)); err == nil {
		t.Fatal("ignore index accepted by bce")
	}
	if _, err := NewBCEWithLogits(WithPosWeight([]float64{1, math.NaN()})); !errors.Is(err, ErrValue) {
		t.Fatalf("NaN pos_weight: %v", err)
	}
}

func refKD(s, te []float64, cols int, T float64, rw []float64, red Reduction) float64 {
	rows := len(s) / cols
	var total, den float64
	for i := 0; i < rows; i++ {
		lp := make([]float64, cols)
		lq := make([]float64, cols)
		var zs, zt float64
		for j := 0; j < cols; j++ {
			zs += math.Exp(s[i*cols+j] / T)
			zt += math.Exp(te[i*cols+j] / T)
		}
		var kl float64
		for j := 0; j < cols; j++ {
			lp[j] = s[i*cols+j]/T - math.Log(zs)
			lq[j] = te[i*cols+j]/T - math.Log(zt)
			kl += math.Exp(lq[j]) * (lq[j] - lp[j])
		}
		r := 1.0
		if rw != nil {
			r = rw[i]
		}
		total += r * T * T * kl
		den += r
	}
	if red == Mean {
		total /= den
	}
	return total
}

func TestKDFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	const rows, cols = 3, 6
	for _, T := range []float64{1, 2.5} {
		for _, red := range []Reduction{Mean, Sum} {
			s := make([]float64, rows*cols)
			te := make([]float64, rows*cols)
			for i := range s {
				s[i] = rng.NormFloat64() * 2
				te[i] = rng.NormFloat64() * 2
			}
			rw := []float64{1, 0.5, 2}
			k, err := NewKD(T, WithReduction(red))
			if err != nil {
				t.Fatal(err)
			}
			g := make([]float64, len(s))
			got, err := k.Eval64(Input[float64]{Logits: s, Cols: cols, Teacher: te, RowWeights: rw}, Output[float64]{Grad: g})
			if err != nil {
				t.Fatal(err)
			}
			want := refKD(s, te, cols, T, rw, red)
			if math.Abs(got-want) > 1e-12*math.Abs(want) {
				t.Errorf("T=%v %v: %v, want %v", T, red, got, want)
			}
			f := func(x []float64) float64 { return refKD(x, te, cols, T, rw, red) }
			if err := gradcheck.Check(f, g, s, 1e-5, 1e-9, 1e-6); err != nil {
				t.Errorf("T=%v %v: %v", T, red, err)
			}
		}
	}
	// The teacher equal to the student: zero loss and gradient.
	k, _ := NewKD(2)
	x := []float32{1, 2, 3, -1}
	g := make([]float32, 4)
	v, err := k.Eval32(Input[float32]{Logits: x, Cols: 4, Teacher: x}, Output[float32]{Grad: g})
	if err != nil || math.Abs(v) > 1e-12 {
		t.Fatalf("self-distillation loss %v, %v", v, err)
	}
	inf := float32(math.Inf(-1))
	if _, err := k.Eval32(Input[float32]{Logits: []float32{inf, 0}, Cols: 2, Teacher: []float32{0, 0}}, Output[float32]{}); !errors.Is(err, ErrValue) {
		t.Fatalf("student −Inf under teacher mass: %v", err)
	}
	// A teacher −Inf (zero mass) with a student −Inf is fine.
	if _, err := k.Eval32(Input[float32]{Logits: []float32{inf, 0}, Cols: 2, Teacher: []float32{inf, 0}}, Output[float32]{}); err != nil {
		t.Fatalf("masked class on both sides: %v", err)
	}
}
