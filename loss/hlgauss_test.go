package loss

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/xentlab/xent/internal/gradcheck"
)

// refHLGauss is the paper's construction with plain erf differences.
func refHLGauss(h Histogram, y, sigma float64) []float64 {
	y = min(max(y, h.Min), h.Max)
	s := sigma * (h.Max - h.Min) / float64(h.Bins)
	cdf := func(e float64) float64 { return 0.5 * (1 + math.Erf((e-y)/(s*math.Sqrt2))) }
	p := make([]float64, h.Bins)
	z := cdf(h.Max) - cdf(h.Min)
	for i := range p {
		lo := h.Min + float64(i)*(h.Max-h.Min)/float64(h.Bins)
		hi := h.Min + float64(i+1)*(h.Max-h.Min)/float64(h.Bins)
		p[i] = (cdf(hi) - cdf(lo)) / z
	}
	return p
}

// refSoftCE is −Σ p_i·log softmax(z)_i.
func refSoftCE(z, p []float64) float64 {
	lp := refLogSoftmax(z)
	var l float64
	for i, v := range p {
		if v != 0 {
			l -= v * lp[i]
		}
	}
	return l
}

// TestHLGaussCatalog: catalog A22's vector ([0, 1], 5 bins, σ = 0.15 =
// 0.75 bin widths, y = 0.43, logits [0, 1, 2, 1, 0]), recomputed with
// mpmath (it agrees).
func TestHLGaussCatalog(t *testing.T) {
	h := Histogram{Bins: 5, Min: 0, Max: 1}
	p := make([]float64, 5)
	if err := h.HLGauss(p, 0.43, 0.75); err != nil {
		t.Fatal(err)
	}
	checkVec(t, "target", p, []float64{0.06065296276, 0.358913807, 0.451692093, 0.1219801108, 0.006761026407}, 1e-9)
	var mean float64
	for i, v := range p {
		mean += v * h.Center(i)
	}
	if !near(mean, 0.4310564862, 1e-9) {
		t.Errorf("target mean %.10g", mean)
	}
	l, _ := NewHLGauss(h, 0.75)
	z := []float64{0, 1, 2, 1, 0}
	g := make([]float64, 5)
	v, err := l.Eval64(Input[float64]{Logits: z, Cols: 5, Targets: []float64{0.43}}, Output[float64]{Grad: g})
	if err != nil {
		t.Fatal(err)
	}
	if !near(v, 1.312078645, 1e-9) {
		t.Errorf("loss %.10g, want 1.312078645", v)
	}
	checkVec(t, "gradient", g, []float64{0.006797843105, -0.1755635071, 0.0467056955, 0.06137018906, 0.06068977946}, 1e-9)
	pred := make([]float64, 1)
	if err := HistogramMean(pred, z, h); err != nil || !near(pred[0], 0.5, 1e-15) {
		t.Errorf("prediction %v, %v", pred, err)
	}
	th, _ := NewTwoHot(h)
	if err := h.TwoHot(p, 0.43); err != nil {
		t.Fatal(err)
	}
	checkVec(t, "two-hot target", p, []float64{0, 0.35, 0.65, 0, 0}, 1e-15)
	v, err = th.Eval64(Input[float64]{Logits: z, Cols: 5, Targets: []float64{0.43}}, Output[float64]{})
	if err != nil || !near(v, 1.046356749, 1e-9) {
		t.Errorf("two-hot loss %.10g, want 1.046356749 (%v)", v, err)
	}
}

func TestHistogramTargets(t *testing.T) {

	h := Histogram{Bins: 51, Min: -10, Max: 10}
	p := make([]float64, 51)
	for _, y := range []float64{-10, -9.8, -3.3, 0, 0.2, 7.77, 10, 25, -1e9} {
		for _, sigma := range []float64{0.1, 0.75, 3} {
			if err := h.HLGauss(p, y, sigma); err != nil {
				t.Fatal(err)
			}
			want := refHLGauss(h, y, sigma)
			var s float64
			for i := range p {
				s += p[i]
				// Bins with mass above 1e-12: the erf reference is good to
				// 1e-15 absolute there.
				if math.Abs(p[i]-want[i]) > 1e-13 {
					t.Fatalf("y %v sigma %v bin %d: %v, reference %v", y, sigma, i, p[i], want[i])
				}
			}
			if math.Abs(s-1) > 1e-14 {
				t.Errorf("y %v: sum %v", y, s)
			}
		}
		if err := h.TwoHot(p, y); err != nil {
			t.Fatal(err)
		}
		var s, mean float64
		for i, v := range p {
			s += v
			mean += v * h.Center(i)
		}
		want := min(max(y, h.Center(0)), h.Center(50))
		if math.Abs(s-1) > 1e-15 || math.Abs(mean-want) > 1e-12 {
			t.Errorf("two-hot %v: sum %v mean %v", y, s, mean)
		}
	}
	// A tail bin far from the target keeps its relative precision: mass
	// of bin 50 for y = −10 with σ = 0.3 bins ≈ Φ-tail at 166σ, 0 in
	// float64; bin 2 (2.5σ…) has a nonzero mass computed from erfc.
	if err := h.HLGauss(p, -10, 0.75); err != nil {
		t.Fatal(err)
	}
	a, b := (2*h.Width())/(0.75*h.Width()*math.Sqrt2), (3*h.Width())/(0.75*h.Width()*math.Sqrt2)
	norm := math.Erf(20 / (0.75 * h.Width() * math.Sqrt2))
	if w := (math.Erfc(a) - math.Erfc(b)) / norm; math.Abs(p[2]-w) > 1e-14*w {
		t.Errorf("tail bin %g, want %g", p[2], w)
	}
	for _, bad := range []Histogram{{0, 0, 1}, {5, 1, 1}, {5, 0, math.Inf(1)}} {
		if err := bad.HLGauss(make([]float64, bad.Bins), 0, 1); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if err := h.HLGauss(p, math.NaN(), 1); err == nil {
		t.Error("NaN target accepted")
	}
	if err := h.TwoHot(p[:3], 0); !errors.Is(err, ErrShape) {
		t.Errorf("short dst: %v", err)
	}
}

func TestHLGaussLoss(t *testing.T) {
	rng := rand.New(rand.NewPCG(93, 94))
	h := Histogram{Bins: 21, Min: -2, Max: 3}
	const rows = 5
	x := randLogits(rng, rows*h.Bins, 2)
	y := []float64{-2.5, 0.1, 1.7, 3, 0.55}
	rw := []float64{1, 0.5, 2, 0, 1}
	for _, twoHot := range []bool{false, true} {
		for _, red := range []Reduction{Mean, Sum, None} {
			var l *HLGauss
			if twoHot {
				l, _ = NewTwoHot(h, WithReduction(red))
			} else {
				l, _ = NewHLGauss(h, 0.75, WithReduction(red))
			}
			f := func(x []float64) float64 {
				var s, den float64
				p := make([]float64, h.Bins)
				for i := 0; i < rows; i++ {
					if twoHot {
						h.TwoHot(p, y[i])
					} else {
						p = refHLGauss(h, y[i], 0.75)
					}
					s += rw[i] * refSoftCE(x[i*h.Bins:(i+1)*h.Bins], p)
					den += rw[i]
				}
				if red == Mean {
					s /= den
				}
				return s
			}
			g := make([]float64, len(x))
			v, err := l.Eval64(Input[float64]{Logits: x, Cols: h.Bins, Targets: y, RowWeights: rw}, Output[float64]{Grad: g, Rows: make([]float64, rows)})
			if err != nil || !near(v, f(x), 1e-12) {
				t.Fatalf("%s %v: %v, reference %v (%v)", l.Name(), red, v, f(x), err)
			}
			if err := gradcheck.Check(f, g, x, 1e-5, 1e-8, 1e-6); err != nil {
				t.Errorf("%s %v: %v", l.Name(), red, err)
			}
			// float32 agrees with float64.
			x32 := make([]float32, len(x))
			for i, v := range x {
				x32[i] = float32(v * 1e3) // logits up to ~1e4
			}
			x64 := make([]float64, len(x))
			for i, v := range x32 {
				x64[i] = float64(v)
			}
			y32 := []float32{-2.5, 0.1, 1.7, 3, 0.55}
			y64 := []float64{float64(y32[0]), float64(y32[1]), float64(y32[2]), float64(y32[3]), float64(y32[4])}
			r32, r64 := make([]float32, rows), make([]float64, rows)
			if _, err := l.Eval32(Input[float32]{Logits: x32, Cols: h.Bins, Targets: y32}, Output[float32]{Rows: r32}); err != nil {
				t.Fatal(err)
			}
			if _, err := l.Eval64(Input[float64]{Logits: x64, Cols: h.Bins, Targets: y64}, Output[float64]{Rows: r64}); err != nil {
				t.Fatal(err)
			}
			for i := range r32 {
				if math.Abs(float64(r32[i])-r64[i]) > 1e-5*r64[i]+1e-37 {
					t.Errorf("%s row %d: float32 %v, float64 %v", l.Name(), i, r32[i], r64[i])
				}
			}
		}
	}
	l, _ := NewHLGauss(h, 0.75)
	for _, c := range []struct {
		in   Input[float64]
		kind error
	}{
		{Input[float64]{Logits: x[:20], Cols: 20, Targets: []float64{0}}, ErrShape},
		{Input[float64]{Logits: x, Cols: h.Bins, Targets: y[:2]}, ErrShape},
		{Input[float64]{Logits: x, Cols: h.Bins, Targets: y, Labels: []int32{0, 0, 0, 0, 0}}, ErrShape},
		{Input[float64]{Logits: x, Cols: h.Bins, Targets: []float64{0, 0, math.NaN(), 0, 0}}, ErrValue},
	} {
		if _, err := l.Eval64(c.in, Output[float64]{}); !errors.Is(err, c.kind) {
			t.Errorf("err %v, want %v", err, c.kind)
		}
	}
	for _, opt := range []Option{WithClassWeights(make([]float64, 21)), WithIgnoreIndex(-1)} {
		if _, err := NewHLGauss(h, 0.75, opt); err == nil {
			t.Error("an option that does not apply was accepted")
		}
	}
	// Registry: defaults and parameters.
	ld, s, err := Parse("hl-gauss")
	if err != nil || s.Needs != NeedsScalarTargets || ld.(*HLGauss).Histogram() != (Histogram{51, -10, 10}) || ld.(*HLGauss).sigma != 0.75 {
		t.Errorf("hl-gauss defaults: %v %v", ld, err)
	}
	lt, _, err := Parse("two-hot:bins=11,min=0,max=1")
	if err != nil || lt.(*HLGauss).Histogram() != (Histogram{11, 0, 1}) || lt.Name() != "two-hot" {
		t.Errorf("two-hot: %v %v", lt, err)
	}
	for _, bad := range []string{"hl-gauss:bins=2.5", "hl-gauss:min=3,max=1", "hl-gauss:sigma=0"} {
		if _, _, err := Parse(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
