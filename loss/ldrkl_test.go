package loss

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/xentlab/xent/internal/gradcheck"
)

// refLDR is λ·log((1/K)·Σ_k exp(u_k/λ)), u_k = c·[k≠y] + z_k − z_y,
// max-shifted.
func refLDR(lambda, c float64) hardRef {
	return func(x []float64, y int) float64 {
		u := make([]float64, len(x))
		m := math.Inf(-1)
		for k, v := range x {
			u[k] = (v - x[y]) / lambda
			if k != y {
				u[k] += c / lambda
			}
			m = max(m, u[k])
		}
		var s float64
		for _, v := range u {
			s += math.Exp(v - m)
		}
		return lambda * (m + math.Log(s/float64(len(x))))
	}
}

func TestLDRKLSuite(t *testing.T) {
	for _, p := range [][2]float64{{1, 0.1}, {10, 0.1}, {0.1, 0}, {1, 2}, {0.01, 1}, {0.05, -2}} {
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			hardSuite{
				build:   func(opts ...Option) (Loss, error) { return NewLDRKL(p[0], p[1], opts...) },
				ref:     refLDR(p[0], p[1]),
				weights: true, masks: true,
			}.run(t)
		})
	}
}

// TestLDRKLCatalog: catalog A11's vectors f = [2, 1, 0.5], y = 0, c = 0.1,
// recomputed with mpmath (they agree with the catalog).
func TestLDRKLCatalog(t *testing.T) {
	f := []float64{2, 1, 0.5}
	for _, c := range []struct {
		lambda, loss float64
		grad         []float64
	}{
		{1, -0.5959196741, []float64{-0.3951002968, 0.2459338665, 0.1491664303}},
		{10, -0.749788156, []float64{-0.6407128944, 0.3283636903, 0.3123492041}},
	} {
		l, _ := NewLDRKL(c.lambda, 0.1)
		g := make([]float64, 3)
		v, err := l.Eval64(Input[float64]{Logits: f, Cols: 3, Labels: []int32{0}}, Output[float64]{Grad: g})
		if err != nil {
			t.Fatal(err)
		}
		if !near(v, c.loss, 1e-9) {
			t.Errorf("lambda %v: loss %.10g, want %.10g", c.lambda, v, c.loss)
		}
		checkVec(t, fmt.Sprint("lambda ", c.lambda), g, c.grad, 1e-9)
	}
	// The official code's path: scores softplus(f)/mean(softplus(f)), the
	// gradient chained back to f by the caller.
	K := float64(len(f))
	sp := make([]float64, 3)
	var mean float64
	for j, v := range f {
		sp[j] = softplus(v)
		mean += sp[j] / K
	}
	z := make([]float64, 3)
	for j := range z {
		z[j] = sp[j] / mean
	}
	checkVec(t, "normalized scores", z, []float64{1.445491288, 0.8925117909, 0.661996921}, 1e-9)
	l, _ := NewLDRKL(10, 0.1)
	gz := make([]float64, 3)
	v, _ := l.Eval64(Input[float64]{Logits: z, Cols: 3, Labels: []int32{0}}, Output[float64]{Grad: gz})
	if !near(v, -0.3747802557, 1e-9) {
		t.Errorf("official path: loss %.10g, want -0.3747802557", v)
	}
	var dot float64 // Σ_k gz_k·sp_k
	for k := range gz {
		dot += gz[k] * sp[k]
	}
	gf := make([]float64, 3)
	for j := range gf {
		s := sigmoid(f[j])
		gf[j] = gz[j]*s/mean - dot*s/(K*mean*mean)
	}
	checkVec(t, "official path gradient", gf, []float64{-0.3044282337, 0.2365490293, 0.1982212101}, 1e-9)
}

// TestLDRKLIsScaledCE: with margin 0, ψ = λ·CE(z/λ, y) − λ·log K.
func TestLDRKLIsScaledCE(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const rows, cols = 4, 6
	for _, lambda := range []float64{0.5, 1, 3} {
		x := randLogits(rng, rows*cols, 3)
		xs := make([]float64, len(x))
		for i, v := range x {
			xs[i] = v / lambda
		}
		labels := []int32{0, 5, 2, 2}
		ldr, _ := NewLDRKL(lambda, 0, WithReduction(None))
		ce, _ := NewCrossEntropy(WithReduction(None))
		r1, r2 := make([]float64, rows), make([]float64, rows)
		g1, g2 := make([]float64, len(x)), make([]float64, len(x))
		if _, err := ldr.Eval64(Input[float64]{Logits: x, Cols: cols, Labels: labels}, Output[float64]{Rows: r1, Grad: g1}); err != nil {
			t.Fatal(err)
		}
		if _, err := ce.Eval64(Input[float64]{Logits: xs, Cols: cols, Labels: labels}, Output[float64]{Rows: r2, Grad: g2}); err != nil {
			t.Fatal(err)
		}
		for i := range r1 {
			want := lambda*r2[i] - lambda*math.Log(cols)
			if !near(r1[i], want, 1e-13) {
				t.Errorf("lambda %v row %d: %v, want %v", lambda, i, r1[i], want)
			}
		}
		// ∂ψ/∂z = λ·∂CE(z/λ)/∂z = ∂CE/∂(z/λ).
		checkVec(t, "gradient", g1, g2, 1e-13)
	}
}

// refALDR is the ALDR-KL row written from the official update rule; it
// also returns λ_new.
func refALDR(alpha, lambda0, c float64, x []float64, y int, old float64) (float64, float64) {
	K := float64(len(x))
	if len(x) == 1 {
		return 0, lambda0
	}
	z := make([]float64, len(x))
	for j, v := range x {
		z[j] = v / old
	}
	p := refSoftmax(z)
	var s float64
	for j := range p {
		p[j] += 1e-5
		s += p[j]
	}
	var kl float64
	for j := range p {
		p[j] /= s
		kl += p[j] * math.Log(K*p[j])
	}
	lam := lambda0 - lambda0*kl/(alpha*math.Log(K))
	return refLDR(lam, c)(x, y) - alpha*math.Log(K)/(2*lambda0)*(lam-lambda0)*(lam-lambda0), lam
}

func TestALDRKLSuite(t *testing.T) {
	hardSuite{
		build: func(opts ...Option) (Loss, error) { return NewALDRKL(2, 10, 0.1, opts...) },
		ref: func(x []float64, y int) float64 {
			v, _ := refALDR(2, 10, 0.1, x, y, 10)
			return v
		},
		weights: true, masks: true, detached: true,
	}.run(t)
}

// TestALDRKLDetached: the gradient is that of ψ_λ at the updated λ held
// constant, for every row.
func TestALDRKLDetached(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	const rows, cols = 5, 7
	x := randLogits(rng, rows*cols, 2)
	labels := []int32{0, 6, 3, 3, 1}
	l, _ := NewALDRKL(3, 5, 0.2, WithReduction(Sum))
	state := []float64{5, 4, 1, 0.5, 5}
	old := append([]float64(nil), state...)
	g := make([]float64, len(x))
	rowsOut := make([]float64, rows)
	if _, err := l.Step64(Input[float64]{Logits: x, Cols: cols, Labels: labels}, Output[float64]{Grad: g, Rows: rowsOut}, state); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < rows; i++ {
		xi := x[i*cols : (i+1)*cols]
		want, lam := refALDR(3, 5, 0.2, xi, int(labels[i]), old[i])
		if !near(state[i], lam, 1e-13) || !near(rowsOut[i], want, 1e-12) {
			t.Errorf("row %d: λ %v loss %v, want %v and %v", i, state[i], rowsOut[i], lam, want)
		}
		f := func(z []float64) float64 { return refLDR(lam, 0.2)(z, int(labels[i])) }
		if err := gradcheck.Check(f, g[i*cols:(i+1)*cols], append([]float64(nil), xi...), 1e-5, 1e-8, 1e-6); err != nil {
			t.Errorf("row %d: %v", i, err)
		}
	}
	// Eval reads λ_old from Targets and leaves the inputs alone.
	tg := append([]float64(nil), old...)
	rows2 := make([]float64, rows)
	if _, err := l.Eval64(Input[float64]{Logits: x, Cols: cols, Labels: labels, Targets: tg}, Output[float64]{Rows: rows2}); err != nil {
		t.Fatal(err)
	}
	checkVec(t, "Eval with Targets", rows2, rowsOut, 1e-15)
	for i := range tg {
		if tg[i] != old[i] {
			t.Fatal("Eval changed Targets")
		}
	}
}

// TestALDRKLCatalog: catalog A11's first update (λ₀ = 10, α = 2, c = 0.1)
// on the L1-normalised scores f/(‖f‖₁/K) of f = [2, 1, 0.5]; mpmath agrees
// with the catalog: KL 0.001446350419, λ 9.993417376, penalty
// −4.760390803e-6, loss −0.6355399972.
func TestALDRKLCatalog(t *testing.T) {
	z := []float64{2 / (3.5 / 3), 1 / (3.5 / 3), 0.5 / (3.5 / 3)}
	l, _ := NewALDRKL(2, 10, 0.1)
	state := l.InitialState(1)
	v, err := l.Step64(Input[float64]{Logits: z, Cols: 3, Labels: []int32{0}}, Output[float64]{}, state)
	if err != nil {
		t.Fatal(err)
	}
	if !near(state[0], 9.993417376, 1e-9) || !near(v, -0.6355399972, 1e-9) {
		t.Errorf("λ %.10g loss %.10g, want 9.993417376 and -0.6355399972", state[0], v)
	}
	// One class: λ stays λ₀ and the loss is 0.
	state = l.InitialState(1)
	v, err = l.Step32(Input[float32]{Logits: []float32{3}, Cols: 1, Labels: []int32{0}}, Output[float32]{}, state)
	if err != nil || v != 0 || state[0] != 10 {
		t.Errorf("one class: %v %v %v", v, state, err)
	}
	for _, bad := range []Input[float64]{
		{Logits: z, Cols: 3, Labels: []int32{0}, Targets: []float64{0}},
		{Logits: z, Cols: 3, Labels: []int32{0}, Targets: []float64{1, 2}},
	} {
		if _, err := l.Eval64(bad, Output[float64]{}); err == nil {
			t.Errorf("bad Targets %v accepted", bad.Targets)
		}
	}
	if _, err := l.Step64(Input[float64]{Logits: z, Cols: 3, Labels: []int32{0}}, Output[float64]{}, []float64{1, 1}); err == nil {
		t.Error("a state of the wrong length was accepted")
	}
	if _, err := NewALDRKL(0.5, 10, 0.1); err == nil {
		t.Error("alpha 0.5 accepted")
	}
}
