package loss

import (
	"math"
	"math/rand/v2"
	"testing"
)

// refStableMax is −log(s(z_y)/Σ s(z_j)) as the paper writes it.
func refStableMax(x []float64, y int) float64 {
	s := func(v float64) float64 {
		if v >= 0 {
			return v + 1
		}
		return 1 / (1 - v)
	}
	var tot float64
	for _, v := range x {
		tot += s(v)
	}
	return -math.Log(s(x[y]) / tot)
}

func TestStableMaxSuite(t *testing.T) {
	hardSuite{
		build:   func(opts ...Option) (Loss, error) { return NewStableMaxCE(opts...) },
		ref:     refStableMax,
		weights: true, masks: true,
	}.run(t)
	// Logits near 0 on both sides of the kink.
	hardSuite{
		build:   func(opts ...Option) (Loss, error) { return NewStableMaxCE(opts...) },
		ref:     refStableMax,
		weights: true, masks: true, scale: 0.3,
	}.run(t)
}

// TestStableMaxCatalog: catalog B16's vectors, recomputed with mpmath
// (they agree); the gradient of the large-logit row is not in the catalog.
func TestStableMaxCatalog(t *testing.T) {
	l, _ := NewStableMaxCE()
	for _, c := range []struct {
		x    []float64
		loss float64
		grad []float64
	}{
		{[]float64{2, 0, -1}, 0.4054651081, []float64{-0.1111111111, 0.2222222222, 0.05555555556}},
		{[]float64{200, 0, -50}, 0.005059853162, []float64{-2.510981924e-5, 0.004950014559, 1.903119784e-6}},
	} {
		g := make([]float64, 3)
		v, err := l.Eval64(Input[float64]{Logits: c.x, Cols: 3, Labels: []int32{0}}, Output[float64]{Grad: g})
		if err != nil {
			t.Fatal(err)
		}
		if !near(v, c.loss, 1e-9) {
			t.Errorf("%v: loss %.10g, want %.10g", c.x, v, c.loss)
		}
		checkVec(t, "gradient", g, c.grad, 1e-9)
		// float32 gives the same numbers (no collapse at a gap of 200).
		x32 := []float32{float32(c.x[0]), float32(c.x[1]), float32(c.x[2])}
		g32 := make([]float32, 3)
		v32, _ := l.Eval32(Input[float32]{Logits: x32, Cols: 3, Labels: []int32{0}}, Output[float32]{Grad: g32})
		if math.Abs(v32-c.loss) > 1e-9*c.loss || math.Abs(float64(g32[0])-c.grad[0]) > 1e-6*math.Abs(c.grad[0]) {
			t.Errorf("%v float32: %v %v", c.x, v32, g32)
		}
	}
	// A gap of 1e4: StableMax(z)_y = 1 − 1e-4 or so; the loss keeps its digits.
	x := []float32{1e4, 0, -1e4}
	v, _ := l.Eval32(Input[float32]{Logits: x, Cols: 3, Labels: []int32{0}}, Output[float32]{})
	want := math.Log1p((1 + 1/(1+1e4)) / (1e4 + 1))
	if math.Abs(v-want) > 1e-14*want {
		t.Errorf("gap 1e4: %v, want %v", v, want)
	}
}

// TestStableMaxVsSoftmax: where softmax cross-entropy collapses in
// float32 (gap > 16.64), StableMax keeps a loss of order 1/gap; at gap 0
// both are log K.
func TestStableMaxVsSoftmax(t *testing.T) {
	l, _ := NewStableMaxCE()
	for _, K := range []int{2, 10} {
		x := make([]float32, K)
		v, _ := l.Eval32(Input[float32]{Logits: x, Cols: K, Labels: []int32{0}}, Output[float32]{})
		if math.Abs(v-math.Log(float64(K))) > 1e-15 {
			t.Errorf("equal logits K %d: %v", K, v)
		}
	}
	x := []float32{30, 0}
	st, err := SoftmaxCollapse(Input[float32]{Logits: x, Cols: 2, Labels: []int32{0}}, -100)
	if err != nil || st.Collapsed != 1 || st.ZeroLoss != 1 {
		t.Fatalf("gap 30: %+v %v", st, err)
	}
	v, _ := l.Eval32(Input[float32]{Logits: x, Cols: 2, Labels: []int32{0}}, Output[float32]{})
	if want := math.Log1p(1.0 / 31); math.Abs(v-want) > 1e-15 {
		t.Errorf("gap 30: StableMax loss %v, want %v", v, want)
	}
}

// TestSoftmaxCollapse: the catalog's thresholds (fp32 [16.7, 0] collapses,
// [16.6, 0] does not), float64's (gap > log 2⁵³ ≈ 36.7), ignored rows,
// ties, a wrong label and errors.
func TestSoftmaxCollapse(t *testing.T) {
	x := []float32{16.7, 0, 16.6, 0, 0, 20, 5, 5, 40, 40}
	st, err := SoftmaxCollapse(Input[float32]{Logits: x, Cols: 2, Labels: []int32{0, 0, 0, 0, -100}}, -100)
	// rows: collapsed (right), not, collapsed with the wrong label, tie, ignored
	if err != nil || st != (CollapseStats{Rows: 4, Collapsed: 2, ZeroLoss: 1}) {
		t.Fatalf("float32: %+v %v", st, err)
	}
	if st.CollapsedFraction() != 0.5 || st.ZeroLossFraction() != 0.25 {
		t.Errorf("fractions %v %v", st.CollapsedFraction(), st.ZeroLossFraction())
	}
	x64 := []float64{36, 0, 38, 0}
	st, err = SoftmaxCollapse(Input[float64]{Logits: x64, Cols: 2}, -100)
	if err != nil || st != (CollapseStats{Rows: 2, Collapsed: 1}) {
		t.Fatalf("float64: %+v %v", st, err)
	}
	// Many competitors just above the threshold: each term is absorbed.
	rng := rand.New(rand.NewPCG(3, 4))
	row := make([]float32, 113)
	for j := range row {
		row[j] = float32(-17 - rng.Float64())
	}
	row[7] = 0
	st, _ = SoftmaxCollapse(Input[float32]{Logits: row, Cols: 113, Labels: []int32{7}}, -100)
	if st.Collapsed != 1 || st.ZeroLoss != 1 {
		t.Errorf("113 classes: %+v", st)
	}
	// −Inf entries are masks.
	st, err = SoftmaxCollapse(Input[float32]{Logits: []float32{0, float32(math.Inf(-1))}, Cols: 2}, -100)
	if err != nil || st.Collapsed != 1 {
		t.Errorf("masked row: %+v %v", st, err)
	}
	for _, bad := range []Input[float32]{
		{Logits: []float32{0, float32(math.NaN())}, Cols: 2},
		{Logits: []float32{float32(math.Inf(-1)), float32(math.Inf(-1))}, Cols: 2},
		{Logits: []float32{0, 1}, Cols: 2, Labels: []int32{2}},
		{Logits: []float32{0, 1}, Cols: 3},
	} {
		if _, err := SoftmaxCollapse(bad, -100); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
