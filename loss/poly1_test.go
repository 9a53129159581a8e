package loss

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/xentlab/xent/internal/gradcheck"
)

func refPoly1(eps float64) hardRef {
	return func(x []float64, y int) float64 {
		p := refSoftmax(x)
		return -math.Log(p[y]) + eps*(1-p[y])
	}
}

func TestPoly1Suite(t *testing.T) {
	for _, eps := range []float64{-1, 0, 1, 4} {
		t.Run(fmt.Sprint("eps=", eps), func(t *testing.T) {
			hardSuite{
				build:   func(opts ...Option) (Loss, error) { return NewPoly1(eps, opts...) },
				ref:     refPoly1(eps),
				weights: true, masks: true,
			}.run(t)
		})
	}
}

// TestPoly1Vectors: mpmath values (40 digits, numerical derivatives).
func TestPoly1Vectors(t *testing.T) {
	cases := []struct {
		eps  float64
		x    []float64
		loss float64
		grad []float64
	}{
		{1, []float64{1, 2, 0.5}, 2.23314488649, []float64{-0.946535509168, 0.773863273107, 0.172672236061}},
		{2, []float64{1, 2, 0.5}, 3.00192098886, []float64{-1.12429491596, 0.919194827002, 0.205100088957}},
		// A confident row: 1 − p_y ≈ 4e-9.
		{1, []float64{20, 0, 0, -20}, 8.24461447276e-9, []float64{-8.24461444727e-9, 4.12230721939e-9, 4.12230721939e-9, 8.49670845804e-18}},
	}
	for _, c := range cases {
		l, _ := NewPoly1(c.eps)
		g := make([]float64, len(c.x))
		v, err := l.Eval64(Input[float64]{Logits: c.x, Cols: len(c.x), Labels: []int32{0}}, Output[float64]{Grad: g})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(v-c.loss) > 1e-10*c.loss {
			t.Errorf("eps %v: loss %.12g, want %.12g", c.eps, v, c.loss)
		}
		for j := range g {
			if math.Abs(g[j]-c.grad[j]) > 1e-9*math.Abs(c.grad[j]) {
				t.Errorf("eps %v: grad %v, want %v", c.eps, g, c.grad)
				break
			}
		}
		// float32 keeps the confident row's digits too.
		x32 := make([]float32, len(c.x))
		for j, v := range c.x {
			x32[j] = float32(v)
		}
		g32 := make([]float32, len(c.x))
		v32, _ := l.Eval32(Input[float32]{Logits: x32, Cols: len(c.x), Labels: []int32{0}}, Output[float32]{Grad: g32})
		if math.Abs(v32-c.loss) > 1e-5*c.loss {
			t.Errorf("eps %v: float32 loss %g, want %g", c.eps, v32, c.loss)
		}
		if math.Abs(float64(g32[0])-c.grad[0]) > 1e-5*math.Abs(c.grad[0]) {
			t.Errorf("eps %v: float32 target gradient %g, want %g", c.eps, g32[0], c.grad[0])
		}
	}
	if _, err := NewPoly1(-1.5); err == nil {
		t.Error("epsilon −1.5 accepted")
	}
}

// refPoly1Soft is Optax's poly_loss_cross_entropy, written from its
// definition: −Σ t log p + ε·Σ t(1 − p).
func refPoly1Soft(eps float64, x, t []float64) float64 {
	p := refSoftmax(x)
	var l float64
	for j := range x {
		if t[j] != 0 {
			l += -t[j]*math.Log(p[j]) + eps*t[j]*(1-p[j])
		}
	}
	return l
}

func TestPoly1Soft(t *testing.T) {
	rng := rand.New(rand.NewPCG(601, 602))
	const rows, cols = 5, 6
	for _, eps := range []float64{-1, 0, 1, 2} {
		for _, red := range []Reduction{Mean, Sum, None} {
			x := randLogits(rng, rows*cols, 2)
			tg := make([]float64, rows*cols)
			for i := range tg {
				if rng.IntN(3) > 0 {
					tg[i] = rng.Float64()
				}
			}
			rw := []float64{1, 0.5, 0, 2, 1}
			refTotal := func(x []float64) (float64, []float64) {
				per := make([]float64, rows)
				var tot, den float64
				for i := 0; i < rows; i++ {
					per[i] = rw[i] * refPoly1Soft(eps, x[i*cols:(i+1)*cols], tg[i*cols:(i+1)*cols])
					tot += per[i]
					den += rw[i]
				}
				if red == Mean {
					tot /= den
				}
				return tot, per
			}
			l, _ := NewPoly1(eps, WithReduction(red))
			out := Output[float64]{Grad: make([]float64, len(x)), Rows: make([]float64, rows)}
			v, err := l.Eval64(Input[float64]{Logits: x, Cols: cols, Targets: tg, RowWeights: rw}, out)
			if err != nil {
				t.Fatal(err)
			}
			want, per := refTotal(x)
			if math.Abs(v-want) > 1e-12*max(1, want) {
				t.Errorf("eps %v %v: %.15g, reference %.15g", eps, red, v, want)
			}
			for i := range per {
				if math.Abs(out.Rows[i]-per[i]) > 1e-12*max(1, per[i]) {
					t.Errorf("eps %v %v: row %d %.15g, reference %.15g", eps, red, i, out.Rows[i], per[i])
				}
			}
			f := func(x []float64) float64 { v, _ := refTotal(x); return v }
			if err := gradcheck.Check(f, out.Grad, x, 1e-5, 1e-8, 1e-6); err != nil {
				t.Errorf("eps %v %v: gradient: %v", eps, red, err)
			}
		}
	}
}

// TestPoly1SoftOneHot: one-hot soft targets give the hard-label loss and
// gradient, in float32 too, down to a confident row whose 1 − p_y is far
// below the float32 epsilon.
func TestPoly1SoftOneHot(t *testing.T) {
	x := []float32{20, 0, 0, -20, 1, 2, 0.5, -1, 0, 40, 3, float32(math.Inf(-1))}
	labels := []int32{0, 1, 1}
	onehot := make([]float32, len(x))
	for i, y := range labels {
		onehot[i*4+int(y)] = 1
	}
	for _, eps := range []float64{1, 2} {
		l, _ := NewPoly1(eps, WithReduction(Sum))
		gh, gs := make([]float32, len(x)), make([]float32, len(x))
		vh, err := l.Eval32(Input[float32]{Logits: x, Cols: 4, Labels: labels}, Output[float32]{Grad: gh})
		if err != nil {
			t.Fatal(err)
		}
		vs, err := l.Eval32(Input[float32]{Logits: x, Cols: 4, Targets: onehot}, Output[float32]{Grad: gs})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(vh-vs) > 1e-6*vh {
			t.Errorf("eps %v: soft %v, hard %v", eps, vs, vh)
		}
		for i := range gh {
			if math.Abs(float64(gh[i]-gs[i])) > 1e-6*math.Abs(float64(gh[i]))+1e-30 {
				t.Errorf("eps %v: grad[%d] soft %v, hard %v", eps, i, gs[i], gh[i])
			}
		}
	}
	l, _ := NewPoly1(1)
	for _, c := range []struct {
		name string
		in   Input[float32]
	}{
		{"negative target", Input[float32]{Logits: x[:4], Cols: 4, Targets: []float32{1, -0.5, 0, 0}}},
		{"mass on a mask", Input[float32]{Logits: x[8:], Cols: 4, Targets: []float32{0, 0, 0, 1}}},
		{"labels and targets", Input[float32]{Logits: x[:4], Cols: 4, Targets: onehot[:4], Labels: []int32{0}}},
	} {
		if _, err := l.Eval32(c.in, Output[float32]{}); err == nil {
			t.Errorf("%s accepted", c.name)
		}
	}
	lw, _ := NewPoly1(1, WithClassWeights([]float64{1, 1, 1, 1}))
	if _, err := lw.Eval32(Input[float32]{Logits: x[:4], Cols: 4, Targets: onehot[:4]}, Output[float32]{}); err == nil {
		t.Error("class weights with soft targets accepted")
	}
}
