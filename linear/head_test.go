package linear

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/xentlab/xent/internal/bigmem"
	"github.com/xentlab/xent/internal/gradcheck"
	"github.com/xentlab/xent/loss"
)

// problem is one random head.
type problem struct {
	in Input
}

func newProblem(rng *rand.Rand, n, d, v int, bias bool, scale float64) problem {
	in := Input{N: n, D: d, V: v, Hidden: make([]float32, n*d), Weight: make([]float32, v*d), Targets: make([]int32, n)}
	for i := range in.Hidden {
		in.Hidden[i] = float32(rng.NormFloat64() * scale)
	}
	for i := range in.Weight {
		in.Weight[i] = float32(rng.NormFloat64() / math.Sqrt(float64(d)))
	}
	if bias {
		in.Bias = make([]float32, v)
		for i := range in.Bias {
			in.Bias[i] = float32(rng.NormFloat64())
		}
	}
	for i := range in.Targets {
		in.Targets[i] = int32(rng.IntN(v))
	}
	return problem{in}
}

// reference computes the head the materialized way in float64: logits,
// loss.CrossEntropy.Eval64 with the same options, then the products.
func reference(t *testing.T, h Head, in Input) (lossV float64, rowsOut, lse, dh, dw, db []float64) {
	t.Helper()
	lossV, rowsOut, lse, dh, dw, db, _ = referenceGrad(t, h, in)
	return
}

// referenceGrad is reference that also returns the logits' gradient.
func referenceGrad(t *testing.T, h Head, in Input) (lossV float64, rowsOut, lse, dh, dw, db, g []float64) {
	t.Helper()
	n, d, v := in.N, in.D, in.V
	z := make([]float64, n*v)
	for i := 0; i < n; i++ {
		for j := 0; j < v; j++ {
			var s float64
			for k := 0; k < d; k++ {
				s += float64(in.Hidden[i*d+k]) * float64(in.Weight[j*d+k])
			}
			if in.Bias != nil {
				s += float64(in.Bias[j])
			}
			z[i*v+j] = s
		}
	}
	ce, err := loss.NewCrossEntropy(h.Loss...)
	if err != nil {
		t.Fatal(err)
	}
	labels := make([]int64, n)
	for i := range labels {
		j := i + h.Shift
		switch {
		case j >= n:
			labels[i] = ce.Options().IgnoreIndex
		case in.Targets != nil:
			labels[i] = int64(in.Targets[j])
		default:
			labels[i] = in.Targets64[j]
		}
	}
	var rw []float64
	if in.RowWeights != nil {
		rw = make([]float64, n)
		for i, w := range in.RowWeights {
			rw[i] = float64(w)
		}
	}
	g = make([]float64, n*v)
	rowsOut = make([]float64, n)
	lse = make([]float64, n)
	lossV, err = ce.Eval64(loss.Input[float64]{Logits: z, Cols: v, Labels64: labels, RowWeights: rw}, loss.Output[float64]{Grad: g, Rows: rowsOut, LSE: lse})
	if err != nil {
		t.Fatal(err)
	}
	dh, dw, db = make([]float64, n*d), make([]float64, v*d), make([]float64, v)
	for i := 0; i < n; i++ {
		for j := 0; j < v; j++ {
			gij := g[i*v+j]
			if gij == 0 {
				continue
			}
			db[j] += gij
			for k := 0; k < d; k++ {
				dh[i*d+k] += gij * float64(in.Weight[j*d+k])
				dw[j*d+k] += gij * float64(in.Hidden[i*d+k])
			}
		}
	}
	return
}

func closeAll(t *testing.T, ctx, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	scale := 0.0
	for _, w := range want {
		scale = max(scale, math.Abs(w))
	}
	for i := range want {
		if math.Abs(float64(got[i])-want[i]) > tol*max(scale, 1e-30) {
			t.Fatalf("%s: %s[%d] = %v, want %v (scale %v)", ctx, what, i, got[i], want[i], scale)
		}
	}
}

type headCase struct {
	name string
	head Head
	bias bool
	rowW bool
}

func headCases() []headCase {
	return []headCase{
		{name: "plain", head: Head{}},
		{name: "bias", head: Head{}, bias: true},
		{name: "sum", head: Head{Loss: []loss.CrossEntropyOption{loss.WithReduction(loss.Sum)}}},
		{name: "none", head: Head{Loss: []loss.CrossEntropyOption{loss.WithReduction(loss.None)}}},
		{name: "smoothing+zloss", head: Head{Loss: []loss.CrossEntropyOption{loss.WithLabelSmoothing(0.1), loss.WithZLoss(1e-3)}}},
		{name: "softcap", head: Head{Loss: []loss.CrossEntropyOption{loss.WithSoftCap(3)}}, bias: true},
		{name: "ignore+rowweights", head: Head{Loss: []loss.CrossEntropyOption{loss.WithIgnoreIndex(-1)}}, rowW: true},
		{name: "shift", head: Head{Shift: 1}},
		{name: "small blocks", head: Head{BlockRows: 7, Loss: []loss.CrossEntropyOption{loss.WithLabelSmoothing(0.2)}}},
		{name: "filter-tiny", head: Head{FilterEps: 1e-30, TileCols: 64, TileRows: 5}},
	}
}

// TestFusedVsMaterialized compares the fused head with the float64
// materialized reference on ragged shapes for every option.
func TestFusedVsMaterialized(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	shapes := [][3]int{{1, 1, 1}, {3, 5, 7}, {17, 9, 33}, {64, 16, 129}}
	if !testing.Short() {
		shapes = append(shapes, [3]int{257, 67, 5003})
	}
	for _, sh := range shapes {
		for _, hc := range headCases() {
			p := newProblem(rng, sh[0], sh[1], sh[2], hc.bias, 1)
			in := p.in
			if hc.name == "ignore+rowweights" {
				in.RowWeights = make([]float32, in.N)
				for i := range in.RowWeights {
					in.RowWeights[i] = float32(rng.Float64() * 2)
				}
				in.Targets[0] = -1
			}
			n, d, v := in.N, in.D, in.V
			out := Output{GradHidden: make([]float32, n*d), GradWeight: make([]float32, v*d), GradBias: make([]float32, v),
				Rows: make([]float32, n), LSE: make([]float32, n), TargetRank: make([]int32, n)}
			st, err := hc.head.Eval(in, out)
			if err != nil {
				t.Fatalf("%v %s: %v", sh, hc.name, err)
			}
			wl, wrows, wlse, wdh, wdw, wdb := reference(t, hc.head, in)
			ctx := fmt.Sprintf("%v %s", sh, hc.name)
			if math.Abs(st.Loss-wl) > 2e-5*max(math.Abs(wl), 1e-30) {
				t.Errorf("%s: loss %v, want %v", ctx, st.Loss, wl)
			}
			closeAll(t, ctx, "rows", out.Rows, wrows, 2e-5)
			closeAll(t, ctx, "lse", out.LSE, wlse, 2e-5)
			closeAll(t, ctx, "dH", out.GradHidden, wdh, 1e-4)
			closeAll(t, ctx, "dW", out.GradWeight, wdw, 1e-4)
			closeAll(t, ctx, "db", out.GradBias, wdb, 1e-4)
			checkRanks(t, ctx, hc.head, in, out.TargetRank)
		}
	}
}

// checkRanks recomputes each counted row's target rank from float64
// logits.
func checkRanks(t *testing.T, ctx string, h Head, in Input, ranks []int32) {
	t.Helper()
	c, _ := h.config()
	for i := 0; i < in.N; i++ {
		y, ok := c.target(in, i)
		if !ok {
			if ranks[i] != -1 {
				t.Fatalf("%s: ignored row %d has rank %d", ctx, i, ranks[i])
			}
			continue
		}
		logit := func(j int) float64 {
			var s float64
			for k := 0; k < in.D; k++ {
				s += float64(in.Hidden[i*in.D+k]) * float64(in.Weight[j*in.D+k])
			}
			if in.Bias != nil {
				s += float64(in.Bias[j])
			}
			return s
		}
		// Logits within 1e-4 of the target's may order either way in
		// float32.
		zy := logit(int(y))
		var lo, hi int32
		for j := 0; j < in.V; j++ {
			if l := logit(j); l > zy+1e-4 {
				lo++
				hi++
			} else if l > zy-1e-4 && j != int(y) {
				hi++
			}
		}
		if ranks[i] < lo || ranks[i] > hi {
			t.Fatalf("%s: row %d rank %d, want within [%d, %d]", ctx, i, ranks[i], lo, hi)
		}
	}
}

// TestGradientFiniteDifferences differentiates the fused loss itself
// (float32 inputs, small shapes) with central differences in float64 of
// the materialized reference loss.
func TestGradientFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	p := newProblem(rng, 4, 3, 5, true, 1)
	in := p.in
	head := Head{Loss: []loss.CrossEntropyOption{loss.WithLabelSmoothing(0.1), loss.WithZLoss(1e-2)}}
	out := Output{GradHidden: make([]float32, 12), GradWeight: make([]float32, 15), GradBias: make([]float32, 5)}
	if _, err := head.Eval(in, out); err != nil {
		t.Fatal(err)
	}
	f := func(which []float32) func(x []float64) float64 {
		return func(x []float64) float64 {
			old := append([]float32(nil), which...)
			for i := range x {
				which[i] = float32(x[i])
			}
			// The reference evaluates in float64 from the float32 values;
			// steps of 1e-2 keep float32 rounding of x out of the way.
			v, _, _, _, _, _ := reference(t, head, in)
			copy(which, old)
			return v
		}
	}
	for _, c := range []struct {
		name string
		x    []float32
		g    []float32
	}{{"dH", in.Hidden, out.GradHidden}, {"dW", in.Weight, out.GradWeight}, {"db", in.Bias, out.GradBias}} {
		x := make([]float64, len(c.x))
		for i, v := range c.x {
			x[i] = float64(v)
		}
		// Exactly representable steps: x ± 2⁻⁷.
		num := gradcheck.Numeric(f(c.x), x, 0x1p-7/max(1, 4))
		g := make([]float64, len(c.g))
		for i, v := range c.g {
			g[i] = float64(v)
		}
		if err := gradcheck.Compare(g, num, 1e-4, 2e-3); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestGolden(t *testing.T) {
	runGolden(t)
}

func TestDeterministicAcrossThreads(t *testing.T) {
	rng := rand.New(rand.NewPCG(45, 46))
	p := newProblem(rng, 100, 40, 777, true, 1)
	in := p.in
	var want Output
	var wantLoss float64
	for _, th := range []int{1, 2, 3} {
		out := Output{GradHidden: make([]float32, 100*40), GradWeight: make([]float32, 777*40), GradBias: make([]float32, 777)}
		st, err := Head{Threads: th, BlockRows: 32}.Eval(in, out)
		if err != nil {
			t.Fatal(err)
		}
		if want.GradHidden == nil {
			want, wantLoss = out, st.Loss
			continue
		}
		if math.Float64bits(st.Loss) != math.Float64bits(wantLoss) {
			t.Fatalf("threads %d: loss differs", th)
		}
		for _, pair := range [][2][]float32{{out.GradHidden, want.GradHidden}, {out.GradWeight, want.GradWeight}, {out.GradBias, want.GradBias}} {
			for i := range pair[0] {
				if math.Float32bits(pair[0][i]) != math.Float32bits(pair[1][i]) {
					t.Fatalf("threads %d: gradient differs at %d", th, i)
				}
			}
		}
	}
}

// TestMemory: the head never allocates anything of size N×V. The scratch
// memory must not grow with N beyond O(N) per-row values: quadrupling N
// adds far less than the logits of the extra rows would take.
func TestMemory(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	rng := rand.New(rand.NewPCG(47, 48))
	d, v := 16, 2048
	measure := func(n int) (int64, Stats) {
		p := newProblem(rng, n, d, v, true, 1)
		out := Output{GradHidden: make([]float32, n*d), GradWeight: make([]float32, v*d), GradBias: make([]float32, v)}
		var st Stats
		var err error
		bytes := measureAlloc(func() { st, err = Head{BlockRows: 64, Threads: 1}.Eval(p.in, out) })
		if err != nil {
			t.Fatal(err)
		}
		return bytes, st
	}
	small, _ := measure(256)
	large, st := measure(1024)
	grown := large - small
	extraLogits := int64(4 * (1024 - 256) * v)
	if grown > extraLogits/16 {
		t.Fatalf("scratch grew by %d bytes from N=256 to N=1024; the extra logits would be %d", grown, extraLogits)
	}
	// ExtraBytes reports the scratch in use (the logits block may come
	// from the previous call's pool): at least the 64-row block, far below
	// the N×V logits.
	if st.ExtraBytes < int64(4*64*v) || st.ExtraBytes >= int64(4*1024*v) {
		t.Fatalf("reported %d extra bytes", st.ExtraBytes)
	}
	t.Logf("allocated %d bytes at N=256, %d at N=1024 (the N×V logits: %d)", small, large, 4*1024*v)
}

func TestFiltering(t *testing.T) {
	rng := rand.New(rand.NewPCG(49, 50))
	// Peaked: hidden states aligned with their target's weight row, so
	// most softmax mass sits on the target.
	n, d, v := 64, 32, 1024
	p := newProblem(rng, n, d, v, false, 1)
	in := p.in
	for i := 0; i < n; i++ {
		y := int(in.Targets[i])
		for k := 0; k < d; k++ {
			in.Hidden[i*d+k] = 12 * in.Weight[y*d+k] * float32(math.Sqrt(float64(d)))
		}
	}
	exact := Output{GradHidden: make([]float32, n*d), GradWeight: make([]float32, v*d)}
	filt := Output{GradHidden: make([]float32, n*d), GradWeight: make([]float32, v*d)}
	se, err := Head{}.Eval(in, exact)
	if err != nil {
		t.Fatal(err)
	}
	sf, err := Head{FilterEps: 0x1p-12, TileCols: 64, TileRows: 8}.Eval(in, filt)
	if err != nil {
		t.Fatal(err)
	}
	if sf.SkippedTiles == 0 || sf.SkippedTiles >= sf.Tiles {
		t.Fatalf("skipped %d of %d tiles", sf.SkippedTiles, sf.Tiles)
	}
	if se.Loss != sf.Loss {
		t.Fatalf("filtering changed the loss: %v vs %v", sf.Loss, se.Loss)
	}
	// The skipped entries are each below 2⁻¹²/N in the mean gradient; the
	// difference in ∂W is bounded by that times Σ|h|.
	var maxDiff, maxAbs float64
	for i := range exact.GradWeight {
		maxDiff = max(maxDiff, math.Abs(float64(exact.GradWeight[i]-filt.GradWeight[i])))
		maxAbs = max(maxAbs, math.Abs(float64(exact.GradWeight[i])))
	}
	if maxDiff > 0.05*maxAbs {
		t.Fatalf("filtered ∂W differs by %v (scale %v)", maxDiff, maxAbs)
	}
	t.Logf("skipped %d of %d tiles; max |Δ∂W| = %.3g (scale %.3g)", sf.SkippedTiles, sf.Tiles, maxDiff, maxAbs)
}

// TestFilteringReference checks gradient filtering against the float64
// materialized gradients with exactly the skipped tiles dropped: the tile
// decisions are made on the float64 gradient (a tile whose largest |g|
// lies within 0.1% of the threshold would make the comparison ambiguous,
// and the threshold is moved off it), on several tile shapes, and every
// thread count gives the same bits.
func TestFilteringReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(53, 54))
	n, d, v := 70, 24, 700
	p := newProblem(rng, n, d, v, false, 1)
	in := p.in
	for i := 0; i < n; i++ {
		y := int(in.Targets[i])
		for k := 0; k < d; k++ {
			in.Hidden[i*d+k] = 9*in.Weight[y*d+k]*float32(math.Sqrt(float64(d))) + float32(rng.NormFloat64())
		}
	}
	sumHead := Head{Loss: []loss.CrossEntropyOption{loss.WithReduction(loss.Sum)}}
	_, _, _, _, _, _, g := referenceGrad(t, sumHead, in)
	for _, tile := range [][2]int{{8, 64}, {5, 33}, {16, 100}, {1, 700}} {
		tr, tc := tile[0], tile[1]
		// The largest |g| of every tile; pick a threshold away from all.
		var maxes []float64
		for r0 := 0; r0 < n; r0 += tr {
			for t0 := 0; t0 < v; t0 += tc {
				m := 0.0
				for i := r0; i < min(r0+tr, n); i++ {
					for j := t0; j < min(t0+tc, v); j++ {
						m = max(m, math.Abs(g[i*v+j]))
					}
				}
				maxes = append(maxes, m)
			}
		}
		eps := 0x1p-12
		for ambiguous := true; ambiguous; {
			ambiguous = false
			for _, m := range maxes {
				if math.Abs(m-eps) <= 1e-3*eps {
					ambiguous = true
					eps *= 1.01
					break
				}
			}
		}
		// The reference: mean-reduced products over the kept tiles only.
		wantH, wantW := make([]float64, n*d), make([]float64, v*d)
		skipped := 0
		for r0, x := 0, 0; r0 < n; r0 += tr {
			for t0 := 0; t0 < v; t0, x = t0+tc, x+1 {
				if maxes[x] < eps {
					skipped++
					continue
				}
				for i := r0; i < min(r0+tr, n); i++ {
					for j := t0; j < min(t0+tc, v); j++ {
						gij := g[i*v+j] / float64(n)
						for k := 0; k < d; k++ {
							wantH[i*d+k] += gij * float64(in.Weight[j*d+k])
							wantW[j*d+k] += gij * float64(in.Hidden[i*d+k])
						}
					}
				}
			}
		}
		if skipped == 0 || skipped == len(maxes) {
			t.Fatalf("tile %v: %d of %d tiles skipped; the case tests nothing", tile, skipped, len(maxes))
		}
		var first Output
		for _, threads := range []int{1, 2, 3} {
			out := Output{GradHidden: make([]float32, n*d), GradWeight: make([]float32, v*d)}
			st, err := Head{FilterEps: eps, TileRows: tr, TileCols: tc, Threads: threads}.Eval(in, out)
			if err != nil {
				t.Fatal(err)
			}
			ctx := fmt.Sprintf("tile %v threads %d", tile, threads)
			if st.SkippedTiles != skipped {
				t.Fatalf("%s: skipped %d tiles, the reference skips %d", ctx, st.SkippedTiles, skipped)
			}
			closeAll(t, ctx, "dH", out.GradHidden, wantH, 1e-4)
			closeAll(t, ctx, "dW", out.GradWeight, wantW, 1e-4)
			if first.GradHidden == nil {
				first = out
				continue
			}
			for i := range out.GradHidden {
				if math.Float32bits(out.GradHidden[i]) != math.Float32bits(first.GradHidden[i]) {
					t.Fatalf("%s: dH[%d] = %v, one thread gave %v", ctx, i, out.GradHidden[i], first.GradHidden[i])
				}
			}
			for i := range out.GradWeight {
				if math.Float32bits(out.GradWeight[i]) != math.Float32bits(first.GradWeight[i]) {
					t.Fatalf("%s: dW[%d] = %v, one thread gave %v", ctx, i, out.GradWeight[i], first.GradWeight[i])
				}
			}
		}
	}
}

func TestErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	base := newProblem(rng, 4, 3, 5, true, 1).in
	mod := func(f func(in *Input)) Input {
		in := base
		in.Hidden = append([]float32(nil), base.Hidden...)
		in.Weight = append([]float32(nil), base.Weight...)
		in.Targets = append([]int32(nil), base.Targets...)
		f(&in)
		return in
	}
	cases := []struct {
		name    string
		in      Input
		out     Output
		head    Head
		kind    error
		mention string
	}{
		{"target range", mod(func(in *Input) { in.Targets[2] = 5 }), Output{}, Head{}, ErrValue, "row 2"},
		{"nan hidden", mod(func(in *Input) { in.Hidden[7] = float32(math.NaN()) }), Output{}, Head{}, ErrValue, "Hidden[2, 1]"},
		{"inf weight", mod(func(in *Input) { in.Weight[4] = float32(math.Inf(1)) }), Output{}, Head{}, ErrValue, "Weight[1, 1]"},
		{"hidden len", mod(func(in *Input) { in.Hidden = in.Hidden[:5] }), Output{}, Head{}, ErrShape, "Hidden"},
		{"grad len", base, Output{GradWeight: make([]float32, 3)}, Head{}, ErrShape, "GradWeight"},
		{"shift", base, Output{}, Head{Shift: -1}, ErrShape, "Shift"},
		{"none", base, Output{}, Head{Loss: []loss.CrossEntropyOption{loss.WithReduction(loss.None)}}, ErrShape, "Rows"},
	}
	for _, c := range cases {
		_, err := c.head.Eval(c.in, c.out)
		if !errors.Is(err, c.kind) || !containsStr(err.Error(), c.mention) {
			t.Errorf("%s: err = %v, want %v mentioning %q", c.name, err, c.kind, c.mention)
		}
	}
	// A shift past the last row scores no row (and must not overflow).
	for _, shift := range []int{4, 5, math.MaxInt - 2, math.MaxInt} {
		out := Output{Rows: make([]float32, 4)}
		st, err := (Head{Shift: shift, Loss: []loss.CrossEntropyOption{loss.WithReduction(loss.Sum)}}).Eval(base, out)
		if err != nil || st.Loss != 0 {
			t.Errorf("Shift %d: loss %v, err %v; want 0 (no row scored)", shift, st.Loss, err)
		}
	}
	// With Shift 1 no row reads Targets[0]: any value there is fine.
	in := mod(func(in *Input) { in.Targets[0] = 99 })
	if _, err := (Head{Shift: 1}).Eval(in, Output{}); err != nil {
		t.Errorf("an unread target was range-checked: %v", err)
	}
}

func containsStr(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// TestRankOfBeyondInt32: a rank past 2³¹−1 saturates instead of wrapping
// negative (TargetRank is int32; a vocabulary may be longer).
func TestRankOfBeyondInt32(t *testing.T) {
	if testing.Short() {
		t.Skip("reads more than 8 GiB of mapped zeros")
	}
	const n = 1<<31 + 5
	s, err := bigmem.Float32(n)
	if err != nil {
		t.Skip(err)
	}
	defer s.Free()
	z := s.X
	if err := s.Set(0, -1); err != nil { // every other entry (2³¹+4 of them) is above it
		t.Fatal(err)
	}
	if got := rankOf(z, 0); got != math.MaxInt32 {
		t.Errorf("rankOf = %d, want %d (saturated)", got, math.MaxInt32)
	}
	if got := rankOf(z, 7); got != 0 {
		t.Errorf("rankOf of a tie = %d, want 0", got)
	}
}
