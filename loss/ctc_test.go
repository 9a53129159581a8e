package loss

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/xentlab/xent/internal/gradcheck"
)

// The references below are written from the definition of CTC, not from
// the implementation: a brute-force sum over every path of a tiny
// problem, and the textbook log-space alpha recursion over the
// blank-extended target, both in float64 on log-softmax rows computed
// directly.

// refCTCBrute sums the probabilities of every path of frames (T·C paths
// enumerated) whose collapse (merge repeats, drop blanks) is target.
func refCTCBrute(frames [][]float64, target []int, blank int) float64 {
	tt := len(frames)
	if tt == 0 {
		if len(target) == 0 {
			return 0
		}
		return math.Inf(1)
	}
	c := len(frames[0])
	lp := make([][]float64, tt)
	for t := range frames {
		lp[t] = refLogSoftmax(frames[t])
	}
	path := make([]int, tt)
	var total float64
	var rec func(t int)
	rec = func(t int) {
		if t == tt {
			var out []int
			prev := -1
			for _, p := range path {
				if p != prev && p != blank {
					out = append(out, p)
				}
				prev = p
			}
			if fmt.Sprint(out) != fmt.Sprint(target) && !(len(out) == 0 && len(target) == 0) {
				return
			}
			var l float64
			for u, p := range path {
				l += lp[u][p]
			}
			total += math.Exp(l)
			return
		}
		for k := 0; k < c; k++ {
			path[t] = k
			rec(t + 1)
		}
	}
	rec(0)
	return -math.Log(total)
}

func refLogAdd(a, b float64) float64 {
	if math.IsInf(a, -1) {
		return b
	}
	if math.IsInf(b, -1) {
		return a
	}
	m := max(a, b)
	return m + math.Log(math.Exp(a-m)+math.Exp(b-m))
}

// refCTC is the textbook log-space forward recursion.
func refCTC(frames [][]float64, target []int, blank int) float64 {
	tt := len(frames)
	if tt == 0 {
		if len(target) == 0 {
			return 0
		}
		return math.Inf(1)
	}
	ext := []int{blank}
	for _, y := range target {
		ext = append(ext, y, blank)
	}
	L := len(ext)
	ninf := math.Inf(-1)
	a := make([]float64, L)
	for s := range a {
		a[s] = ninf
	}
	lp := refLogSoftmax(frames[0])
	a[0] = lp[ext[0]]
	if L > 1 {
		a[1] = lp[ext[1]]
	}
	for t := 1; t < tt; t++ {
		lp := refLogSoftmax(frames[t])
		na := make([]float64, L)
		for s := 0; s < L; s++ {
			v := a[s]
			if s >= 1 {
				v = refLogAdd(v, a[s-1])
			}
			if s >= 2 && ext[s] != blank && ext[s] != ext[s-2] {
				v = refLogAdd(v, a[s-2])
			}
			na[s] = v + lp[ext[s]]
		}
		a = na
	}
	ll := a[L-1]
	if L > 1 {
		ll = refLogAdd(ll, a[L-2])
	}
	return -ll
}

// ctcCase is one batch in [T, N, C] layout with padded targets.
type ctcCase struct {
	x       []float64
	tt, n   int
	c       int
	targets [][]int
	il      []int64
	blank   int
}

func (cc ctcCase) frames(n int) [][]float64 {
	f := make([][]float64, cc.il[n])
	for t := range f {
		f[t] = cc.x[(t*cc.n+n)*cc.c : (t*cc.n+n+1)*cc.c]
	}
	return f
}

// padded returns the targets as [N, S] int64 with S the longest length
// (padding −1), and the lengths.
func (cc ctcCase) padded() ([]int64, int, []int64) {
	s := 0
	for _, t := range cc.targets {
		s = max(s, len(t))
	}
	out := make([]int64, cc.n*s)
	tl := make([]int64, cc.n)
	for i, t := range cc.targets {
		for j := range s {
			out[i*s+j] = -1
			if j < len(t) {
				out[i*s+j] = int64(t[j])
			}
		}
		tl[i] = int64(len(t))
	}
	return out, s, tl
}

// refTotal is the reduced reference loss (PyTorch's reductions).
func (cc ctcCase) refTotal(x []float64, red Reduction, zeroInf bool) (float64, []float64) {
	c2 := cc
	c2.x = x
	rows := make([]float64, cc.n)
	var total float64
	for n := 0; n < cc.n; n++ {
		l := refCTC(c2.frames(n), cc.targets[n], cc.blank)
		if math.IsInf(l, 1) && zeroInf {
			l = 0
		}
		rows[n] = l
		if red == Mean {
			total += l / float64(max(len(cc.targets[n]), 1)) / float64(cc.n)
		} else {
			total += l
		}
	}
	return total, rows
}

func randCTCCase(rng *rand.Rand, tt, n, c int, blank int, scale float64) ctcCase {
	cc := ctcCase{x: randLogits(rng, tt*n*c, scale), tt: tt, n: n, c: c, blank: blank, il: make([]int64, n)}
	for i := 0; i < n; i++ {
		cc.il[i] = int64(tt - rng.IntN(max(1, tt/3)))
		s := rng.IntN(int(cc.il[i])/2 + 1)
		var tg []int
		for j := 0; j < s; j++ {
			y := rng.IntN(c - 1)
			if y >= blank {
				y++
			}
			tg = append(tg, y)
		}
		cc.targets = append(cc.targets, tg)
	}
	return cc
}

func (cc ctcCase) eval64(t *testing.T, l *CTC, grad bool) (float64, []float64, []float64) {
	t.Helper()
	tg, s, tl := cc.padded()
	out := CTCOutput[float64]{Rows: make([]float64, cc.n)}
	if grad {
		out.Grad = make([]float64, len(cc.x))
	}
	v, err := l.EvalBatch64(CTCInput[float64]{Logits: cc.x, Batch: cc.n, Classes: cc.c, Targets64: tg, TargetCols: s,
		InputLengths: cc.il, TargetLengths: tl}, out)
	if err != nil {
		t.Fatal(err)
	}
	return v, out.Rows, out.Grad
}

// TestCTCBruteForce: the reference recursion against the sum over all
// paths, then the loss against both, on tiny problems covering the
// classic cases.
func TestCTCBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		name   string
		tt, c  int
		target []int
		blank  int
	}{
		{"T=1 one label", 1, 3, []int{1}, 0},
		{"T=1 empty", 1, 3, nil, 0},
		{"T=1 two labels", 1, 3, []int{1, 2}, 0},
		{"empty target", 4, 3, nil, 0},
		{"repeated labels", 4, 3, []int{1, 1}, 0},
		{"repeat needs three frames", 3, 3, []int{2, 2}, 0},
		{"repeat impossible in two", 2, 3, []int{2, 2}, 0},
		{"target longer than input", 2, 4, []int{1, 2, 3}, 0},
		{"blank in the middle", 5, 4, []int{0, 3, 0}, 2},
		{"blank last", 4, 3, []int{0, 1}, 2},
		{"exact length", 3, 4, []int{1, 2, 3}, 0},
		{"aba", 5, 3, []int{1, 2, 1}, 0},
		{"aab", 6, 3, []int{1, 1, 2}, 0},
	}
	for _, c := range cases {
		frames := make([][]float64, c.tt)
		x := randLogits(rng, c.tt*c.c, 1.5)
		for u := range frames {
			frames[u] = x[u*c.c : (u+1)*c.c]
		}
		brute := refCTCBrute(frames, c.target, c.blank)
		ref := refCTC(frames, c.target, c.blank)
		if !(math.IsInf(brute, 1) && math.IsInf(ref, 1)) && math.Abs(brute-ref) > 1e-12*max(1, brute) {
			t.Fatalf("%s: reference recursion %v, brute force %v", c.name, ref, brute)
		}
		l, _ := NewCTC(c.blank, false, WithReduction(Sum))
		lab := make([]int32, len(c.target))
		for i, y := range c.target {
			lab[i] = int32(y)
		}
		g := make([]float64, len(x))
		v, err := l.Eval64(Input[float64]{Logits: x, Cols: c.c, Labels: lab}, Output[float64]{Grad: g})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if math.IsInf(brute, 1) {
			if !math.IsInf(v, 1) {
				t.Errorf("%s: loss %v, want +Inf (no alignment)", c.name, v)
			}
			for _, e := range g {
				if e != 0 {
					t.Fatalf("%s: impossible alignment has gradient %v", c.name, g)
				}
			}
			continue
		}
		if math.Abs(v-brute) > 1e-12*max(1, brute) {
			t.Errorf("%s: loss %.15g, brute force %.15g", c.name, v, brute)
		}
		f := func(x []float64) float64 {
			fr := make([][]float64, c.tt)
			for u := range fr {
				fr[u] = x[u*c.c : (u+1)*c.c]
			}
			return refCTCBrute(fr, c.target, c.blank)
		}
		if err := gradcheck.Check(f, g, x, 1e-5, 1e-8, 1e-6); err != nil {
			t.Errorf("%s: gradient: %v", c.name, err)
		}
	}
}

// TestCTCReference: random batches (padded targets, varied lengths)
// against the log-space reference for every reduction, with gradients by
// central differences of the reference.
func TestCTCReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, red := range []Reduction{Mean, Sum, None} {
		for _, blank := range []int{0, 2, 4} {
			cc := randCTCCase(rng, 9, 3, 5, blank, 2)
			l, err := NewCTC(blank, false, WithReduction(red))
			if err != nil {
				t.Fatal(err)
			}
			v, rows, g := cc.eval64(t, l, true)
			want, wantRows := cc.refTotal(cc.x, red, false)
			name := fmt.Sprintf("%v blank=%d", red, blank)
			if math.Abs(v-want) > 1e-12*max(1, math.Abs(want)) {
				t.Errorf("%s: loss %.15g, reference %.15g", name, v, want)
			}
			for i := range rows {
				if math.Abs(rows[i]-wantRows[i]) > 1e-12*max(1, wantRows[i]) {
					t.Errorf("%s: sequence %d: %.15g, reference %.15g", name, i, rows[i], wantRows[i])
				}
			}
			f := func(x []float64) float64 { v, _ := cc.refTotal(x, red, false); return v }
			if err := gradcheck.Check(f, g, cc.x, 1e-5, 1e-8, 1e-6); err != nil {
				t.Errorf("%s: gradient: %v", name, err)
			}
			// Frames past a sequence's input length have gradient 0.
			for n := 0; n < cc.n; n++ {
				for u := int(cc.il[n]); u < cc.tt; u++ {
					for j := 0; j < cc.c; j++ {
						if g[(u*cc.n+n)*cc.c+j] != 0 {
							t.Fatalf("%s: gradient at frame %d of sequence %d (input length %d)", name, u, n, cc.il[n])
						}
					}
				}
			}
		}
	}
}

// TestCTCPyTorchMean: PyTorch's mean divides each loss by its target
// length (at least 1) and averages over the batch; checked on the per-
// sequence values with hand-made lengths, including an empty target.
func TestCTCPyTorchMean(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	cc := ctcCase{x: randLogits(rng, 4*3*5, 1), tt: 4, n: 3, c: 5, il: []int64{4, 3, 2},
		targets: [][]int{{1, 2}, {3, 3}, nil}}
	lm, _ := NewCTC(0, false, WithReduction(Mean))
	ln, _ := NewCTC(0, false, WithReduction(None))
	m, _, _ := cc.eval64(t, lm, false)
	_, rows, _ := cc.eval64(t, ln, false)
	want := (rows[0]/2 + rows[1]/2 + rows[2]/1) / 3
	if math.Abs(m-want) > 1e-15*want {
		t.Errorf("mean %.17g, want %.17g from the rows %v", m, want, rows)
	}
	// The empty target's loss is −Σ log y_t(blank).
	var e float64
	for u := 0; u < 2; u++ {
		e -= refLogSoftmax(cc.x[(u*3+2)*5 : (u*3+3)*5])[0]
	}
	if math.Abs(rows[2]-e) > 1e-14*e {
		t.Errorf("empty target: %v, want %v", rows[2], e)
	}
}

// TestCTCPyTorchVector: a case evaluated with PyTorch 1.13
// (F.ctc_loss(F.log_softmax(x, 2), targets, input_lengths,
// target_lengths, reduction="sum") in float64, gradient by autograd).
func TestCTCPyTorchVector(t *testing.T) {
	x := []float64{
		// t = 0: sequences 0 and 1
		0.5, -1, 2, 0.25, 1, 0, -0.5, 0.75,
		// t = 1
		-0.25, 1.5, 0, 1, 0.5, 0.5, 2, -1,
		// t = 2
		1, 0, 0.5, -2, -1, 1, 0, 0.25,
	}
	l, _ := NewCTC(0, false, WithReduction(Sum))
	g := make([]float64, len(x))
	rows := make([]float64, 2)
	v, err := l.EvalBatch64(CTCInput[float64]{Logits: x, Batch: 2, Classes: 4, Targets64: []int64{1, 3, 2, 2},
		TargetCols: 2, InputLengths: []int64{3, 3}, TargetLengths: []int64{2, 1}}, CTCOutput[float64]{Grad: g, Rows: rows})
	if err != nil {
		t.Fatal(err)
	}
	// The reference recursion gives the same per-sequence values.
	cc := ctcCase{x: x, tt: 3, n: 2, c: 4, il: []int64{3, 3}, targets: [][]int{{1, 3}, {2}}}
	for n := range 2 {
		if want := refCTC(cc.frames(n), cc.targets[n], 0); math.Abs(rows[n]-want) > 1e-13 {
			t.Errorf("sequence %d: %.15g, reference %.15g", n, rows[n], want)
		}
	}
	if want := pytorchCTCVector.loss; math.Abs(v-want) > 1e-9 {
		t.Errorf("loss %.12g, PyTorch %.12g", v, want)
	}
	for i, want := range pytorchCTCVector.grad {
		if math.Abs(g[i]-want) > 1e-9 {
			t.Fatalf("grad[%d] = %.12g, PyTorch %.12g (all: %v)", i, g[i], want, g)
		}
	}
}

// TestCTCLargeLogits: logits of ±1e4 and long sequences stay finite and
// match the log-space reference; probabilities far below the float64
// range take part (a path of 200 frames at e^−2e4 each).
func TestCTCLargeLogits(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, scale := range []float64{30, 1e3, 1e4} {
		cc := randCTCCase(rng, 40, 2, 6, 0, scale)
		l, _ := NewCTC(0, false, WithReduction(Sum))
		_, rows, _ := cc.eval64(t, l, false)
		_, want := cc.refTotal(cc.x, Sum, false)
		for i := range rows {
			if math.IsInf(want[i], 0) || math.Abs(rows[i]-want[i]) > 1e-12*max(1, want[i]) {
				t.Errorf("scale %g: sequence %d: %.15g, reference %.15g", scale, i, rows[i], want[i])
			}
		}
	}
	// Every frame strongly predicts the blank: the target's labels are
	// e^−40 each, the loss is about 40·S and the alignments that emit early
	// and late carry comparable weight (a per-frame rescaled probability
	// recursion would lose all but the latest ones).
	tt, c, s := 300, 5, 60
	x := make([]float64, tt*c)
	for u := 0; u < tt; u++ {
		x[u*c] = 40
	}
	tg := make([]int32, s)
	for j := range tg {
		tg[j] = int32(1 + j%4)
	}
	frames := make([][]float64, tt)
	for u := range frames {
		frames[u] = x[u*c : (u+1)*c]
	}
	want := refCTC(frames, func() []int {
		out := make([]int, s)
		for j, y := range tg {
			out[j] = int(y)
		}
		return out
	}(), 0)
	l, _ := NewCTC(0, false, WithReduction(Sum))
	v, err := l.Eval64(Input[float64]{Logits: x, Cols: c, Labels: tg}, Output[float64]{})
	if err != nil || math.Abs(v-want) > 1e-12*want {
		t.Errorf("blank-heavy: loss %.15g (err %v), reference %.15g", v, err, want)
	}
}

// TestCTCMasks: −Inf logits are masked classes: a masked label or blank
// removes the alignments through it (the reference recursion gives the
// same values), and masking every way through gives +Inf.
func TestCTCMasks(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	ninf := math.Inf(-1)
	cc := randCTCCase(rng, 8, 3, 5, 0, 1)
	cc.targets = [][]int{{1, 2}, {3, 3}, {4}}
	cc.il = []int64{8, 8, 8}
	for u := 0; u < 8; u++ {
		cc.x[(u*3+0)*5+1] = ninf // sequence 0: label 1 masked after frame 2
		if u < 2 {
			cc.x[(u*3+0)*5+1] = 0.5
		}
		cc.x[(u*3+1)*5+0] = ninf // sequence 1: blank masked on odd frames
		if u%2 == 0 {
			cc.x[(u*3+1)*5+0] = 1
		}
		if u != 5 {
			cc.x[(u*3+2)*5+4] = ninf // sequence 2: label 4 only at frame 5
		}
	}
	l, _ := NewCTC(0, false, WithReduction(Sum))
	v, rows, g := cc.eval64(t, l, true)
	want, wantRows := cc.refTotal(cc.x, Sum, false)
	for i := range rows {
		if math.IsInf(wantRows[i], 0) || math.Abs(rows[i]-wantRows[i]) > 1e-12*max(1, wantRows[i]) {
			t.Errorf("sequence %d: %.15g, reference %.15g", i, rows[i], wantRows[i])
		}
	}
	if math.Abs(v-want) > 1e-12*want {
		t.Errorf("loss %v, reference %v", v, want)
	}
	f := func(x []float64) float64 { v, _ := cc.refTotal(x, Sum, false); return v }
	if err := gradcheck.Check(f, g, cc.x, 1e-5, 1e-8, 1e-6); err != nil {
		t.Errorf("gradient: %v", err)
	}
	// Label 4 masked everywhere: no alignment.
	cc.x[(5*3+2)*5+4] = ninf
	_, rows, g = cc.eval64(t, l, true)
	if !math.IsInf(rows[2], 1) || math.IsInf(rows[0], 0) {
		t.Errorf("rows %v, want +Inf for sequence 2 only", rows)
	}
	for u := 0; u < 8; u++ {
		for j := 0; j < 5; j++ {
			if g[(u*3+2)*5+j] != 0 {
				t.Fatalf("gradient of an impossible sequence at frame %d: %v", u, g[(u*3+2)*5+j])
			}
		}
	}
}

// TestCTCFloat32: float32 logits against float64 on the same values.
func TestCTCFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, scale := range []float64{1e-3, 1, 10, 1e3} {
		cc := randCTCCase(rng, 50, 4, 30, 0, scale)
		x32 := make([]float32, len(cc.x))
		for i, v := range cc.x {
			x32[i] = float32(v)
			cc.x[i] = float64(x32[i])
		}
		tg, s, tl := cc.padded()
		for _, red := range []Reduction{Sum, Mean} {
			l, _ := NewCTC(0, false, WithReduction(red))
			g32 := make([]float32, len(x32))
			r32 := make([]float32, cc.n)
			v32, err := l.EvalBatch32(CTCInput[float32]{Logits: x32, Batch: cc.n, Classes: cc.c, Targets64: tg, TargetCols: s,
				InputLengths: cc.il, TargetLengths: tl}, CTCOutput[float32]{Grad: g32, Rows: r32})
			if err != nil {
				t.Fatal(err)
			}
			v64, r64, g64 := cc.eval64(t, l, true)
			for i := range r64 {
				if math.Abs(float64(r32[i])-r64[i]) > 2e-6*(float64(cc.il[i])+r64[i]) {
					t.Errorf("scale %g %v: sequence %d: float32 %v, float64 %v", scale, red, i, r32[i], r64[i])
				}
			}
			if math.Abs(v32-v64) > 2e-6*float64(cc.tt)*float64(cc.n)+2e-6*math.Abs(v64) {
				t.Errorf("scale %g %v: loss float32 %v, float64 %v", scale, red, v32, v64)
			}
			for i := range g64 {
				if math.Abs(float64(g32[i])-g64[i]) > 1e-6 {
					t.Fatalf("scale %g %v: grad[%d] float32 %v, float64 %v", scale, red, i, g32[i], g64[i])
				}
			}
		}
	}
}

// TestCTCDeterministic: the same bits for any number of threads, and the
// gradient may overwrite the logits.
func TestCTCDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	cc := randCTCCase(rng, 30, 13, 20, 3, 2)
	x32 := make([]float32, len(cc.x))
	for i, v := range cc.x {
		x32[i] = float32(v)
	}
	tg, s, tl := cc.padded()
	var first []float32
	var firstV float64
	for _, th := range []int{1, 2, 3, 8} {
		l, _ := NewCTC(3, false, WithThreads(th))
		g := make([]float32, len(x32))
		v, err := l.EvalBatch32(CTCInput[float32]{Logits: x32, Batch: cc.n, Classes: cc.c, Targets64: tg, TargetCols: s,
			InputLengths: cc.il, TargetLengths: tl}, CTCOutput[float32]{Grad: g})
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first, firstV = g, v
			continue
		}
		if math.Float64bits(v) != math.Float64bits(firstV) {
			t.Errorf("threads %d: loss %v, one thread %v", th, v, firstV)
		}
		for i := range g {
			if math.Float32bits(g[i]) != math.Float32bits(first[i]) {
				t.Fatalf("threads %d: grad[%d] %v, one thread %v", th, i, g[i], first[i])
			}
		}
	}
	// In place.
	l, _ := NewCTC(3, false, WithThreads(2))
	inPlace := append([]float32(nil), x32...)
	v, err := l.EvalBatch32(CTCInput[float32]{Logits: inPlace, Batch: cc.n, Classes: cc.c, Targets64: tg, TargetCols: s,
		InputLengths: cc.il, TargetLengths: tl}, CTCOutput[float32]{Grad: inPlace})
	if err != nil || v != firstV {
		t.Fatalf("in place: %v %v, want %v", v, err, firstV)
	}
	for i := range inPlace {
		if inPlace[i] != first[i] {
			t.Fatalf("in place: grad[%d] %v, want %v", i, inPlace[i], first[i])
		}
	}
}

// TestCTCTargetForms: padded and concatenated targets, int32 and int64,
// and the generic entry point agree; padding and frames past the input
// length are not read.
func TestCTCTargetForms(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	cc := randCTCCase(rng, 12, 4, 6, 0, 1)
	l, _ := NewCTC(0, false, WithReduction(None))
	v, rows, _ := cc.eval64(t, l, false)
	var cat []int32
	var tl []int64
	for _, tg := range cc.targets {
		for _, y := range tg {
			cat = append(cat, int32(y))
		}
		tl = append(tl, int64(len(tg)))
	}
	// NaN in frames past each input length.
	x := append([]float64(nil), cc.x...)
	for n := 0; n < cc.n; n++ {
		for u := int(cc.il[n]); u < cc.tt; u++ {
			x[(u*cc.n+n)*cc.c] = math.NaN()
		}
	}
	r2 := make([]float64, cc.n)
	v2, err := EvalCTC(l, CTCInput[float64]{Logits: x, Batch: cc.n, Classes: cc.c, Targets: cat,
		InputLengths: cc.il, TargetLengths: tl}, CTCOutput[float64]{Rows: r2})
	if err != nil || v2 != v {
		t.Fatalf("concatenated: %v %v, padded %v", v2, err, v)
	}
	for i := range rows {
		if r2[i] != rows[i] {
			t.Errorf("sequence %d: concatenated %v, padded %v", i, r2[i], rows[i])
		}
	}
	// Generic float32 entry point.
	x32 := make([]float32, len(x))
	for i, e := range x {
		x32[i] = float32(e)
	}
	if _, err := EvalCTC(l, CTCInput[float32]{Logits: x32, Batch: cc.n, Classes: cc.c, Targets: cat,
		InputLengths: cc.il, TargetLengths: tl}, CTCOutput[float32]{Rows: make([]float32, cc.n)}); err != nil {
		t.Fatal(err)
	}
}

// TestCTCZeroInfinity: an impossible alignment is +Inf (gradient 0), or
// 0 with zero_infinity; the other sequences are unaffected, and the mean
// counts the zeroed sequence.
func TestCTCZeroInfinity(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	cc := ctcCase{x: randLogits(rng, 3*2*4, 1), tt: 3, n: 2, c: 4, il: []int64{3, 3}, targets: [][]int{{1, 1, 2}, {3}}}
	for _, zi := range []bool{false, true} {
		l, _ := NewCTC(0, zi, WithReduction(Mean))
		v, _, g := cc.eval64(t, l, true)
		ok := refCTC(cc.frames(1), []int{3}, 0)
		if zi {
			if math.Abs(v-ok/2) > 1e-14 {
				t.Errorf("zero_infinity: loss %v, want %v", v, ok/2)
			}
		} else if !math.IsInf(v, 1) {
			t.Errorf("loss %v, want +Inf", v)
		}
		for u := 0; u < 3; u++ {
			for j := 0; j < 4; j++ {
				if e := g[(u*2)*4+j]; e != 0 || math.IsNaN(g[(u*2+1)*4+j]) {
					t.Fatalf("zero_infinity=%v: gradient %v", zi, g)
				}
			}
		}
	}
	// T_n = 0: loss 0 for an empty target, +Inf otherwise.
	l, _ := NewCTC(0, false, WithReduction(None))
	rows := make([]float64, 2)
	_, err := l.EvalBatch64(CTCInput[float64]{Logits: make([]float64, 8), Batch: 2, Classes: 4, Targets: []int32{1},
		InputLengths: []int64{0, 0}, TargetLengths: []int64{0, 1}}, CTCOutput[float64]{Rows: rows})
	if err != nil || rows[0] != 0 || !math.IsInf(rows[1], 1) {
		t.Errorf("empty input: rows %v, err %v", rows, err)
	}
}

func TestCTCErrors(t *testing.T) {
	l, _ := NewCTC(0, false)
	x := make([]float32, 3*2*4)
	nan := float32(math.NaN())
	cases := []struct {
		name string
		in   CTCInput[float32]
		out  CTCOutput[float32]
		kind error
		text string
	}{
		{"batch", CTCInput[float32]{Logits: x, Classes: 4}, CTCOutput[float32]{}, ErrShape, "Batch"},
		{"classes", CTCInput[float32]{Logits: x, Batch: 2}, CTCOutput[float32]{}, ErrShape, "Classes"},
		{"ragged", CTCInput[float32]{Logits: x[:23], Batch: 2, Classes: 4}, CTCOutput[float32]{}, ErrShape, "multiple"},
		{"target range", CTCInput[float32]{Logits: x, Batch: 2, Classes: 4, Targets: []int32{1, 4}, TargetCols: 1}, CTCOutput[float32]{}, ErrValue, "sequence 1, position 0"},
		{"blank target", CTCInput[float32]{Logits: x, Batch: 2, Classes: 4, Targets: []int32{1, 0}, TargetCols: 1}, CTCOutput[float32]{}, ErrValue, "blank"},
		{"negative target", CTCInput[float32]{Logits: x, Batch: 2, Classes: 4, Targets64: []int64{-3, 1}, TargetCols: 1}, CTCOutput[float32]{}, ErrValue, "sequence 0"},
		{"huge target", CTCInput[float32]{Logits: x, Batch: 2, Classes: 4, Targets64: []int64{1 << 40, 1}, TargetCols: 1}, CTCOutput[float32]{}, ErrValue, "sequence 0"},
		{"input length", CTCInput[float32]{Logits: x, Batch: 2, Classes: 4, Targets: []int32{1, 1}, TargetCols: 1, InputLengths: []int64{3, 4}}, CTCOutput[float32]{}, ErrValue, "input length 4 of sequence 1"},
		{"negative input length", CTCInput[float32]{Logits: x, Batch: 2, Classes: 4, Targets: []int32{1, 1}, TargetCols: 1, InputLengths: []int64{-1, 3}}, CTCOutput[float32]{}, ErrValue, "sequence 0"},
		{"input lengths len", CTCInput[float32]{Logits: x, Batch: 2, Classes: 4, Targets: []int32{1, 1}, TargetCols: 1, InputLengths: []int64{3}}, CTCOutput[float32]{}, ErrShape, "InputLengths"},
		{"target length", CTCInput[float32]{Logits: x, Batch: 2, Classes: 4, Targets: []int32{1, 1}, TargetCols: 1, TargetLengths: []int64{1, 2}}, CTCOutput[float32]{}, ErrValue, "target length 2 of sequence 1"},
		{"padded count", CTCInput[float32]{Logits: x, Batch: 2, Classes: 4, Targets: []int32{1, 1, 1}, TargetCols: 2}, CTCOutput[float32]{}, ErrShape, "padded"},
		{"concatenated sum", CTCInput[float32]{Logits: x, Batch: 2, Classes: 4, Targets: []int32{1, 1, 1}, TargetLengths: []int64{1, 1}}, CTCOutput[float32]{}, ErrShape, "add up"},
		{"concatenated lengths", CTCInput[float32]{Logits: x, Batch: 2, Classes: 4, Targets: []int32{1, 1}}, CTCOutput[float32]{}, ErrShape, "TargetLengths"},
		{"both targets", CTCInput[float32]{Logits: x, Batch: 2, Classes: 4, Targets: []int32{1, 1}, Targets64: []int64{1, 1}, TargetCols: 1}, CTCOutput[float32]{}, ErrShape, "both"},
		{"target cols", CTCInput[float32]{Logits: x, Batch: 2, Classes: 4, TargetCols: -1}, CTCOutput[float32]{}, ErrShape, "TargetCols"},
		{"grad len", CTCInput[float32]{Logits: x, Batch: 2, Classes: 4, TargetCols: 1, Targets: []int32{1, 1}}, CTCOutput[float32]{Grad: make([]float32, 5)}, ErrShape, "Grad"},
		{"grad overlap", CTCInput[float32]{Logits: x[:20], Batch: 1, Classes: 4, TargetCols: 1, Targets: []int32{1}}, CTCOutput[float32]{Grad: x[4:24]}, ErrShape, "overlaps"},
		{"rows len", CTCInput[float32]{Logits: x, Batch: 2, Classes: 4, TargetCols: 1, Targets: []int32{1, 1}}, CTCOutput[float32]{Rows: make([]float32, 3)}, ErrShape, "Rows"},
		{"nan", CTCInput[float32]{Logits: append(make([]float32, 13), nan, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), Batch: 2, Classes: 4, TargetCols: 1, Targets: []int32{1, 1}}, CTCOutput[float32]{}, ErrValue, "frame 1, sequence 1, class 1"},
		{"all -inf", CTCInput[float32]{Logits: []float32{float32(math.Inf(-1)), float32(math.Inf(-1))}, Batch: 1, Classes: 2}, CTCOutput[float32]{}, ErrValue, "every logit is −Inf at frame 0"},
	}
	for _, c := range cases {
		_, err := l.EvalBatch32(c.in, c.out)
		if !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.text) {
			t.Errorf("%s: err %v, want %v mentioning %q", c.name, err, c.kind, c.text)
		}
	}
	lb, _ := NewCTC(4, false)
	if _, err := lb.EvalBatch32(CTCInput[float32]{Logits: x, Batch: 2, Classes: 4}, CTCOutput[float32]{}); !errors.Is(err, ErrValue) {
		t.Errorf("blank ≥ C: %v", err)
	}
	ln, _ := NewCTC(0, false, WithReduction(None))
	if _, err := ln.EvalBatch32(CTCInput[float32]{Logits: x, Batch: 2, Classes: 4}, CTCOutput[float32]{}); !errors.Is(err, ErrShape) {
		t.Errorf("none without rows: %v", err)
	}
	for _, opts := range [][]Option{{WithClassWeights([]float64{1})}, {WithIgnoreIndex(0)}} {
		if _, err := NewCTC(0, false, opts...); err == nil {
			t.Error("an option that does not apply was accepted")
		}
	}
	if _, err := NewCTC(-1, false); err == nil {
		t.Error("negative blank accepted")
	}
	for _, bad := range []string{"ctc:blank=1.5", "ctc:blank=-1", "ctc:zero_infinity=2"} {
		if _, _, err := Parse(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	// The Loss interface: one sequence.
	if _, err := l.Eval32(Input[float32]{Logits: x, Cols: 4, Labels: []int32{1}}, Output[float32]{Rows: make([]float32, 2)}); !errors.Is(err, ErrShape) {
		t.Errorf("rows of one sequence: %v", err)
	}
	if _, err := l.Eval32(Input[float32]{Logits: x, Cols: 4, Labels: []int32{1}, RowWeights: []float32{1}}, Output[float32]{}); !errors.Is(err, ErrShape) {
		t.Errorf("row weights: %v", err)
	}
}

// TestCTCRegistry: "ctc:blank=2,zero_infinity=1" builds the loss.
func TestCTCRegistry(t *testing.T) {
	l, s, err := Parse("ctc:blank=2,zero_infinity=1", WithReduction(Sum))
	if err != nil {
		t.Fatal(err)
	}
	c := l.(*CTC)
	if c.Blank() != 2 || !c.ZeroInfinity() || s.Needs != NeedsSequences || l.Name() != "ctc" {
		t.Fatalf("%+v %+v", c, s)
	}
}

// FuzzCTC feeds arbitrary shapes, lengths, targets and logits: the
// result is an error, or a loss that is finite or +Inf with a finite
// gradient — never a panic or a NaN.
func FuzzCTC(f *testing.F) {
	seed := func(n, c uint8, blank int8, cols int8, zi bool, lens, targets []byte, vals ...float32) {
		b := make([]byte, 4*len(vals))
		for i, v := range vals {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
		f.Add(n, c, blank, cols, zi, lens, targets, b)
	}
	inf := float32(math.Inf(1))
	seed(1, 3, 0, 0, false, []byte{2, 1}, []byte{1}, 1, 2, 3, 4, 5, 6)
	seed(2, 2, 1, 1, true, []byte{1, 1, 1, 1}, []byte{0, 0}, 1, 2, 3, 4)
	seed(1, 2, 0, 2, false, []byte{1, 2}, []byte{1, 1}, -inf, 0, 1e30, -1e30)
	seed(2, 3, 2, 0, false, []byte{3, 0, 1, 1}, []byte{1, 0}, float32(math.NaN()), inf, 0, 0, 1e4, -1e4, 3e38, -3e38, 1, 2, 3, 4)
	seed(0, 0, 0, 0, false, nil, nil)
	f.Fuzz(func(t *testing.T, n, c uint8, blank, cols int8, zi bool, lens, targets []byte, raw []byte) {
		x := floatsFrom(raw)
		l, err := NewCTC(int(blank), zi, WithReduction(Sum))
		if err != nil {
			return
		}
		var il, tl []int64
		for i, v := range lens {
			if i%2 == 0 {
				il = append(il, int64(v))
			} else {
				tl = append(tl, int64(v))
			}
		}
		tg := make([]int32, len(targets))
		for i, v := range targets {
			tg[i] = int32(v)
		}
		g := make([]float32, len(x))
		in := CTCInput[float32]{Logits: x, Batch: int(n), Classes: int(c), Targets: tg, TargetCols: int(cols),
			InputLengths: il, TargetLengths: tl}
		v, err := l.EvalBatch32(in, CTCOutput[float32]{Grad: g})
		if err != nil {
			return
		}
		if math.IsNaN(v) || math.IsInf(v, -1) || zi && math.IsInf(v, 0) {
			t.Fatalf("loss %v without an error", v)
		}
		for i, e := range g {
			if e != e || math.IsInf(float64(e), 0) {
				t.Fatalf("non-finite gradient %v at %d", e, i)
			}
		}
	})
}

// pytorchCTCVector holds PyTorch 1.13's float64 loss and gradient for
// TestCTCPyTorchVector.
var pytorchCTCVector = struct {
	loss float64
	grad []float64
}{7.151571277962338, []float64{
	-0.08874774811228921, -0.7226029853374271, 0.6912325307415297, 0.12011820270818666,
	-0.40903916796549383, 0.1552358127867424, -0.0748308630696643, 0.32863421824841565,
	0.07731655265856048, 0.20194346743203873, 0.11137380873815643, -0.39063382882875564,
	0.023034828013885716, 0.1491464520703329, -0.20546035182024208, 0.03327907173602348,
	-0.16647209321863035, 0.18174091277254148, 0.29964010864454577, -0.3149089281984569,
	-0.1760873481200386, 0.5061801362296187, -0.5691953541263423, 0.23910256601676216,
}}
