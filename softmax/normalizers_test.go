package softmax

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/xentlab/xent/internal/gradcheck"
)

// The expected values below are the catalog's test vectors, recomputed
// independently in 30-digit arithmetic (mpmath), not outputs of this code.

func near(t *testing.T, what string, got []float64, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if !(math.Abs(got[i]-want[i]) <= tol*math.Max(1, math.Abs(want[i]))) {
			t.Fatalf("%s: got %v, want %v (index %d)", what, got, want, i)
		}
	}
}

func f64[T Float](x []T) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

func f32(x []float64) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}

// checkVJP compares a backward pass with central differences of
// L(x) = Σ w ⊙ f(x) in float64.
func checkVJP(t *testing.T, what string, x []float64, f func(x []float64) []float64, back func(g []float64) []float64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(len(x)), 77))
	w := make([]float64, len(f(x)))
	for i := range w {
		w[i] = rng.NormFloat64()
	}
	loss := func(x []float64) float64 {
		var s float64
		for i, v := range f(x) {
			s += w[i] * v
		}
		return s
	}
	if err := gradcheck.Check(loss, back(w), x, 1e-6, 1e-8, 1e-6); err != nil {
		t.Errorf("%s: %v", what, err)
	}
}

func TestTopKSoftmaxCatalog(t *testing.T) {
	// B10: v = [1, 3, 2, −1], K = 2.
	x := []float64{1, 3, 2, -1}
	want := []float64{0, 0.73105857863, 0.26894142137, 0}
	y := make([]float64, 4)
	if err := TopKSoftmax(y, x, 4, 2); err != nil {
		t.Fatal(err)
	}
	near(t, "float64", y, want, 1e-11)
	y32 := make([]float32, 4)
	if err := TopKSoftmax(y32, f32(x), 4, 2); err != nil {
		t.Fatal(err)
	}
	near(t, "float32", f64(y32), want, 1e-7)
	// ∂G_1/∂v = [0, 0.196611933241, −0.196611933241, 0]: the backward of
	// the upstream e_1.
	dx := make([]float64, 4)
	if err := SoftmaxBackward(dx, y, []float64{0, 1, 0, 0}, 4); err != nil {
		t.Fatal(err)
	}
	near(t, "dG1/dv", dx, []float64{0, 0.196611933241, -0.196611933241, 0}, 1e-11)
}

func TestTopKSoftmaxRules(t *testing.T) {
	inf := math.Inf(1)
	// Ties go to the lower index.
	y := make([]float64, 4)
	if err := TopKSoftmax(y, []float64{1, 3, 3, 0}, 4, 1); err != nil {
		t.Fatal(err)
	}
	near(t, "tie k=1", y, []float64{0, 1, 0, 0}, 0)
	if err := TopKSoftmax(y, []float64{2, 1, 2, 2}, 4, 2); err != nil {
		t.Fatal(err)
	}
	near(t, "tie k=2", y, []float64{0.5, 0, 0.5, 0}, 1e-15)
	if got := TopKIndices([]float64{2, 1, 2, 5, 2}, 3); got[0] != 3 || got[1] != 0 || got[2] != 2 {
		t.Errorf("TopKIndices = %v, want [3 0 2]", got)
	}
	// Masks, all-masked rows, NaN and +Inf rows; k = cols is the softmax.
	x := []float64{-inf, 1, -inf, -inf, -inf, -inf, -inf, -inf, 1, math.NaN(), 0, 0, 1, inf, 0, 0}
	out := make([]float64, len(x))
	if err := TopKSoftmax(out, x, 4, 2); err != nil {
		t.Fatal(err)
	}
	near(t, "masked", out[:4], []float64{0, 1, 0, 0}, 0)
	near(t, "all masked", out[4:8], []float64{0, 0, 0, 0}, 0)
	for _, v := range out[8:] {
		if !math.IsNaN(v) {
			t.Fatalf("NaN/+Inf rows: %v", out[8:])
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	z := make([]float64, 3*50)
	for i := range z {
		z[i] = rng.NormFloat64() * 4
	}
	a, b := make([]float64, len(z)), make([]float64, len(z))
	if err := TopKSoftmax(a, z, 50, 50, Temperature(2)); err != nil {
		t.Fatal(err)
	}
	if err := Softmax(b, z, 50, Temperature(2)); err != nil {
		t.Fatal(err)
	}
	near(t, "k = cols", a, b, 1e-15)
	for _, k := range []int{0, 51} {
		if err := TopKSoftmax(a, z, 50, k); !errors.Is(err, ErrShape) {
			t.Errorf("k = %d: err %v", k, err)
		}
	}
	// Gradient: finite differences away from ties, with a temperature.
	checkVJP(t, "topk", z[:50], func(x []float64) []float64 {
		y := make([]float64, len(x))
		if err := TopKSoftmax(y, x, 50, 7, Temperature(0.7)); err != nil {
			t.Fatal(err)
		}
		return y
	}, func(g []float64) []float64 {
		y := make([]float64, 50)
		_ = TopKSoftmax(y, z[:50], 50, 7, Temperature(0.7))
		dx := make([]float64, 50)
		if err := SoftmaxBackward(dx, y, g, 50, Temperature(0.7)); err != nil {
			t.Fatal(err)
		}
		return dx
	})
}

func TestSigmoidCatalog(t *testing.T) {
	// A20: scores [2, 0, −1], n = 3, b = −log 3.
	if b := SigmoidBias(3); math.Abs(b+1.09861228867) > 1e-11 {
		t.Errorf("SigmoidBias(3) = %v", b)
	}
	x := []float64{2, 0, -1}
	y := make([]float64, 3)
	if err := Sigmoid(y, x, 3, SigmoidBias(3)); err != nil {
		t.Fatal(err)
	}
	near(t, "A", y, []float64{0.711234594228, 0.25, 0.109231772573}, 1e-11)
	dx := make([]float64, 3)
	if err := SigmoidBackward(dx, y, []float64{1, 1, 1}, 3); err != nil {
		t.Fatal(err)
	}
	near(t, "dA/ds", dx, []float64{0.205379946202, 0.1875, 0.0973001924336}, 1e-11)
	y32 := make([]float32, 3)
	if err := Sigmoid(y32, f32(x), 3, SigmoidBias(3)); err != nil {
		t.Fatal(err)
	}
	near(t, "float32", f64(y32), y, 1e-7)
	// Extremes are stable and finite; ±Inf saturate.
	big := []float64{800, -800, math.Inf(1), math.Inf(-1)}
	out := make([]float64, 4)
	if err := Sigmoid(out, big, 4, 0); err != nil {
		t.Fatal(err)
	}
	if out[0] != 1 || out[1] <= 0 && out[1] != 0 || out[2] != 1 || out[3] != 0 {
		t.Errorf("extremes: %v", out)
	}
	if err := Sigmoid(out, big, 4, math.NaN()); err == nil {
		t.Error("NaN bias accepted")
	}
	z := []float64{0.3, -1.2, 2.5, 0.1, -0.4, 1.1}
	checkVJP(t, "sigmoid", z, func(x []float64) []float64 {
		y := make([]float64, len(x))
		_ = Sigmoid(y, x, 3, -0.5, Temperature(1.5))
		return y
	}, func(g []float64) []float64 {
		y := make([]float64, len(z))
		_ = Sigmoid(y, z, 3, -0.5, Temperature(1.5))
		dx := make([]float64, len(z))
		_ = SigmoidBackward(dx, y, g, 3, Temperature(1.5))
		return dx
	})
}

func TestSoftplusNormCatalog(t *testing.T) {
	// A26 core: scores [2, 0, −1] with κ = 1 and κ = ln 3.
	x := []float64{2, 0, -1}
	y := make([]float64, 3)
	if err := SoftplusNorm(y, x, 3, nil); err != nil {
		t.Fatal(err)
	}
	near(t, "κ=1", y, []float64{0.678806043875, 0.221216934948, 0.0999770211769}, 1e-11)
	k, err := LengthScale(x, 3, math.E) // three visible entries: κ = ln 3
	if err != nil || math.Abs(k[0]-math.Log(3)) > 1e-15 {
		t.Fatalf("LengthScale = %v, %v", k, err)
	}
	if err := SoftplusNorm(y, x, 3, k); err != nil {
		t.Fatal(err)
	}
	near(t, "κ=ln3", y, []float64{0.701277648919, 0.211105607613, 0.0876167434676}, 1e-11)
	y32 := make([]float32, 3)
	if err := SoftplusNorm(y32, f32(x), 3, k); err != nil {
		t.Fatal(err)
	}
	near(t, "float32", f64(y32), y, 1e-7)
}

func TestSoftplusNormRules(t *testing.T) {
	inf := math.Inf(-1)
	// Very negative rows normalise to softmax (softplus underflows).
	x := []float64{-1000, -1001, -1002, 3, inf, 1, inf, inf, inf}
	y := make([]float64, len(x))
	if err := SoftplusNorm(y, x, 3, nil); err != nil {
		t.Fatal(err)
	}
	sm := make([]float64, 3)
	_ = Softmax(sm, x[:3], 3)
	near(t, "underflow row", y[:3], sm, 1e-12)
	if y[4] != 0 || math.Abs(y[3]+y[5]-1) > 1e-15 {
		t.Errorf("masked row: %v", y[3:6])
	}
	near(t, "all masked", y[6:], []float64{0, 0, 0}, 0)
	// A single visible entry: κ = 0 and weight 1, the masks stay 0.
	k, _ := LengthScale(x[3:9], 3, 512)
	if k[0] != math.Log(2)/math.Log(512) || k[1] != 1 {
		t.Errorf("LengthScale = %v", k)
	}
	one := []float64{inf, 0.5, inf}
	if err := SoftplusNorm(one, one, 3, []float64{0}); err != nil || one[1] != 1 || one[0] != 0 {
		t.Errorf("one visible: %v %v", one, err)
	}
	if err := SoftplusNorm(y, x, 3, []float64{1, 2}); !errors.Is(err, ErrShape) {
		t.Errorf("bad kappa length: %v", err)
	}
	if _, err := LengthScale(x, 3, 1); err == nil {
		t.Error("base 1 accepted")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	z := make([]float64, 2*9)
	for i := range z {
		z[i] = rng.NormFloat64() * 3
	}
	z[4] = -60 // the far tail, where σ/softplus → 1
	kap := []float64{0.8, 1.7}
	checkVJP(t, "softplus", z, func(x []float64) []float64 {
		y := make([]float64, len(x))
		_ = SoftplusNorm(y, x, 9, kap, Temperature(1.3))
		return y
	}, func(g []float64) []float64 {
		y := make([]float64, len(z))
		_ = SoftplusNorm(y, z, 9, kap, Temperature(1.3))
		dx := make([]float64, len(z))
		if err := SoftplusNormBackward(dx, z, y, g, 9, kap, Temperature(1.3)); err != nil {
			t.Fatal(err)
		}
		return dx
	})
}

func TestSelectiveSoftmaxCatalog(t *testing.T) {
	// B23: s = [1, 0.5, 0, −0.5], n = 4, β = 1.5.
	if tau := SelectiveTemperature(1.5, 4); math.Abs(tau-1.01568493141) > 1e-11 {
		t.Errorf("τ = %v", tau)
	}
	x := []float64{1, 0.5, 0, -0.5}
	y := make([]float64, 4)
	if err := SelectiveSoftmax(y, x, 4, 1.5, nil); err != nil {
		t.Fatal(err)
	}
	want := []float64{0.458318536142, 0.275812688489, 0.16598202589, 0.0998867494796}
	near(t, "A", y, want, 1e-11)
	y32 := make([]float32, 4)
	if err := SelectiveSoftmax(y32, f32(x), 4, 1.5, []int{4}); err != nil {
		t.Fatal(err)
	}
	near(t, "float32", f64(y32), want, 3e-7)
	// ∂τ/∂β = −0.0702949856662: with upstream g, ∂L/∂β = ∂L/∂τ · ∂τ/∂β.
	g := []float64{0.3, -1, 0.2, 0.5}
	_, err := SelectiveSoftmaxBackward(make([]float64, 4), x, y, g, 4, 1.5, nil)
	if err != nil {
		t.Fatal(err)
	}
	lossAt := func(beta float64) float64 {
		out := make([]float64, 4)
		_ = SelectiveSoftmax(out, x, 4, beta, nil)
		var s float64
		for i := range out {
			s += g[i] * out[i]
		}
		return s
	}
	db, _ := SelectiveSoftmaxBackward(make([]float64, 4), x, y, g, 4, 1.5, nil)
	num := (lossAt(1.5+1e-6) - lossAt(1.5-1e-6)) / 2e-6
	if math.Abs(db-num) > 1e-8 {
		t.Errorf("∂L/∂β = %v, numeric %v", db, num)
	}
	// Causal mask: row i sees i+1 keys; counted from the −Inf entries.
	inf := math.Inf(-1)
	causal := []float64{0.4, inf, inf, 1, -2, inf, 0.5, 0.25, -1}
	out := make([]float64, 9)
	if err := SelectiveSoftmax(out, causal, 3, 2.0, nil); err != nil {
		t.Fatal(err)
	}
	ref := make([]float64, 9)
	_ = SelectiveSoftmax(ref, causal, 3, 2.0, []int{1, 2, 3})
	near(t, "causal count", out, ref, 0)
	if out[0] != 1 || out[1] != 0 {
		t.Errorf("first row %v", out[:3])
	}
	rng := rand.New(rand.NewPCG(5, 6))
	z := make([]float64, 3*6)
	for i := range z {
		z[i] = rng.NormFloat64() * 2
	}
	n := []int{1, 4, 6}
	checkVJP(t, "selective", z, func(x []float64) []float64 {
		y := make([]float64, len(x))
		_ = SelectiveSoftmax(y, x, 6, 1.5, n, Temperature(0.9))
		return y
	}, func(g []float64) []float64 {
		y := make([]float64, len(z))
		_ = SelectiveSoftmax(y, z, 6, 1.5, n, Temperature(0.9))
		dx := make([]float64, len(z))
		if _, err := SelectiveSoftmaxBackward(dx, z, y, g, 6, 1.5, n, Temperature(0.9)); err != nil {
			t.Fatal(err)
		}
		return dx
	})
	if err := SelectiveSoftmax(out, causal, 3, 1, []int{1, 0, 2}); err == nil {
		t.Error("n = 0 accepted")
	}
}

func TestGumbelSoftmax(t *testing.T) {
	x := []float32{1, 2, 0.5, -1, float32(math.Inf(-1)), 0, 3, 3}
	sample := func(threads int, seed uint64) []float32 {
		y := make([]float32, len(x))
		if err := GumbelSoftmax(y, x, 4, 0.7, rand.New(rand.NewPCG(seed, 1)), Threads(threads)); err != nil {
			t.Fatal(err)
		}
		return y
	}
	a, b, c := sample(1, 42), sample(2, 42), sample(1, 43)
	same, diff := true, false
	for i := range a {
		same = same && math.Float32bits(a[i]) == math.Float32bits(b[i])
		diff = diff || a[i] != c[i]
	}
	if !same || !diff {
		t.Errorf("seed 42 twice: %v / %v; seed 43: %v", a, b, c)
	}
	if a[4] != 0 {
		t.Errorf("masked entry sampled: %v", a)
	}
	// The same noise by hand: softmax((x + g)/τ).
	g := make([]float64, len(x))
	if err := GumbelNoise(g, rand.New(rand.NewPCG(42, 1))); err != nil {
		t.Fatal(err)
	}
	if err := GumbelNoise(g, nil); err == nil {
		t.Error("GumbelNoise: nil rng accepted")
	}
	for r := 0; r < 2; r++ {
		z := make([]float64, 4)
		for j := range z {
			z[j] = (float64(x[4*r+j]) + g[4*r+j]) / 0.7
		}
		p := make([]float64, 4)
		rowSoftmax64(p, z, 1)
		near(t, "by hand", f64(a[4*r:4*r+4]), p, 2e-6)
	}
	// Straight-through: hard is the one-hot argmax of soft; argmax
	// frequencies follow softmax(x) (the Gumbel-max trick).
	logits := []float64{0, 1, 2}
	want := make([]float64, 3)
	rowSoftmax64(want, logits, 1)
	counts := make([]float64, 3)
	rng := rand.New(rand.NewPCG(9, 9))
	const draws = 20000
	rep := make([]float64, 3*draws)
	for i := range rep {
		rep[i] = logits[i%3]
	}
	hard, soft := make([]float64, len(rep)), make([]float64, len(rep))
	if err := GumbelSoftmaxST(hard, soft, rep, 3, 0.5, rng); err != nil {
		t.Fatal(err)
	}
	for i, v := range hard {
		counts[i%3] += v
		if v == 1 {
			r := i / 3
			for j := 0; j < 3; j++ {
				if soft[3*r+j] > soft[i] {
					t.Fatalf("hard is not the argmax of soft at row %d", r)
				}
			}
		}
	}
	for j := range counts {
		// 5 standard deviations of a binomial proportion.
		if sd := math.Sqrt(want[j] * (1 - want[j]) / draws); math.Abs(counts[j]/draws-want[j]) > 5*sd {
			t.Errorf("class %d drawn %.4f of the time, want %.4f", j, counts[j]/draws, want[j])
		}
	}
	if err := GumbelSoftmax(make([]float32, 8), x, 4, 0, rand.New(rand.NewPCG(1, 1))); err == nil {
		t.Error("tau = 0 accepted")
	}
	if err := GumbelSoftmax(make([]float32, 8), x, 4, 1, nil); err == nil {
		t.Error("nil rng accepted")
	}
	if err := GumbelSoftmax(make([]float32, 8), x, 4, 1, rand.New(rand.NewPCG(1, 1)), Temperature(2)); err == nil {
		t.Error("Temperature option accepted")
	}
	buf := make([]float32, 8)
	if err := GumbelSoftmaxST(buf, buf, x, 4, 1, rand.New(rand.NewPCG(1, 1))); !errors.Is(err, ErrShape) {
		t.Errorf("hard = soft: %v", err)
	}
}

func TestSoftmaxBackwardShapes(t *testing.T) {
	y := []float64{0.5, 0.5}
	if err := SoftmaxBackward(make([]float64, 2), y, []float64{1}, 2); !errors.Is(err, ErrShape) {
		t.Errorf("short g: %v", err)
	}
	if err := SoftmaxBackward(make([]float64, 3), y, y, 2); !errors.Is(err, ErrShape) {
		t.Errorf("long dx: %v", err)
	}
	g := []float64{1, 3}
	if err := SoftmaxBackward(g, y, g, 2); err != nil || g[0] != -0.5 || g[1] != 0.5 {
		t.Errorf("in place: %v %v", g, err)
	}
}

// TestSigmoidAccuracy compares Sigmoid with a float64 reference on a
// sweep of inputs, within the documented bound.
func TestSigmoidAccuracy(t *testing.T) {
	var x32 []float32
	var x64 []float64
	for v := -100.0; v <= 100; v += 0.0173 {
		x32 = append(x32, float32(v))
		x64 = append(x64, v)
	}
	y32, y64 := make([]float32, len(x32)), make([]float64, len(x64))
	if err := Sigmoid(y32, x32, 7, 0.25); !errors.Is(err, ErrShape) && len(x32)%7 != 0 {
		t.Fatalf("shape: %v", err)
	}
	if err := Sigmoid(y32, x32, 1, 0.25, Temperature(1.5)); err != nil {
		t.Fatal(err)
	}
	if err := Sigmoid(y64, x64, 1, 0.25, Temperature(1.5)); err != nil {
		t.Fatal(err)
	}
	for i, v := range x32 {
		z := float64(v)/1.5 + 0.25
		want := 1 / (1 + math.Exp(-z))
		if want < 0x1p-126 {
			if y32[i] != 0 && math.Abs(float64(y32[i])-want) > 0x1p-126 {
				t.Fatalf("float32 σ(%v) = %v, want %v", z, y32[i], want)
			}
			continue
		}
		if tol := (4 + 3*math.Abs(z)) * 0x1p-24 * want; math.Abs(float64(y32[i])-want) > tol {
			t.Fatalf("float32 σ(%v) = %v, want %v", z, y32[i], want)
		}
		z = x64[i]/1.5 + 0.25
		want = 1 / (1 + math.Exp(-z))
		if tol := (6 + 3*math.Abs(z)) * 0x1p-53 * want; math.Abs(y64[i]-want) > tol { // 4 ulp + 2 of the reference
			t.Fatalf("float64 σ(%v) = %v, want %v", z, y64[i], want)
		}
	}
	nan := []float32{float32(math.NaN())}
	if err := Sigmoid(nan, nan, 1, 0); err != nil || nan[0] == nan[0] {
		t.Errorf("NaN: %v %v", nan, err)
	}
}
