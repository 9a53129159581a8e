package loss

import (
	"errors"
	"fmt"
	"github.com/xentlab/xent/internal/rowpipe"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/xentlab/xent/internal/gradcheck"
)

// refCE is an independent float64 reference of CrossEntropy written
// straight from the formula in its doc comment (no kernels, no tricks but
// a max shift).
func refCE(x []float64, cols int, labels []int64, soft []float64, rw []float64, o CrossEntropyOptions) (total float64, rows []float64) {
	n := len(x) / cols
	rows = make([]float64, n)
	C := float64(cols)
	w := func(c int) float64 {
		if o.ClassWeights == nil {
			return 1
		}
		return o.ClassWeights[c]
	}
	var den float64
	for i := 0; i < n; i++ {
		r := 1.0
		if rw != nil {
			r = rw[i]
		}
		if soft == nil && labels[i] == o.IgnoreIndex {
			continue
		}
		z := make([]float64, cols)
		m := math.Inf(-1)
		for j := range z {
			z[j] = x[i*cols+j]
			if o.SoftCap > 0 {
				z[j] = o.SoftCap * math.Tanh(z[j]/o.SoftCap)
			}
			m = max(m, z[j])
		}
		// log Σ exp(z − m) = log1p(Σ over all but one maximum), so that
		// tiny losses keep their digits in the reference too.
		var tail float64
		skipped := false
		for _, v := range z {
			if v == m && !skipped {
				skipped = true
				continue
			}
			tail += math.Exp(v - m)
		}
		logS := math.Log1p(tail)
		lse := m + logS
		nll := func(c int) float64 { return (m - z[c]) + logS } // lse − z_c
		var ce float64
		eps := o.LabelSmoothing
		if soft == nil {
			y := int(labels[i])
			ce = (1 - eps) * w(y) * nll(y)
			for c := range z {
				if eps > 0 {
					ce += eps / C * w(c) * nll(c)
				}
			}
			den += r * w(y)
		} else {
			for c := range z {
				q := (1-eps)*soft[i*cols+c] + eps/C
				if q != 0 {
					ce += w(c) * q * nll(c)
				}
			}
			den += r
		}
		rows[i] = r * (ce + o.ZLoss*lse*lse)
		total += rows[i]
	}
	if o.Reduction == Mean {
		if den == 0 {
			return 0, rows
		}
		total /= den
	}
	return total, rows
}

type ceCase struct {
	name   string
	opts   []CrossEntropyOption
	soft   bool
	rowW   bool
	ignore bool
}

func ceCases() []ceCase {
	var cs []ceCase
	for _, red := range []Reduction{Mean, Sum, None} {
		for _, soft := range []bool{false, true} {
			for _, eps := range []float64{0, 0.2} {
				for _, weights := range []bool{false, true} {
					for _, extra := range []string{"plain", "zloss", "softcap", "rowweights+ignore"} {
						c := ceCase{soft: soft}
						c.opts = []CrossEntropyOption{WithReduction(red), WithLabelSmoothing(eps)}
						if weights {
							c.opts = append(c.opts, WithClassWeights([]float64{0.5, 1, 2, 1.5, 0.25, 1, 3}))
						}
						switch extra {
						case "zloss":
							c.opts = append(c.opts, WithZLoss(1e-2))
						case "softcap":
							c.opts = append(c.opts, WithSoftCap(4))
						case "rowweights+ignore":
							c.rowW, c.ignore = true, !soft
						}
						c.name = fmt.Sprintf("%v/soft=%v/eps=%v/weights=%v/%s", red, soft, eps, weights, extra)
						cs = append(cs, c)
					}
				}
			}
		}
	}
	return cs
}

// TestCEGradientFiniteDifferences checks the float64 gradient of every
// option combination against central differences, and the value against
// the independent reference.
func TestCEGradientFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	const rows, cols = 5, 7
	for _, c := range ceCases() {
		ce, err := NewCrossEntropy(c.opts...)
		if err != nil {
			t.Fatal(err)
		}
		x := make([]float64, rows*cols)
		for i := range x {
			x[i] = rng.NormFloat64() * 2
		}
		in := Input[float64]{Logits: x, Cols: cols}
		var labels []int64
		var soft []float64
		if c.soft {
			soft = make([]float64, rows*cols)
			for i := 0; i < rows; i++ {
				var s float64
				for j := 0; j < cols; j++ {
					soft[i*cols+j] = rng.Float64()
					s += soft[i*cols+j]
				}
				for j := 0; j < cols; j++ {
					soft[i*cols+j] /= s
				}
			}
			in.Targets = soft
		} else {
			labels = make([]int64, rows)
			for i := range labels {
				labels[i] = int64(rng.IntN(cols))
			}
			if c.ignore {
				labels[2] = -100
			}
			in.Labels64 = labels
		}
		var rw []float64
		if c.rowW {
			rw = []float64{1, 0.5, 2, 0, 1.5}
			in.RowWeights = rw
		}
		o := ce.Options()
		out := Output[float64]{Grad: make([]float64, len(x)), Rows: make([]float64, rows)}
		got, err := ce.Eval64(in, out)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		want, wantRows := refCE(x, cols, labels, soft, rw, o)
		if math.Abs(got-want) > 1e-12*max(1, math.Abs(want)) {
			t.Errorf("%s: loss %v, reference %v", c.name, got, want)
		}
		for i := range wantRows {
			if math.Abs(out.Rows[i]-wantRows[i]) > 1e-12*max(1, math.Abs(wantRows[i])) {
				t.Errorf("%s: row %d loss %v, reference %v", c.name, i, out.Rows[i], wantRows[i])
			}
		}
		f := func(x []float64) float64 {
			v, _ := refCE(x, cols, labels, soft, rw, o)
			return v
		}
		if err := gradcheck.Check(f, out.Grad, x, 1e-5, 1e-8, 1e-6); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if c.ignore {
			for j := 0; j < cols; j++ {
				if out.Grad[2*cols+j] != 0 {
					t.Errorf("%s: ignored row has gradient", c.name)
				}
			}
		}
	}
}

// TestCEFloat32 checks the float32 path against the float64 reference on
// random and adversarial rows, within the documented bounds.
func TestCEFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for _, cols := range []int{1, 2, 3, 7, 8, 9, 31, 64, 65, 1000, 20000} {
		for _, scale := range []float64{1e-3, 1, 30, 1e4} {
			for _, off := range []float64{0, 3e4} {
				for _, c := range []ceCase{{name: "plain"}, {name: "smooth", opts: []CrossEntropyOption{WithLabelSmoothing(0.1), WithZLoss(1e-4)}}, {name: "soft", soft: true}} {
					rows := 4
					x := make([]float32, rows*cols)
					x64 := make([]float64, len(x))
					for i := range x {
						x[i] = float32(rng.NormFloat64()*scale + off)
						x64[i] = float64(x[i])
					}
					ce, _ := NewCrossEntropy(c.opts...)
					in := Input[float32]{Logits: x, Cols: cols}
					var labels []int64
					var soft []float64
					if c.soft {
						soft = make([]float64, len(x))
						in.Targets = make([]float32, len(x))
						for i := 0; i < rows; i++ {
							j := rng.IntN(cols)
							in.Targets[i*cols+j] = 0.7
							in.Targets[i*cols+(j+1)%cols] += 0.3
						}
						for i, v := range in.Targets {
							soft[i] = float64(v)
						}
					} else {
						labels = make([]int64, rows)
						in.Labels = make([]int32, rows)
						for i := range labels {
							labels[i] = int64(rng.IntN(cols))
							in.Labels[i] = int32(labels[i])
						}
					}
					g := make([]float32, len(x))
					rowsOut := make([]float32, rows)
					got, err := ce.Eval32(in, Output[float32]{Grad: g, Rows: rowsOut})
					if err != nil {
						t.Fatal(err)
					}
					want, wantRows := refCE(x64, cols, labels, soft, nil, ce.Options())
					ctx := fmt.Sprintf("cols=%d scale=%g off=%g %s", cols, scale, off, c.name)
					if math.Abs(got-want) > 1e-5*math.Abs(want)+1e-30 {
						t.Errorf("%s: loss %v, want %v", ctx, got, want)
					}
					for i := range wantRows {
						if math.Abs(float64(rowsOut[i])-wantRows[i]) > 1e-5*math.Abs(wantRows[i])+1e-30 {
							t.Errorf("%s: row %d: %v, want %v", ctx, i, rowsOut[i], wantRows[i])
						}
					}
					// Gradient: the analytic float64 one is the reference.
					ce64, _ := NewCrossEntropy(c.opts...)
					g64 := make([]float64, len(x))
					in64 := Input[float64]{Logits: x64, Cols: cols, Labels64: labels, Targets: soft}
					if _, err := ce64.Eval64(in64, Output[float64]{Grad: g64}); err != nil {
						t.Fatal(err)
					}
					for i := range g {
						if math.Abs(float64(g[i])-g64[i]) > 1e-6+1e-5*math.Abs(g64[i]) {
							t.Fatalf("%s: grad[%d] = %v, want %v", ctx, i, g[i], g64[i])
						}
					}
				}
			}
		}
	}
}

// TestCENoSoftmaxCollapse: a confidently right row keeps its tiny loss
// and a nonzero target gradient, to relative error 1e-5 down to 1e-30.
func TestCENoSoftmaxCollapse(t *testing.T) {
	ce, _ := NewCrossEntropy(WithReduction(Sum))
	for _, gap := range []float64{10, 16.7, 17, 20, 30, 40, 50, 60, 69} {
		for _, cols := range []int{2, 10, 1000} {
			x := make([]float32, cols)
			for j := range x {
				x[j] = float32(-gap) + float32(j%3)*0.01
			}
			x[0] = 0
			var tail float64
			for j := 1; j < cols; j++ {
				tail += math.Exp(float64(x[j]))
			}
			want := math.Log1p(tail)
			g := make([]float32, cols)
			got, err := ce.Eval32(Input[float32]{Logits: x, Cols: cols, Labels: []int32{0}}, Output[float32]{Grad: g})
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-want) > 1e-5*want {
				t.Errorf("gap %v cols %d: loss %v, want %v", gap, cols, got, want)
			}
			wantG := -tail / (1 + tail)
			if g[0] == 0 || math.Abs(float64(g[0])-wantG) > 1e-5*math.Abs(wantG) {
				t.Errorf("gap %v cols %d: target gradient %v, want %v", gap, cols, g[0], wantG)
			}
			// Without a gradient the tail is recomputed from the logits.
			if v, err := ce.Eval32(Input[float32]{Logits: x, Cols: cols, Labels: []int32{0}}, Output[float32]{}); err != nil || v != got {
				t.Errorf("gap %v cols %d: loss without gradient %v (%v), with %v", gap, cols, v, err, got)
			}
		}
	}
}

func TestCEAllIgnored(t *testing.T) {
	ce, _ := NewCrossEntropy()
	x := []float32{1, 2, 3, 4}
	g := []float32{9, 9, 9, 9}
	v, err := ce.Eval32(Input[float32]{Logits: x, Cols: 2, Labels: []int32{-100, -100}}, Output[float32]{Grad: g})
	if err != nil || v != 0 {
		t.Fatalf("loss %v, err %v", v, err)
	}
	for _, e := range g {
		if e != 0 {
			t.Fatalf("gradient %v", g)
		}
	}
}

func TestCEMasking(t *testing.T) {
	inf := float32(math.Inf(-1))
	ce, _ := NewCrossEntropy()
	x := []float32{0, inf, 1, inf}
	g := make([]float32, 4)
	v, err := ce.Eval32(Input[float32]{Logits: x, Cols: 4, Labels: []int32{2}}, Output[float32]{Grad: g})
	want := math.Log1p(math.Exp(-1))
	if err != nil || math.Abs(v-want) > 1e-7 {
		t.Fatalf("loss %v (want %v), err %v", v, want, err)
	}
	if g[1] != 0 || g[3] != 0 {
		t.Fatalf("masked entries have gradient %v", g)
	}
}

func TestCEErrors(t *testing.T) {
	ce, _ := NewCrossEntropy()
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	cases := []struct {
		name string
		in   Input[float32]
		out  Output[float32]
		kind error
		text string
	}{
		{"label range", Input[float32]{Logits: make([]float32, 6), Cols: 3, Labels: []int32{0, 3}}, Output[float32]{}, ErrValue, "row 1"},
		{"negative label", Input[float32]{Logits: make([]float32, 6), Cols: 3, Labels: []int32{-1, 0}}, Output[float32]{}, ErrValue, "row 0"},
		{"nan", Input[float32]{Logits: []float32{0, 0, 0, 0, nan, 0}, Cols: 3, Labels: []int32{0, 0}}, Output[float32]{}, ErrValue, "row 1, column 1"},
		{"+inf", Input[float32]{Logits: []float32{0, inf, 0}, Cols: 3, Labels: []int32{0}}, Output[float32]{}, ErrValue, "column 1"},
		{"masked target", Input[float32]{Logits: []float32{0, -inf, 0}, Cols: 3, Labels: []int32{1}}, Output[float32]{}, ErrValue, "row 0, column 1"},
		{"cols", Input[float32]{Logits: make([]float32, 6), Cols: 0, Labels: []int32{0}}, Output[float32]{}, ErrShape, "Cols"},
		{"ragged", Input[float32]{Logits: make([]float32, 7), Cols: 3, Labels: []int32{0, 0}}, Output[float32]{}, ErrShape, "multiple"},
		{"labels len", Input[float32]{Logits: make([]float32, 6), Cols: 3, Labels: []int32{0}}, Output[float32]{}, ErrShape, "Labels"},
		{"no labels", Input[float32]{Logits: make([]float32, 6), Cols: 3}, Output[float32]{}, ErrShape, "labels"},
		{"grad len", Input[float32]{Logits: make([]float32, 6), Cols: 3, Labels: []int32{0, 0}}, Output[float32]{Grad: make([]float32, 5)}, ErrShape, "Grad"},
		{"soft nan", Input[float32]{Logits: make([]float32, 3), Cols: 3, Targets: []float32{0.5, nan, 0.5}}, Output[float32]{}, ErrValue, "column 1"},
		{"soft negative", Input[float32]{Logits: make([]float32, 3), Cols: 3, Targets: []float32{-0.2, 0.7, 0.5}}, Output[float32]{}, ErrValue, "row 0, column 0"},
		{"soft +inf", Input[float32]{Logits: make([]float32, 6), Cols: 3, Targets: []float32{0, 0, 1, 0, inf, 0}}, Output[float32]{}, ErrValue, "row 1, column 1"},
		{"row weight", Input[float32]{Logits: make([]float32, 3), Cols: 3, Labels: []int32{0}, RowWeights: []float32{-1}}, Output[float32]{}, ErrValue, "row 0"},
	}
	for _, c := range cases {
		_, err := ce.Eval32(c.in, c.out)
		if !errors.Is(err, c.kind) || !contains(err.Error(), c.text) {
			t.Errorf("%s: err = %v, want %v mentioning %q", c.name, err, c.kind, c.text)
		}
	}
	sm, _ := NewCrossEntropy(WithLabelSmoothing(0.1))
	if _, err := sm.Eval32(Input[float32]{Logits: []float32{0, -inf, 1}, Cols: 3, Labels: []int32{0}}, Output[float32]{}); !errors.Is(err, ErrValue) {
		t.Errorf("smoothing with −Inf: %v", err)
	}
	none, _ := NewCrossEntropy(WithReduction(None))
	if _, err := none.Eval32(Input[float32]{Logits: make([]float32, 3), Cols: 3, Labels: []int32{0}}, Output[float32]{}); !errors.Is(err, ErrShape) {
		t.Errorf("none without Rows: %v", err)
	}
	for _, opt := range []CrossEntropyOption{WithLabelSmoothing(1.5), WithZLoss(-1), WithSoftCap(math.Inf(1)), WithClassWeights([]float64{1, math.NaN()})} {
		if _, err := NewCrossEntropy(opt); err == nil {
			t.Errorf("bad option accepted")
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// TestCEDeterministic: same bits for every thread count, and the gradient
// written over the logits equals the one written elsewhere.
func TestCEDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	const rows, cols = 300, 777
	x := make([]float32, rows*cols)
	labels := make([]int32, rows)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 5)
	}
	for i := range labels {
		labels[i] = int32(rng.IntN(cols))
	}
	var wantV float64
	var wantG []float32
	// Non-temporal gradient stores (lowered threshold) must not change
	// the bits either.
	defer func(v int, f bool) { rowpipe.NTBytes, rowpipe.ForceNT = v, f }(rowpipe.NTBytes, rowpipe.ForceNT)
	for k, th := range []int{1, 2, 3, 8, 2} {
		if k == 4 {
			rowpipe.NTBytes, rowpipe.ForceNT = 0, true
		}
		ce, _ := NewCrossEntropy(WithThreads(th), WithLabelSmoothing(0.1))
		g := make([]float32, len(x))
		v, err := ce.Eval32(Input[float32]{Logits: x, Cols: cols, Labels: labels}, Output[float32]{Grad: g})
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
	// An ignored row's log-sum-exp is read before its gradient (zero)
	// overwrites it in place.
	labels[5] = -100
	ce, _ := NewCrossEntropy(WithThreads(2), WithLabelSmoothing(0.1))
	lseOut := make([]float32, rows)
	outOfPlace := make([]float32, len(x))
	wantV, _ = ce.Eval32(Input[float32]{Logits: x, Cols: cols, Labels: labels}, Output[float32]{Grad: outOfPlace, LSE: lseOut})
	wantG = outOfPlace
	inPlace := append([]float32(nil), x...)
	lseIn := make([]float32, rows)
	v, err := ce.Eval32(Input[float32]{Logits: inPlace, Cols: cols, Labels: labels}, Output[float32]{Grad: inPlace, LSE: lseIn})
	if err != nil || math.Float64bits(v) != math.Float64bits(wantV) {
		t.Fatalf("in place: %v, %v", v, err)
	}
	for i := range lseIn {
		if math.Float32bits(lseIn[i]) != math.Float32bits(lseOut[i]) {
			t.Fatalf("in place: LSE of row %d %v, want %v", i, lseIn[i], lseOut[i])
		}
	}
	for i := range inPlace {
		if math.Float32bits(inPlace[i]) != math.Float32bits(wantG[i]) {
			t.Fatalf("in place grad[%d] differs", i)
		}
	}
}

// TestCrossEntropySettings: the settings given become the loss's options,
// zeros give no option at all.
func TestCrossEntropySettings(t *testing.T) {
	if got := CrossEntropySettings(0, 0, 0); len(got) != 0 {
		t.Errorf("all zero: %d options, want none", len(got))
	}
	for _, c := range [][3]float64{{0.1, 0, 0}, {0, 1e-3, 0}, {0, 0, 30}, {0.2, 1e-4, 15}} {
		ce, err := NewCrossEntropy(CrossEntropySettings(c[0], c[1], c[2])...)
		if err != nil {
			t.Fatal(err)
		}
		o := ce.Options()
		if o.LabelSmoothing != c[0] || o.ZLoss != c[1] || o.SoftCap != c[2] {
			t.Errorf("%v: options %+v", c, o)
		}
	}
}

// TestCEPipelineRowRegimes checks the float32 cross-entropy of a matrix
// whose rows' maxima change regime from row to row (a shift of 0, shifted
// by the maximum, no shift, each before and after the others; ignored
// rows between them) against the same rows evaluated one at a time: the
// same bits for every row's loss and gradient, on one and two threads.
func TestCEPipelineRowRegimes(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	offsets := []float64{0, 30, 100, 150, 1e4, 0, -30, -50, -100, 0, 0, -1e4, 84, 200, 300, 0, 0, 200, 0, 0, -100}
	for _, cols := range []int{5, 64, 1000, rowpipe.Chunk + 7} {
		// Enough rows that the pipeline runs several rows in a block
		// (at least 64 blocks: 3 rows each here).
		rows := 129
		x := make([]float32, rows*cols)
		labels := make([]int32, rows)
		for r := range rows {
			off := offsets[r%len(offsets)]
			for i := r * cols; i < (r+1)*cols; i++ {
				x[i] = float32(rng.NormFloat64()*3 + off)
			}
			labels[r] = int32(rng.IntN(cols))
			if r%7 == 4 {
				labels[r] = -100
			}
		}
		for _, th := range []int{1, 2} {
			ce, _ := NewCrossEntropy(WithReduction(Sum), WithThreads(th))
			g := make([]float32, len(x))
			lossRows := make([]float32, rows)
			if _, err := ce.Eval32(Input[float32]{Logits: x, Cols: cols, Labels: labels}, Output[float32]{Grad: g, Rows: lossRows}); err != nil {
				t.Fatal(err)
			}
			for r := range rows {
				row := x[r*cols : (r+1)*cols]
				g1 := make([]float32, cols)
				l1 := make([]float32, 1)
				if _, err := ce.Eval32(Input[float32]{Logits: row, Cols: cols, Labels: labels[r : r+1]}, Output[float32]{Grad: g1, Rows: l1}); err != nil {
					t.Fatal(err)
				}
				ctx := fmt.Sprintf("cols=%d threads=%d row %d (offset %g)", cols, th, r, offsets[r%len(offsets)])
				if math.Float32bits(lossRows[r]) != math.Float32bits(l1[0]) {
					t.Fatalf("%s: loss %v, alone %v", ctx, lossRows[r], l1[0])
				}
				for j := range g1 {
					if math.Float32bits(g[r*cols+j]) != math.Float32bits(g1[j]) {
						t.Fatalf("%s: grad[%d] = %v, alone %v", ctx, j, g[r*cols+j], g1[j])
					}
				}
			}
		}
	}
}
