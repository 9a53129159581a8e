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

// The shared test suite of the hard-label catalog losses: every loss gives
// an independent float64 reference of one unweighted row (written from its
// formula, without the implementation's stable forms) and the suite checks
// values, reductions, weights, ignored rows, gradients (central
// differences of the reference), float32 against float64, masks, errors
// and determinism.

// hardRef is an unweighted row loss: x one row of logits, y its label.
type hardRef func(x []float64, y int) float64

type hardSuite struct {
	// build makes the loss under test with the given options.
	build func(opts ...Option) (Loss, error)
	ref   hardRef
	// weights: class weights apply; masks: −Inf logits off the target are
	// allowed.
	weights, masks bool
	// classes returns the number of labels for cols columns (nil: cols).
	classes func(cols int) int
	// scale of the random logits (0: 2).
	scale float64
	// smooth: the loss is differentiable almost everywhere but has kinks
	// (hinge, sparsemax); random logits avoid them, and the finite
	// differences use a smaller step.
	kinks bool
	// cols of the random tests (0: 7).
	cols int
	// detached: the loss treats a quantity computed from the logits as a
	// constant (ALDR-KL's λ), so its gradient is not the reference's; the
	// loss's own test checks it.
	detached bool
	// columnWeights: the class weights are per-column weights of the
	// loss's own (ordinal), so the shared weight tests do not apply.
	columnWeights bool
	// equalUndefined: the loss is not defined on a row of equal logits
	// (spherical-z: σ = 0); its own test checks the convention used.
	equalUndefined bool
}

// refTotal applies the reduction and weights to the reference rows, the
// same contract as evalHardRows (written out again here).
func (h hardSuite) refTotal(x []float64, cols int, labels []int64, rw []float64, o Options) (float64, []float64) {
	n := len(x) / cols
	rows := make([]float64, n)
	var total, den float64
	for i := 0; i < n; i++ {
		if labels[i] == o.IgnoreIndex {
			continue
		}
		w := 1.0
		if rw != nil {
			w = rw[i]
		}
		if o.ClassWeights != nil {
			w *= o.ClassWeights[labels[i]]
		}
		rows[i] = w * h.ref(x[i*cols:(i+1)*cols], int(labels[i]))
		total += rows[i]
		den += w
	}
	if o.Reduction == Mean {
		if den == 0 {
			return 0, rows
		}
		total /= den
	}
	return total, rows
}

func (h hardSuite) nclasses(cols int) int {
	if h.classes != nil {
		return h.classes(cols)
	}
	return cols
}

func randLogits(rng *rand.Rand, n int, scale float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = rng.NormFloat64() * scale
	}
	return x
}

func (h hardSuite) run(t *testing.T) {
	t.Run("reference+gradient", h.testReference)
	t.Run("float32", h.testFloat32)
	t.Run("ignored", h.testIgnored)
	t.Run("errors", h.testErrors)
	t.Run("deterministic", h.testDeterministic)
	t.Run("ties", h.testTies)
	if h.masks {
		t.Run("masks", h.testMasks)
	}
}

// testReference compares values, per-row values and gradients with the
// reference for every reduction, with and without class and row weights.
func (h hardSuite) testReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(101, 102))
	cols := h.cols
	if cols == 0 {
		cols = 7
	}
	const rows = 5
	scale := h.scale
	if scale == 0 {
		scale = 2
	}
	nc := h.nclasses(cols)
	for _, red := range []Reduction{Mean, Sum, None} {
		for _, weights := range []bool{false, true} {
			if weights && !h.weights {
				continue
			}
			for _, rowW := range []bool{false, true} {
				name := fmt.Sprintf("%v/weights=%v/rowweights+ignore=%v", red, weights, rowW)
				opts := []Option{WithReduction(red)}
				if weights {
					cw := make([]float64, nc)
					for c := range cw {
						cw[c] = 0.25 + rng.Float64()*2
					}
					opts = append(opts, WithClassWeights(cw))
				}
				l, err := h.build(opts...)
				if err != nil {
					t.Fatal(err)
				}
				o, _ := build("test", opts)
				x := randLogits(rng, rows*cols, scale)
				labels := make([]int64, rows)
				for i := range labels {
					labels[i] = int64(rng.IntN(nc))
				}
				in := Input[float64]{Logits: x, Cols: cols, Labels64: labels}
				var rw []float64
				if rowW {
					labels[2] = -100
					rw = []float64{1, 0.5, 2, 0, 1.5}
					in.RowWeights = rw
				}
				out := Output[float64]{Grad: make([]float64, len(x)), Rows: make([]float64, rows)}
				got, err := l.Eval64(in, out)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				want, wantRows := h.refTotal(x, cols, labels, rw, o)
				if math.Abs(got-want) > 1e-10*max(1, math.Abs(want)) {
					t.Errorf("%s: loss %.15g, reference %.15g", name, got, want)
				}
				for i := range wantRows {
					if math.Abs(out.Rows[i]-wantRows[i]) > 1e-10*max(1, math.Abs(wantRows[i])) {
						t.Errorf("%s: row %d: %.15g, reference %.15g", name, i, out.Rows[i], wantRows[i])
					}
				}
				f := func(x []float64) float64 {
					v, _ := h.refTotal(x, cols, labels, rw, o)
					return v
				}
				step := 1e-5
				if h.kinks {
					step = 1e-7
				}
				if err := gradcheck.Check(f, out.Grad, x, step, 1e-7, 1e-5); err != nil && !h.detached {
					t.Errorf("%s: %v", name, err)
				}
				if rowW {
					for j := 0; j < cols; j++ {
						if out.Grad[2*cols+j] != 0 || out.Grad[3*cols+j] != 0 {
							t.Fatalf("%s: ignored or zero-weight row has a gradient", name)
						}
					}
				}
			}
		}
	}
}

// testFloat32 checks Eval32 against Eval64 on the same (rounded) inputs:
// rows within 1e-5 relative (plus 1e-6 absolute for rows that are sums
// of terms of both signs), gradients within 1e-6 + 1e-5·|g|.
func (h hardSuite) testFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(103, 104))
	for _, cols := range []int{1, 2, 3, 8, 33, 1000} {
		for _, scale := range []float64{1e-3, 1, 30, 1e4} {
			for _, off := range []float64{0, 1e3} {
				const rows = 4
				x := make([]float32, rows*cols)
				x64 := make([]float64, len(x))
				for i := range x {
					x[i] = float32(rng.NormFloat64()*scale + off)
					x64[i] = float64(x[i])
				}
				nc := h.nclasses(cols)
				labels := make([]int32, rows)
				for i := range labels {
					labels[i] = int32(rng.IntN(nc))
				}
				l, err := h.build(WithReduction(Sum))
				if err != nil {
					t.Fatal(err)
				}
				g := make([]float32, len(x))
				r32 := make([]float32, rows)
				v32, err := l.Eval32(Input[float32]{Logits: x, Cols: cols, Labels: labels}, Output[float32]{Grad: g, Rows: r32})
				ctx := fmt.Sprintf("cols=%d scale=%g off=%g", cols, scale, off)
				g64 := make([]float64, len(x))
				r64 := make([]float64, rows)
				v64, err64 := l.Eval64(Input[float64]{Logits: x64, Cols: cols, Labels: labels}, Output[float64]{Grad: g64, Rows: r64})
				// A loss beyond float32's range is an overflow error in
				// float32 (and may be one in float64 too).
				if err64 != nil && !isOverflow(err64) {
					t.Fatalf("%s: float64: %v", ctx, err64)
				}
				if err != nil || err64 != nil {
					if !isOverflow(err) {
						t.Fatalf("%s: float32 error %v, float64 error %v", ctx, err, err64)
					}
					continue
				}
				if math.Abs(v32-v64) > 1e-5*math.Abs(v64)+1e-6*rows {
					t.Errorf("%s: loss %v, float64 %v", ctx, v32, v64)
				}
				for i := range r64 {
					if math.Abs(float64(r32[i])-r64[i]) > 1e-5*math.Abs(r64[i])+1e-6 {
						t.Errorf("%s: row %d: %v, float64 %v", ctx, i, r32[i], r64[i])
					}
				}
				for i := range g {
					if math.Abs(float64(g[i])-g64[i]) > 1e-6+1e-5*math.Abs(g64[i]) {
						t.Fatalf("%s: grad[%d] = %v, float64 %v", ctx, i, g[i], g64[i])
					}
				}
			}
		}
	}
}

// testIgnored: ignored rows have loss 0 and gradient 0; a batch of
// ignored rows has loss 0 under Mean.
func (h hardSuite) testIgnored(t *testing.T) {
	l, _ := h.build(WithIgnoreIndex(-1))
	x := []float32{1, 2, 3, 4, 5, 6}
	g := []float32{9, 9, 9, 9, 9, 9}
	v, err := l.Eval32(Input[float32]{Logits: x, Cols: 3, Labels: []int32{-1, -1}}, Output[float32]{Grad: g})
	if err != nil || v != 0 {
		t.Fatalf("all ignored: loss %v, err %v", v, err)
	}
	for _, e := range g {
		if e != 0 {
			t.Fatalf("all ignored: gradient %v", g)
		}
	}
	// An ignored row may hold anything, NaN included.
	nan := float32(math.NaN())
	rows := make([]float32, 2)
	if _, err := l.Eval32(Input[float32]{Logits: []float32{nan, nan, nan, 1, 2, 3}, Cols: 3, Labels: []int32{-1, 1}}, Output[float32]{Grad: g, Rows: rows}); err != nil {
		t.Fatalf("NaN in an ignored row: %v", err)
	}
	if rows[0] != 0 || g[0] != 0 || g[1] != 0 || g[2] != 0 {
		t.Fatalf("ignored row: loss %v, gradient %v", rows[0], g[:3])
	}
}

func (h hardSuite) testErrors(t *testing.T) {
	l, _ := h.build()
	nan := float32(math.NaN())
	nc := h.nclasses(3)
	cases := []struct {
		name string
		in   Input[float32]
		out  Output[float32]
		kind error
		text string
	}{
		{"label range", Input[float32]{Logits: make([]float32, 6), Cols: 3, Labels: []int32{0, int32(nc)}}, Output[float32]{}, ErrValue, "row 1"},
		{"negative label", Input[float32]{Logits: make([]float32, 6), Cols: 3, Labels: []int32{-2, 0}}, Output[float32]{}, ErrValue, "row 0"},
		{"nan", Input[float32]{Logits: []float32{0, 0, 0, 0, nan, 0}, Cols: 3, Labels: []int32{0, 0}}, Output[float32]{}, ErrValue, "row 1, column 1"},
		{"cols", Input[float32]{Logits: make([]float32, 6), Cols: 0, Labels: []int32{0}}, Output[float32]{}, ErrShape, "Cols"},
		{"ragged", Input[float32]{Logits: make([]float32, 7), Cols: 3, Labels: []int32{0, 0}}, Output[float32]{}, ErrShape, "multiple"},
		{"labels len", Input[float32]{Logits: make([]float32, 6), Cols: 3, Labels: []int32{0}}, Output[float32]{}, ErrShape, "Labels"},
		{"no labels", Input[float32]{Logits: make([]float32, 6), Cols: 3}, Output[float32]{}, ErrShape, "labels"},
		{"grad len", Input[float32]{Logits: make([]float32, 6), Cols: 3, Labels: []int32{0, 0}}, Output[float32]{Grad: make([]float32, 5)}, ErrShape, "Grad"},
		{"row weight", Input[float32]{Logits: make([]float32, 3), Cols: 3, Labels: []int32{0}, RowWeights: []float32{-1}}, Output[float32]{}, ErrValue, "row 0"},
		{"lse", Input[float32]{Logits: make([]float32, 3), Cols: 3, Labels: []int32{0}}, Output[float32]{LSE: make([]float32, 1)}, ErrShape, "LSE"},
	}
	for _, c := range cases {
		_, err := l.Eval32(c.in, c.out)
		if !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.text) {
			t.Errorf("%s: err = %v, want %v mentioning %q", c.name, err, c.kind, c.text)
		}
	}
	none, _ := h.build(WithReduction(None))
	if _, err := none.Eval32(Input[float32]{Logits: make([]float32, 3), Cols: 3, Labels: []int32{0}}, Output[float32]{}); !errors.Is(err, ErrShape) {
		t.Errorf("none without Rows: %v", err)
	}
	if !h.weights && !h.columnWeights {
		if _, err := h.build(WithClassWeights([]float64{1, 1, 1})); err == nil {
			t.Errorf("class weights accepted")
		}
	} else {
		cw, _ := h.build(WithClassWeights([]float64{1, 2}))
		if _, err := cw.Eval32(Input[float32]{Logits: make([]float32, 3), Cols: 3, Labels: []int32{0}}, Output[float32]{}); !errors.Is(err, ErrShape) {
			t.Errorf("class weights of the wrong length: %v", err)
		}
	}
}

// testMasks: −Inf logits off the target are masks (the reference sees the
// same −Inf) and get gradient 0; a −Inf target is an error.
func (h hardSuite) testMasks(t *testing.T) {
	inf := math.Inf(-1)
	x := []float64{0.5, inf, 1, inf, -0.3}
	l, _ := h.build(WithReduction(Sum))
	for _, y := range []int{0, 2, 4} {
		if y >= h.nclasses(5) {
			continue
		}
		g := make([]float64, len(x))
		v, err := l.Eval64(Input[float64]{Logits: x, Cols: 5, Labels: []int32{int32(y)}}, Output[float64]{Grad: g})
		if err != nil {
			t.Fatal(err)
		}
		want := h.ref(x, y)
		if math.Abs(v-want) > 1e-12*max(1, math.Abs(want)) {
			t.Errorf("label %d: loss %v, reference %v", y, v, want)
		}
		if g[1] != 0 || g[3] != 0 {
			t.Errorf("label %d: masked entries have gradient %v", y, g)
		}
		// The masked row equals the row without the masked columns,
		// up to the loss's dependence on the number of classes.
		num := gradcheck.Numeric(func(x []float64) float64 { return h.ref(x, y) }, x, 1e-6)
		if err := gradcheck.Compare(g, num, 1e-7, 1e-5); err != nil && !h.detached {
			t.Errorf("label %d: %v", y, err)
		}
	}
	_, err := l.Eval64(Input[float64]{Logits: x, Cols: 5, Labels: []int32{1}}, Output[float64]{})
	if !errors.Is(err, ErrValue) || !strings.Contains(err.Error(), "row 0, column 1") {
		t.Errorf("masked target: %v", err)
	}
}

// testTies: rows whose maximum is shared (by the target or not) and a
// row of equal logits match the reference; the gradient too where the
// loss is smooth there.
func (h hardSuite) testTies(t *testing.T) {
	rows := [][]float64{{2, 2, 1, 2, -1}, {0.5, 0.5, 0.5, 0.5, 0.5}, {-3, 4, 4, 0, 4}}
	l, _ := h.build(WithReduction(Sum))
	for r, x := range rows {
		if r == 1 && h.equalUndefined {
			continue
		}
		for _, y := range []int{0, 1, 3} {
			if y >= h.nclasses(len(x)) {
				continue
			}
			g := make([]float64, len(x))
			v, err := l.Eval64(Input[float64]{Logits: x, Cols: len(x), Labels: []int32{int32(y)}}, Output[float64]{Grad: g})
			if err != nil {
				t.Fatal(err)
			}
			if want := h.ref(x, y); !near(v, want, 1e-12) {
				t.Errorf("%v label %d: loss %v, reference %v", x, y, v, want)
			}
			if h.kinks || h.detached {
				continue
			}
			num := gradcheck.Numeric(func(x []float64) float64 { return h.ref(x, y) }, append([]float64(nil), x...), 1e-6)
			if err := gradcheck.Compare(g, num, 1e-7, 1e-5); err != nil {
				t.Errorf("%v label %d: %v", x, y, err)
			}
		}
	}
}

// testDeterministic: the same bits for every thread count, and the
// gradient written over the logits equals the one written elsewhere.
func (h hardSuite) testDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(105, 106))
	const rows, cols = 200, 300
	x := make([]float32, rows*cols)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 3)
	}
	labels := make([]int32, rows)
	for i := range labels {
		labels[i] = int32(rng.IntN(h.nclasses(cols)))
	}
	var wantV float64
	var wantG []float32
	for _, th := range []int{1, 2, 3} {
		l, _ := h.build(WithThreads(th))
		g := make([]float32, len(x))
		v, err := l.Eval32(Input[float32]{Logits: x, Cols: cols, Labels: labels}, Output[float32]{Grad: g})
		if err != nil {
			t.Fatal(err)
		}
		if wantG == nil {
			wantV, wantG = v, g
			continue
		}
		if math.Float64bits(v) != math.Float64bits(wantV) {
			t.Fatalf("threads %d: loss %v vs %v", th, v, wantV)
		}
		for i := range g {
			if math.Float32bits(g[i]) != math.Float32bits(wantG[i]) {
				t.Fatalf("threads %d: grad[%d] differs", th, i)
			}
		}
	}
	l, _ := h.build(WithThreads(2))
	inPlace := append([]float32(nil), x...)
	v, err := l.Eval32(Input[float32]{Logits: inPlace, Cols: cols, Labels: labels}, Output[float32]{Grad: inPlace})
	if err != nil || math.Float64bits(v) != math.Float64bits(wantV) {
		t.Fatalf("in place: %v (want %v), %v", v, wantV, err)
	}
	for i := range inPlace {
		if math.Float32bits(inPlace[i]) != math.Float32bits(wantG[i]) {
			t.Fatalf("in place grad[%d] = %v, want %v", i, inPlace[i], wantG[i])
		}
	}
}

func isOverflow(err error) bool {
	return errors.Is(err, ErrValue) && strings.Contains(err.Error(), "overflow")
}

// Helpers for the references: a plain max-shifted softmax of one row.

func refSoftmax(x []float64) []float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = max(m, v)
	}
	p := make([]float64, len(x))
	var s float64
	for j, v := range x {
		p[j] = math.Exp(v - m)
		s += p[j]
	}
	for j := range p {
		p[j] /= s
	}
	return p
}

// refLogSoftmax is log softmax(x), max-shifted.
func refLogSoftmax(x []float64) []float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = max(m, v)
	}
	var s float64
	for _, v := range x {
		s += math.Exp(v - m)
	}
	out := make([]float64, len(x))
	for j, v := range x {
		out[j] = v - m - math.Log(s)
	}
	return out
}

// near reports |got − want| ≤ tol·max(1, |want|).
func near(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*max(1, math.Abs(want))
}

// checkVec fails if got and want differ by more than tol·max(1, |want_i|).
func checkVec(t *testing.T, ctx string, got []float64, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", ctx, len(got), len(want))
	}
	for i := range got {
		if !near(got[i], want[i], tol) {
			t.Errorf("%s: [%d] = %.12g, want %.12g", ctx, i, got[i], want[i])
			return
		}
	}
}
