package lab

import (
	"math"
	"strings"
	"testing"

	"github.com/xentlab/xent/internal/gradcheck"
)

// lmBatch draws a batch of contexts and targets for a model with vocab
// tokens; context tokens repeat within rows so that the embedding
// gradient adds several contributions into one row.
func lmBatch(vocab, context, rows int, seed uint64) (ctx, tgt []int32) {
	r := newRNG(seed)
	ctx = make([]int32, rows*context)
	tgt = make([]int32, rows)
	for i := range ctx {
		ctx[i] = int32(r.intn(vocab))
	}
	ctx[1] = ctx[0]
	for i := range tgt {
		tgt[i] = int32(r.intn(vocab))
	}
	return ctx, tgt
}

// lmLoss64 is the model's mean cross-entropy in float64, written
// directly from the definition of LM.
func lmLoss64(m *LM, p []float64, ctx, tgt []int32) float64 {
	k, de, hd, v := m.Context, m.Embed, m.Hidden, m.Vocab
	in := k * de
	e := p[:v*de]
	w1 := p[v*de : v*de+in*hd]
	b1 := p[v*de+in*hd : v*de+in*hd+hd]
	off := v*de + in*hd + hd
	w := p[off : off+v*hd]
	b := p[off+v*hd : off+v*hd+v]
	var sum float64
	x := make([]float64, in)
	h := make([]float64, hd)
	z := make([]float64, v)
	for r := range tgt {
		for j := range k {
			t := int(ctx[r*k+j])
			copy(x[j*de:(j+1)*de], e[t*de:(t+1)*de])
		}
		for u := range hd {
			a := b1[u]
			for i := range in {
				a += x[i] * w1[i*hd+u]
			}
			h[u] = math.Max(a, 0)
		}
		mx := math.Inf(-1)
		for c := range v {
			s := b[c]
			for u := range hd {
				s += h[u] * w[c*hd+u]
			}
			z[c] = s
			mx = math.Max(mx, s)
		}
		var se float64
		for _, s := range z {
			se += math.Exp(s - mx)
		}
		sum += mx + math.Log(se) - z[tgt[r]]
	}
	return sum / float64(len(tgt))
}

func TestLMGradCheck(t *testing.T) {
	m, err := NewLM(7, 2, 3, 5, 11)
	if err != nil {
		t.Fatal(err)
	}
	// Larger head weights than the initialisation, so that every part of
	// the gradient is well above the differences' noise.
	_, _, b1, w, _ := m.parts(m.Params)
	r := newRNG(3)
	for i := range w {
		w[i] = float32(2*r.float64() - 1)
	}
	for i := range b1 {
		b1[i] = 0.5
	}
	ctx, tgt := lmBatch(7, 2, 6, 5)
	p64 := to64(m.Params)
	f := func(p []float64) float64 { return lmLoss64(m, p, ctx, tgt) }
	want := lmLoss64(m, p64, ctx, tgt)
	for _, head := range []LMHead{{Name: "fused"}, {Name: "tiles", FilterEps: 1e-30}, {Name: "materialized", Materialized: true}} {
		grad := make([]float32, len(m.Params))
		var ws LMWorkspace
		st, err := m.Grad(&ws, ctx, tgt, head, grad)
		if err != nil {
			t.Fatalf("%s: %v", head.Name, err)
		}
		if math.Abs(st.Loss-want) > 1e-5*want {
			t.Errorf("%s: loss %v, want %v", head.Name, st.Loss, want)
		}
		if err := gradcheck.Check(f, to64(grad), p64, 1e-5, 2e-5, 2e-3); err != nil {
			t.Errorf("%s: %v", head.Name, err)
		}
	}
}

func TestLMHeadsAgree(t *testing.T) {
	// A vocabulary that is not a multiple of the tile, more rows than a
	// tile.
	m, err := NewLM(700, 3, 8, 24, 2)
	if err != nil {
		t.Fatal(err)
	}
	ctx, tgt := lmBatch(700, 3, 100, 9)
	run := func(h LMHead) ([]float32, LMStepStats) {
		grad := make([]float32, len(m.Params))
		var ws LMWorkspace
		st, err := m.Grad(&ws, ctx, tgt, h, grad)
		if err != nil {
			t.Fatalf("%s: %v", h.Name, err)
		}
		return grad, st
	}
	gf, sf := run(LMHead{Name: "fused"})
	gm, sm := run(LMHead{Name: "materialized", Materialized: true})
	if math.Abs(sf.Loss-sm.Loss) > 1e-6*sm.Loss {
		t.Errorf("loss: fused %v, materialized %v", sf.Loss, sm.Loss)
	}
	var scale float64
	for _, g := range gm {
		scale = math.Max(scale, math.Abs(float64(g)))
	}
	if err := gradcheck.Compare(to64(gf), to64(gm), 1e-5*scale, 1e-4); err != nil {
		t.Errorf("gradients, fused vs materialized: %v", err)
	}
	if want := int64(4 * 100 * 700); sm.ScratchBytes < want || sf.ScratchBytes < want {
		t.Errorf("scratch: fused %d, materialized %d bytes; want at least the %d of the logits", sf.ScratchBytes, sm.ScratchBytes, want)
	}
	// Filtering leaves the loss alone; with every target among the first
	// classes, the tiles of the other classes (probabilities near 1/700)
	// are skipped at a threshold of 0.01.
	for i := range tgt {
		tgt[i] %= 10
	}
	_, sf = run(LMHead{Name: "fused"})
	_, ss := run(LMHead{Name: "filtered", FilterEps: 0.01})
	if ss.Loss != sf.Loss || ss.SkippedTiles != 4 || ss.Tiles != 4*2 {
		t.Errorf("filtered: loss %v (exact %v), %d of %d tiles skipped, want 4 of 8", ss.Loss, sf.Loss, ss.SkippedTiles, ss.Tiles)
	}
}

func TestLMLoss(t *testing.T) {
	// More rows than one evaluation block.
	m, err := NewLM(50, 2, 4, 8, 4)
	if err != nil {
		t.Fatal(err)
	}
	rows := lmEvalRows + 500
	if testing.Short() {
		rows = lmEvalRows + 10
	}
	ctx, tgt := lmBatch(50, 2, rows, 1)
	got, err := m.Loss(ctx, tgt)
	if err != nil {
		t.Fatal(err)
	}
	var ws LMWorkspace
	st, err := m.Grad(&ws, ctx, tgt, LMHead{Materialized: true}, make([]float32, len(m.Params)))
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-st.Loss) > 1e-6*st.Loss {
		t.Errorf("Loss %v, training loss %v", got, st.Loss)
	}
}

func TestLMDeterministic(t *testing.T) {
	steps := func(threads int, head LMHead) []float32 {
		m, err := NewLM(600, 2, 8, 16, 7)
		if err != nil {
			t.Fatal(err)
		}
		m.Threads = threads
		opt, err := NewOptimizer(OptimizerConfig{Name: "adam", LR: 1e-2}, len(m.Params), nil, threads)
		if err != nil {
			t.Fatal(err)
		}
		grad := make([]float32, len(m.Params))
		var ws LMWorkspace
		for s := range 3 {
			ctx, tgt := lmBatch(600, 2, 70, uint64(s))
			if _, err := m.Grad(&ws, ctx, tgt, head, grad); err != nil {
				t.Fatal(err)
			}
			opt.Step(m.Params, grad)
		}
		return m.Params
	}
	for _, head := range LMHeads(BF16FilterEps) {
		one := steps(1, head)
		for _, th := range []int{2, 3} {
			other := steps(th, head)
			for i := range one {
				if math.Float32bits(one[i]) != math.Float32bits(other[i]) {
					t.Fatalf("%s: parameter %d after 3 steps differs between 1 and %d threads: %v vs %v", head.Name, i, th, one[i], other[i])
				}
			}
		}
	}
}

func TestLMErrors(t *testing.T) {
	for _, s := range [][4]int{{1, 2, 3, 4}, {10, 0, 3, 4}, {10, 2, 0, 4}, {10, 2, 3, 0}} {
		if _, err := NewLM(s[0], s[1], s[2], s[3], 1); err == nil {
			t.Errorf("NewLM%v: no error", s)
		}
	}
	m, err := NewLM(10, 2, 3, 4, 1)
	if err != nil {
		t.Fatal(err)
	}
	var ws LMWorkspace
	grad := make([]float32, len(m.Params))
	for _, c := range []struct {
		ctx, tgt []int32
		grad     []float32
		want     string
	}{
		{[]int32{1, 2, 3}, []int32{1, 2}, grad, "context tokens"},
		{[]int32{1, 2, 3, 10}, []int32{1, 2}, grad, "outside the vocabulary"},
		{[]int32{1, 2, 3, -1}, []int32{1, 2}, grad, "outside the vocabulary"},
		{[]int32{1, 2, 3, 4}, []int32{1, 10}, grad, "target of row 1"},
		{[]int32{1, 2, 3, 4}, []int32{1, 2}, grad[1:], "gradient values"},
		{nil, nil, grad, "empty batch"},
	} {
		_, err := m.Grad(&ws, c.ctx, c.tgt, LMHead{}, c.grad)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Grad(%v, %v): %v, want an error with %q", c.ctx, c.tgt, err, c.want)
		}
	}
	if _, err := m.Loss(nil, nil); err == nil {
		t.Error("Loss of no row: no error")
	}
	if _, err := m.Loss([]int32{1, 2}, []int32{10}); err == nil {
		t.Error("Loss with a bad target: no error")
	}
	// Non-finite weights are reported by the head, not turned into NaN.
	m.Params[len(m.Params)-1] = float32(math.Inf(1))
	if _, err := m.Grad(&ws, []int32{1, 2}, []int32{3}, LMHead{}, grad); err == nil {
		t.Error("infinite bias: no error")
	}
}
