package calibrate

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/xentlab/xent/metrics"
)

// refNLL is the mean NLL of softmax(z/t) computed directly in float64.
func refNLL[T Float](x []T, cols int, labels []int32, t float64) float64 {
	var s float64
	for r := range labels {
		row := x[r*cols : (r+1)*cols]
		m := math.Inf(-1)
		for _, v := range row {
			m = math.Max(m, float64(v)/t)
		}
		var e float64
		for _, v := range row {
			e += math.Exp(float64(v)/t - m)
		}
		s += m + math.Log(e) - float64(row[labels[r]])/t
	}
	return s / float64(len(labels))
}

// synth draws rows of scores u = 2·N(0,1), labels from softmax(u), and
// returns logits scale·u: the calibrating temperature is scale.
func synth(rng *rand.Rand, rows, cols int, scale float64) ([]float64, []int32) {
	x := make([]float64, rows*cols)
	labels := make([]int32, rows)
	p := make([]float64, cols)
	for r := 0; r < rows; r++ {
		var s float64
		for j := 0; j < cols; j++ {
			u := 2 * rng.NormFloat64()
			x[r*cols+j] = scale * u
			p[j] = math.Exp(u)
			s += p[j]
		}
		t := rng.Float64() * s
		y := 0
		for y < cols-1 && t > p[y] {
			t -= p[y]
			y++
		}
		labels[r] = int32(y)
	}
	return x, labels
}

func to32(x []float64) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}

func TestFitTemperatureRecovers(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, scale := range []float64{0.5, 1, 2.5} {
		x, labels := synth(rng, 20000, 10, scale)
		got, err := FitTemperature(x, 10, labels)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got/scale-1) > 0.03 {
			t.Errorf("scale %v: T = %v", scale, got)
		}
		// The fit minimises the NLL: no point of a fine grid around it is
		// better (the reference NLL is computed independently).
		best := refNLL(x, 10, labels, got)
		for _, f := range []float64{0.99, 0.999, 1.001, 1.01} {
			if v := refNLL(x, 10, labels, got*f); v < best-1e-12 {
				t.Errorf("scale %v: NLL(%v) = %v below NLL(T̂ = %v) = %v", scale, got*f, v, got, best)
			}
		}
		g32, err := FitTemperature(to32(x), 10, labels)
		if err != nil || math.Abs(g32/got-1) > 1e-5 {
			t.Errorf("float32: T = %v, %v; float64 %v", g32, err, got)
		}
	}
}

// TestFitTemperatureNeverWorse: on random data of every kind (including
// all-correct, all-wrong and one-class sets) the fitted T never gives a
// higher NLL than T = 1.
func TestFitTemperatureNeverWorse(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 40; trial++ {
		cols := 1 + rng.IntN(8)
		rows := 1 + rng.IntN(60)
		x := make([]float64, rows*cols)
		for i := range x {
			x[i] = rng.NormFloat64() * float64(1+trial%5) * 3
			if trial%7 == 0 {
				x[i] = math.Round(x[i]) // ties
			}
		}
		labels := make([]int32, rows)
		for r := range labels {
			labels[r] = int32(rng.IntN(cols))
			switch trial % 3 {
			case 1: // label = argmax: separable, optimum at the lower bound
				best := 0
				for j := 1; j < cols; j++ {
					if x[r*cols+j] > x[r*cols+best] {
						best = j
					}
				}
				labels[r] = int32(best)
			}
		}
		tt, err := FitTemperature(x, cols, labels)
		if err != nil {
			t.Fatal(err)
		}
		if !(tt >= 0.01 && tt <= 100) {
			t.Fatalf("trial %d: T = %v outside the bounds", trial, tt)
		}
		if a, b := refNLL(x, cols, labels, tt), refNLL(x, cols, labels, 1); a > b+1e-12*math.Max(1, b) {
			t.Errorf("trial %d: NLL(T = %v) = %v > NLL(1) = %v", trial, tt, a, b)
		}
	}
}

func TestNLL(t *testing.T) {
	x := []float32{2, 1, 0.1, 0, 3, 1}
	labels := []int32{0, 2}
	got, err := NLL(x, 3, labels, 2)
	if want := refNLL(x, 3, labels, 2); err != nil || math.Abs(got-want) > 1e-6 {
		t.Errorf("NLL = %v, %v; want %v", got, err, want)
	}
}

func TestDeterministicAcrossThreads(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	x, labels := synth(rng, 3000, 20, 1.7)
	a, _ := FitTemperature(x, 20, labels, Threads(1))
	b, _ := FitTemperature(x, 20, labels, Threads(4))
	va, _ := FitVector(x, 20, labels, Threads(1), MaxIter(30))
	vb, _ := FitVector(x, 20, labels, Threads(3), MaxIter(30))
	if a != b || va.W[3] != vb.W[3] || va.B[7] != vb.B[7] {
		t.Errorf("thread count changes the fit: %v %v, %v %v", a, b, va.W[3], vb.W[3])
	}
}

func TestVectorGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	cols := 4
	x, labels := synth(rng, 50, cols, 1.3)
	cfg, _ := configure("test", 0.01, 100, []Option{L2(0.1)})
	obj := vectorObjective(x, cols, labels, 0.8, cfg)
	p := make([]float64, 2*cols)
	for i := range p {
		p[i] = rng.NormFloat64()
	}
	_, g := obj.eval(p)
	g = append([]float64(nil), g...)
	for i := range p {
		h := 1e-6
		q := append([]float64(nil), p...)
		q[i] += h
		fp, _ := obj.eval(q)
		q[i] -= 2 * h
		fm, _ := obj.eval(q)
		if fd := (fp - fm) / (2 * h); math.Abs(fd-g[i]) > 1e-7*math.Max(1, math.Abs(fd)) {
			t.Errorf("∂/∂p[%d] = %v, finite difference %v", i, g[i], fd)
		}
	}
}

func TestFitVector(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	cols := 5
	// Per-class miscalibration: class k's logit is scaled by 1 + k/2 and
	// shifted by k/4.
	u, labels := synth(rng, 80000, cols, 1)
	x := make([]float64, len(u))
	for i, v := range u {
		k := i % cols
		x[i] = v*(1+float64(k)/2) + float64(k)/4
	}
	v, err := FitVector(x, cols, labels)
	if err != nil {
		t.Fatal(err)
	}
	// The generating map is recovered: W_k ≈ 1/(1 + k/2) and
	// B_k − B_0 ≈ −(k/4)·W_k.
	for k := 0; k < cols; k++ {
		w := 1 / (1 + float64(k)/2)
		if math.Abs(v.W[k]/w-1) > 0.03 || math.Abs((v.B[k]-v.B[0])-(-float64(k)/4*w)) > 0.04 {
			t.Errorf("class %d: W = %v (want %v), B − B₀ = %v (want %v)", k, v.W[k], w, v.B[k]-v.B[0], -float64(k)/4*w)
		}
	}
	out := make([]float64, len(x))
	if err := Apply(v, out, x, cols); err != nil {
		t.Fatal(err)
	}
	tt, _ := FitTemperature(x, cols, labels)
	if a, b := refNLL(out, cols, labels, 1), refNLL(x, cols, labels, tt); a > b {
		t.Errorf("vector scaling NLL %v above temperature scaling's %v", a, b)
	}
	if err := Apply(v, out[:6], x[:6], 6); !errors.Is(err, metrics.ErrShape) {
		t.Errorf("wrong class count: %v", err)
	}
}

func TestApply(t *testing.T) {
	x := []float32{2, -4, 6, 8}
	dst := make([]float32, 4)
	if err := Apply(Temperature(2), dst, x, 2); err != nil || dst[0] != 1 || dst[1] != -2 || dst[3] != 4 {
		t.Errorf("Apply(T=2) = %v, %v", dst, err)
	}
	if err := Apply(Temperature(2), x, x, 2); err != nil || x[2] != 3 {
		t.Errorf("in place: %v, %v", x, err)
	}
	if err := Apply(Temperature(0), dst, x, 2); !errors.Is(err, ErrValue) {
		t.Errorf("T = 0: %v", err)
	}
	if err := Apply(Temperature(1), dst[:3], x, 2); !errors.Is(err, metrics.ErrShape) {
		t.Errorf("short dst: %v", err)
	}
	v := &Vector{W: []float64{1, 2}, B: []float64{0.5, 0}}
	y := []float64{1, 1, 2, 3}
	out := make([]float64, 4)
	if err := Apply(v, out, y, 2); err != nil || out[0] != 1.5 || out[1] != 2 || out[3] != 6 {
		t.Errorf("Apply(vector) = %v, %v", out, err)
	}
	if err := ApplyTemperatures(out, y, 2, []float64{1, 2}); err != nil || out[2] != 1 || out[0] != 1 {
		t.Errorf("ApplyTemperatures = %v, %v", out, err)
	}
}

// TestCALossCatalog uses the test vector of catalog A5.
func TestCALossCatalog(t *testing.T) {
	z := []float64{2, 1, 0.1}
	// Wrong prediction (label 1): L = 0.310299372, ∂L/∂T = −0.161139759.
	l, g, err := CALoss(z, 3, []int32{1}, []float64{1.5})
	if err != nil || math.Abs(l-0.310299372) > 1e-9 || math.Abs(g[0]+0.161139759) > 1e-9 {
		t.Errorf("wrong: L = %v, ∂L/∂T = %v, %v", l, g, err)
	}
	l, _, _ = CALoss(z, 3, []int32{0}, []float64{1.5})
	if math.Abs(l-0.196208941) > 1e-9 {
		t.Errorf("correct: L = %v, want 0.196208941", l)
	}
	// Batch accuracy 0.75: weights 0.25 (correct) and 0.75 (incorrect).
	x := append(append(append(append([]float64{}, z...), z...), z...), z...)
	labels := []int32{0, 0, 0, 2}
	kc, ki := 0.557045216, 0.557045216
	want := (3*0.25*(kc-1)*(kc-1) + 0.75*ki*ki) / (3*0.25 + 0.75)
	l, _, _ = CALoss(x, 3, labels, []float64{1.5})
	if math.Abs(l-want) > 1e-8 {
		t.Errorf("weighted: L = %v, want %v", l, want)
	}
	// Per-row temperatures: the derivative matches finite differences.
	temps := []float64{0.7, 1.5, 2.2, 3}
	_, g, _ = CALoss(x, 3, labels, temps)
	for i := range temps {
		h := 1e-6
		tp := append([]float64(nil), temps...)
		tp[i] += h
		lp, _, _ := CALoss(x, 3, labels, tp)
		tp[i] -= 2 * h
		lm, _, _ := CALoss(x, 3, labels, tp)
		if fd := (lp - lm) / (2 * h); math.Abs(fd-g[i]) > 1e-7 {
			t.Errorf("∂L/∂T[%d] = %v, finite difference %v", i, g[i], fd)
		}
	}
	if _, _, err := CALoss(x, 3, labels, []float64{1, 2}); !errors.Is(err, metrics.ErrShape) {
		t.Errorf("temperature count: %v", err)
	}
}

func TestFitTemperatureCA(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	x, labels := synth(rng, 5000, 10, 2.5)
	got, err := FitTemperatureCA(x, 10, labels)
	if err != nil {
		t.Fatal(err)
	}
	f, _, _ := CALoss(x, 10, labels, []float64{got})
	// Brute-force scan of [0.1, 10].
	for i := 0; i <= 400; i++ {
		tt := 0.1 * math.Pow(100, float64(i)/400)
		if v, _, _ := CALoss(x, 10, labels, []float64{tt}); v < f-1e-9 {
			t.Errorf("CA loss at T = %v is %v, below the fit's %v at %v", tt, v, f, got)
			break
		}
	}
	if got < 1.5 {
		t.Errorf("T = %v: the logits are 2.5× overconfident", got)
	}
}

func TestFitCA(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	rows, cols := 6000, 10
	x, labels := synth(rng, rows, cols, 1)
	feats := make([]float64, rows)
	for r := 0; r < rows; r++ {
		if r%2 == 1 { // the odd rows are 3× overconfident, and say so
			feats[r] = 1
			for j := 0; j < cols; j++ {
				x[r*cols+j] *= 3
			}
		}
	}
	m, err := FitCA(x, cols, labels, feats, 1, LearningRate(0.02), Epochs(40), BatchSize(500))
	if err != nil {
		t.Fatal(err)
	}
	tt, _ := m.Temperatures([]float64{0, 1})
	if !(tt[1] > tt[0]+0.8) {
		t.Errorf("temperatures %v: the overconfident group should get the larger one", tt)
	}
	all, _ := m.Temperatures(feats)
	lm, _, _ := CALoss(x, cols, labels, all)
	tg, _ := FitTemperatureCA(x, cols, labels)
	lg, _, _ := CALoss(x, cols, labels, []float64{tg})
	if lm >= lg {
		t.Errorf("per-example CA loss %v not below the global temperature's %v", lm, lg)
	}
	again, _ := FitCA(x, cols, labels, feats, 1, LearningRate(0.02), Epochs(40), BatchSize(500))
	if again.B2 != m.B2 || again.W1[0] != m.W1[0] {
		t.Errorf("FitCA is not deterministic")
	}
	if _, err := FitCA(x, cols, labels, feats[:5], 1); !errors.Is(err, metrics.ErrShape) {
		t.Errorf("feature shape: %v", err)
	}
}

func TestErrors(t *testing.T) {
	x := []float64{1, 2, 3, 4}
	for name, err := range map[string]error{
		"NaN":         errOf(FitTemperature([]float64{1, math.NaN()}, 2, []int32{0})),
		"label":       errOf(FitTemperature(x, 2, []int32{0, 2})),
		"labels len":  errOf(FitTemperature(x, 2, []int32{0})),
		"empty":       errOf(FitTemperature([]float64{}, 2, nil)),
		"bounds":      errOf(FitTemperature(x, 2, []int32{0, 1}, Bounds(2, 1))),
		"vector l2":   errOf(FitVector(x, 2, []int32{0, 1}, L2(-1))),
		"vector NaN":  errOf(FitVector([]float32{1, float32(math.Inf(1))}, 2, []int32{0})),
		"nll T":       errOf(NLL(x, 2, []int32{0, 1}, -1)),
		"ca T":        errOf(FitTemperatureCA(x, 2, []int32{0, 1}, Bounds(0, 1))),
		"ca model":    errOf(FitCA(x, 2, []int32{0, 1}, []float64{1, 2}, 1, Epochs(0))),
		"temps shape": ApplyTemperatures(x, x, 2, []float64{1}),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := FitTemperature([]float64{}, 2, nil); !errors.Is(err, metrics.ErrEmpty) {
		t.Errorf("empty: %v", err)
	}
	_, err := FitTemperature([]float64{1, 2, 3, math.NaN()}, 2, []int32{0, 0})
	if !errors.Is(err, metrics.ErrValue) {
		t.Errorf("NaN: %v", err)
	}
}

func errOf[T any](_ T, err error) error { return err }
