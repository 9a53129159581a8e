package loss

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/xentlab/xent/internal/gradcheck"
)

// The shared test suite of the elementwise losses: each gives a float64
// reference of one unweighted element written from its definition (no
// stable forms), and a generator of valid targets; the suite checks
// values, reductions, weights, gradients (central differences of the
// reference), float32 against float64, errors and determinism.

type elemSuite struct {
	build func(opts ...Option) (Loss, error)
	ref   func(x, y float64) float64
	// target draws a valid target.
	target func(rng *rand.Rand) float64
	// badTarget is a target outside the domain (NaN: none).
	badTarget float64
	// kinks: the loss is piecewise (hinges); random logits avoid the
	// kinks and the finite differences use a smaller step.
	kinks bool
	// perRow: Mean divides by rows (batchmean).
	perRow bool
	// scale of the random logits (0: 2); maxScale the largest logit scale
	// of the float32 test (0: 1e4).
	scale, maxScale float64
}

func (s elemSuite) refTotal(x, y []float64, cols int, rw, cw []float64, red Reduction) (float64, []float64) {
	rows := len(x) / cols
	per := make([]float64, rows)
	var total float64
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			w := 1.0
			if rw != nil {
				w *= rw[i]
			}
			if cw != nil {
				w *= cw[j]
			}
			if w == 0 {
				continue
			}
			per[i] += w * s.ref(x[i*cols+j], y[i*cols+j])
		}
		total += per[i]
	}
	if red == Mean {
		n := len(x)
		if s.perRow {
			n = rows
		}
		total /= float64(n)
	}
	return total, per
}

func (s elemSuite) run(t *testing.T) {
	t.Run("reference+gradient", s.testReference)
	t.Run("float32", s.testFloat32)
	t.Run("errors", s.testErrors)
	t.Run("deterministic", s.testDeterministic)
}

func (s elemSuite) data(rng *rand.Rand, n int) ([]float64, []float64) {
	scale := s.scale
	if scale == 0 {
		scale = 2
	}
	x := randLogits(rng, n, scale)
	y := make([]float64, n)
	for i := range y {
		y[i] = s.target(rng)
	}
	return x, y
}

func (s elemSuite) testReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(201, 202))
	const rows, cols = 4, 5
	for _, red := range []Reduction{Mean, Sum, None} {
		for _, weights := range []bool{false, true} {
			var rw, cw []float64
			opts := []Option{WithReduction(red)}
			if weights {
				rw = []float64{1, 0.5, 0, 2}
				cw = []float64{0.5, 1, 2, 1.5, 0.25}
				opts = append(opts, WithClassWeights(cw))
			}
			l, err := s.build(opts...)
			if err != nil {
				t.Fatal(err)
			}
			x, y := s.data(rng, rows*cols)
			out := Output[float64]{Grad: make([]float64, len(x)), Rows: make([]float64, rows)}
			got, err := l.Eval64(Input[float64]{Logits: x, Cols: cols, Targets: y, RowWeights: rw}, out)
			name := fmt.Sprintf("%v/weights=%v", red, weights)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			want, wantRows := s.refTotal(x, y, cols, rw, cw, red)
			if math.Abs(got-want) > 1e-12*max(1, math.Abs(want)) {
				t.Errorf("%s: loss %.15g, reference %.15g", name, got, want)
			}
			for i := range wantRows {
				if math.Abs(out.Rows[i]-wantRows[i]) > 1e-12*max(1, math.Abs(wantRows[i])) {
					t.Errorf("%s: row %d: %.15g, reference %.15g", name, i, out.Rows[i], wantRows[i])
				}
			}
			f := func(x []float64) float64 { v, _ := s.refTotal(x, y, cols, rw, cw, red); return v }
			step := 1e-5
			if s.kinks {
				step = 1e-7
			}
			if err := gradcheck.Check(f, out.Grad, x, step, 1e-7, 1e-5); err != nil {
				t.Errorf("%s: gradient: %v", name, err)
			}
		}
	}
}

func (s elemSuite) testFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(203, 204))
	scales := []float64{1e-3, 1, 30, 1e4}
	if s.maxScale != 0 {
		scales = []float64{1e-3, 1, s.maxScale}
	}
	for _, scale := range scales {
		const rows, cols = 3, 7
		x64, y64 := s.data(rng, rows*cols)
		x := make([]float32, len(x64))
		y := make([]float32, len(y64))
		for i := range x {
			x[i] = float32(x64[i] / max(s.scale, 2) * scale)
			x64[i] = float64(x[i])
			y[i] = float32(y64[i])
			y64[i] = float64(y[i])
		}
		l, _ := s.build(WithReduction(Sum))
		g := make([]float32, len(x))
		r32 := make([]float32, rows)
		v32, err := l.Eval32(Input[float32]{Logits: x, Cols: cols, Targets: y}, Output[float32]{Grad: g, Rows: r32})
		if err != nil {
			t.Fatalf("scale %g: %v", scale, err)
		}
		g64 := make([]float64, len(x))
		r64 := make([]float64, rows)
		v64, err := l.Eval64(Input[float64]{Logits: x64, Cols: cols, Targets: y64}, Output[float64]{Grad: g64, Rows: r64})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(v32-v64) > 1e-6*math.Abs(v64) {
			t.Errorf("scale %g: loss %v, float64 %v", scale, v32, v64)
		}
		for i := range r64 {
			if math.Abs(float64(r32[i])-r64[i]) > 1e-6*math.Abs(r64[i])+1e-30 {
				t.Errorf("scale %g: row %d: %v, float64 %v", scale, i, r32[i], r64[i])
			}
		}
		for i := range g {
			if math.Abs(float64(g[i])-g64[i]) > 1e-6*math.Abs(g64[i])+1e-37 {
				t.Fatalf("scale %g: grad[%d] %v, float64 %v", scale, i, g[i], g64[i])
			}
		}
	}
}

func (s elemSuite) testErrors(t *testing.T) {
	l, _ := s.build()
	nan := math.NaN()
	x := []float64{0.5, -1, 2, 0}
	y := []float64{s.target(rand.New(rand.NewPCG(1, 1))), s.target(rand.New(rand.NewPCG(2, 2))),
		s.target(rand.New(rand.NewPCG(3, 3))), s.target(rand.New(rand.NewPCG(4, 4)))}
	with := func(v []float64, i int, e float64) []float64 {
		c := append([]float64(nil), v...)
		c[i] = e
		return c
	}
	cases := []struct {
		name string
		in   Input[float64]
		out  Output[float64]
		kind error
		text string
	}{
		{"nan logit", Input[float64]{Logits: with(x, 3, nan), Cols: 2, Targets: y}, Output[float64]{}, ErrValue, "row 1, column 1"},
		{"inf logit", Input[float64]{Logits: with(x, 2, math.Inf(1)), Cols: 2, Targets: y}, Output[float64]{}, ErrValue, "row 1, column 0"},
		{"nan target", Input[float64]{Logits: x, Cols: 2, Targets: with(y, 1, nan)}, Output[float64]{}, ErrValue, "row 0, column 1"},
		{"targets len", Input[float64]{Logits: x, Cols: 2, Targets: y[:3]}, Output[float64]{}, ErrShape, "Targets"},
		{"labels", Input[float64]{Logits: x, Cols: 2, Targets: y, Labels: []int32{0, 1}}, Output[float64]{}, ErrShape, "labels"},
		{"cols", Input[float64]{Logits: x, Cols: 3, Targets: y}, Output[float64]{}, ErrShape, "multiple"},
		{"grad len", Input[float64]{Logits: x, Cols: 2, Targets: y}, Output[float64]{Grad: make([]float64, 3)}, ErrShape, "Grad"},
		{"lse", Input[float64]{Logits: x, Cols: 2, Targets: y}, Output[float64]{LSE: make([]float64, 2)}, ErrShape, "LSE"},
	}
	if !math.IsNaN(s.badTarget) {
		cases = append(cases, struct {
			name string
			in   Input[float64]
			out  Output[float64]
			kind error
			text string
		}{"bad target", Input[float64]{Logits: x, Cols: 2, Targets: with(y, 2, s.badTarget)}, Output[float64]{}, ErrValue, "row 1, column 0"})
	}
	for _, c := range cases {
		_, err := l.Eval64(c.in, c.out)
		if !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.text) {
			t.Errorf("%s: err %v, want %v mentioning %q", c.name, err, c.kind, c.text)
		}
	}
	if _, err := s.build(WithIgnoreIndex(0)); err == nil {
		t.Error("ignore index accepted")
	}
	lw, _ := s.build(WithClassWeights([]float64{1, 2, 3}))
	if _, err := lw.Eval64(Input[float64]{Logits: x, Cols: 2, Targets: y}, Output[float64]{}); !errors.Is(err, ErrShape) {
		t.Errorf("class weights of the wrong length: %v", err)
	}
}

func (s elemSuite) testDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(205, 206))
	const cols = 3000
	x64, y64 := s.data(rng, 40*cols)
	x := make([]float32, len(x64))
	y := make([]float32, len(y64))
	for i := range x {
		x[i], y[i] = float32(x64[i]), float32(y64[i])
	}
	var first []float32
	var firstV float64
	for _, th := range []int{1, 2, 5} {
		l, _ := s.build(WithThreads(th))
		g := make([]float32, len(x))
		v, err := l.Eval32(Input[float32]{Logits: x, Cols: cols, Targets: y}, Output[float32]{Grad: g})
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first, firstV = g, v
			continue
		}
		if v != firstV {
			t.Errorf("threads %d: loss %v, one thread %v", th, v, firstV)
		}
		for i := range g {
			if g[i] != first[i] {
				t.Fatalf("threads %d: grad[%d] differs", th, i)
			}
		}
	}
	// The gradient may overwrite the logits.
	l, _ := s.build()
	inPlace := append([]float32(nil), x...)
	if _, err := l.Eval32(Input[float32]{Logits: inPlace, Cols: cols, Targets: y}, Output[float32]{Grad: inPlace}); err != nil {
		t.Fatal(err)
	}
	for i := range inPlace {
		if inPlace[i] != first[i] {
			t.Fatalf("in place: grad[%d] %v, want %v", i, inPlace[i], first[i])
		}
	}
}

func softTarget(rng *rand.Rand) float64 {
	if rng.IntN(3) == 0 {
		return float64(rng.IntN(2))
	}
	return rng.Float64()
}
