package loss

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/xentlab/xent/internal/gradcheck"
)

// refTempNet is τ·log((1/K)·Σ_j exp((z_j − z_y)/τ)) + τ·ρ, max-shifted.
func refTempNet(tau, rho float64) hardRef {
	return func(x []float64, y int) float64 {
		u := make([]float64, len(x))
		m := math.Inf(-1)
		for j, v := range x {
			u[j] = (v - x[y]) / tau
			m = max(m, u[j])
		}
		var s float64
		for _, v := range u {
			s += math.Exp(v - m)
		}
		return tau*(m+math.Log(s/float64(len(x)))) + tau*rho
	}
}

func TestTempNetSuite(t *testing.T) {
	for _, p := range [][2]float64{{1, 0}, {0.3, 1}, {4, -0.5}} {
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			hardSuite{
				build:   func(opts ...Option) (Loss, error) { return NewTempNet(p[0], p[1], opts...) },
				ref:     refTempNet(p[0], p[1]),
				weights: true, masks: true,
			}.run(t)
		})
	}
}

// TestTempNetCatalog: catalog B32's vector z = [2, 1, 0, −1], y = 1,
// τ = 0.5, ρ = 1, recomputed with mpmath (it agrees): the loss, its
// gradient and ∂ℓ/∂τ = H(p) + ρ − log K.
func TestTempNetCatalog(t *testing.T) {
	l, _ := NewTempNet(0.5, 1)
	z := []float64{2, 1, 0, -1}
	g := make([]float64, 4)
	dt := make([]float64, 1)
	v, err := EvalTempNet(l, Input[float64]{Logits: z, Cols: 4, Labels: []int32{1}}, Output[float64]{Grad: g}, dt)
	if err != nil {
		t.Fatal(err)
	}
	if !near(v, 0.8793917889, 1e-9) || !near(dt[0], 0.06913426173, 1e-9) {
		t.Errorf("loss %.10g dτ %.10g, want 0.8793917889 and 0.06913426173", v, dt[0])
	}
	checkVec(t, "gradient", g, []float64{0.8649548768, -0.8829410868, 0.01584220118, 0.002144008784}, 1e-9)
	// The same τ given per row.
	v2, err := l.Eval64(Input[float64]{Logits: z, Cols: 4, Labels: []int32{1}, Targets: []float64{0.5}}, Output[float64]{})
	if err != nil || v2 != v {
		t.Errorf("per-row τ: %v, %v", v2, err)
	}
}

// TestTempNetIsCrossEntropy: τ = 1, ρ = log K is cross-entropy.
func TestTempNetIsCrossEntropy(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	const rows, cols = 5, 8
	x := make([]float32, rows*cols)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 5)
	}
	labels := []int32{1, 7, -100, 0, 3}
	opts := []Option{WithClassWeights([]float64{1, 2, 1, 1, 0.5, 1, 1, 3})}
	tn, _ := NewTempNet(1, math.Log(cols), opts...)
	ce, _ := NewCrossEntropy(ForCrossEntropy(opts...)...)
	g1, g2 := make([]float32, len(x)), make([]float32, len(x))
	v1, _ := tn.Eval32(Input[float32]{Logits: x, Cols: cols, Labels: labels}, Output[float32]{Grad: g1})
	v2, _ := ce.Eval32(Input[float32]{Logits: x, Cols: cols, Labels: labels}, Output[float32]{Grad: g2})
	if !near(v1, v2, 1e-6) {
		t.Errorf("loss %v, cross-entropy %v", v1, v2)
	}
	for i := range g1 {
		if math.Abs(float64(g1[i]-g2[i])) > 1e-7 {
			t.Fatalf("grad[%d] %v, cross-entropy %v", i, g1[i], g2[i])
		}
	}
}

// TestTempNetPerRow: per-row temperatures equal the constant-τ loss row
// by row, and dTau matches central differences in τ.
func TestTempNetPerRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	const rows, cols = 4, 6
	x := randLogits(rng, rows*cols, 3)
	labels := []int32{0, 5, -100, 2}
	taus := []float64{0.2, 1, 3, 7}
	rw := []float64{1, 2, 1, 0.5}
	for _, red := range []Reduction{Mean, Sum} {
		l, _ := NewTempNet(1, 0.7, WithReduction(red))
		rowsOut := make([]float64, rows)
		dt := make([]float64, rows)
		g := make([]float64, len(x))
		in := Input[float64]{Logits: x, Cols: cols, Labels: labels, Targets: taus, RowWeights: rw}
		v, err := EvalTempNet(l, in, Output[float64]{Rows: rowsOut, Grad: g}, dt)
		if err != nil {
			t.Fatal(err)
		}
		f := func(tau []float64) float64 {
			var total, den float64
			for i := 0; i < rows; i++ {
				if labels[i] == -100 {
					continue
				}
				total += rw[i] * refTempNet(tau[i], 0.7)(x[i*cols:(i+1)*cols], int(labels[i]))
				den += rw[i]
			}
			if red == Mean {
				total /= den
			}
			return total
		}
		if !near(v, f(taus), 1e-12) {
			t.Errorf("%v: loss %v, reference %v", red, v, f(taus))
		}
		if err := gradcheck.Check(f, dt, append([]float64(nil), taus...), 1e-6, 1e-8, 1e-6); err != nil {
			t.Errorf("%v: dτ: %v", red, err)
		}
		fx := func(x []float64) float64 {
			var total, den float64
			for i := 0; i < rows; i++ {
				if labels[i] != -100 {
					total += rw[i] * refTempNet(taus[i], 0.7)(x[i*cols:(i+1)*cols], int(labels[i]))
					den += rw[i]
				}
			}
			if red == Mean {
				total /= den
			}
			return total
		}
		if err := gradcheck.Check(fx, g, x, 1e-5, 1e-8, 1e-6); err != nil {
			t.Errorf("%v: dz: %v", red, err)
		}
	}
	l, _ := NewTempNet(1, 0)
	for _, bad := range [][]float64{{1, 0, 1, 1}, {1, 1, 1, math.Inf(1)}, {1, 1}} {
		if _, err := l.Eval64(Input[float64]{Logits: x, Cols: cols, Labels: labels, Targets: bad}, Output[float64]{}); err == nil {
			t.Errorf("temperatures %v accepted", bad)
		}
	}
	if _, err := EvalTempNet(l, Input[float64]{Logits: x, Cols: cols, Labels: labels}, Output[float64]{}, make([]float64, 3)); err == nil {
		t.Error("dTau of the wrong length accepted")
	}
	// Masked columns add nothing to the entropy.
	inf := math.Inf(-1)
	dt := make([]float64, 1)
	if _, err := EvalTempNet(l, Input[float64]{Logits: []float64{0, inf, 0}, Cols: 3, Labels: []int32{0}}, Output[float64]{}, dt); err != nil || !near(dt[0], math.Log(2)-math.Log(3), 1e-15) {
		t.Errorf("masked dτ %v, want log 2 − log 3 (%v)", dt[0], err)
	}
}
