package metrics

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/xentlab/xent/internal/wire"
)

func accOrFatal(t testing.TB, cfg AccConfig) *Accumulator {
	t.Helper()
	a, err := NewAccumulator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// meanStd returns the mean and the population standard deviation of xs,
// two passes in float64.
func meanStd(xs []float64) (float64, float64) {
	var m, v float64
	for _, x := range xs {
		m += x
	}
	m /= float64(len(xs))
	for _, x := range xs {
		v += (x - m) * (x - m)
	}
	return m, math.Sqrt(v / float64(len(xs)))
}

func randLabels(rng *rand.Rand, rows, cols int) []int32 {
	y := make([]int32, rows)
	for i := range y {
		y[i] = int32(rng.IntN(cols))
	}
	return y
}

// TestAccumulatorAgainstReference checks every number of the report with
// a brute-force float64 evaluation by definition.
func TestAccumulatorAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 1))
	for _, cols := range []int{2, 3, 17, 300} {
		rows := 97
		x := randomLogits(rng, rows, cols)
		y := randLabels(rng, rows, cols)
		for r := 0; r < rows; r++ { // the label's logit must be finite for a finite NLL
			if math.IsInf(x[r*cols+int(y[r])], -1) {
				x[r*cols+int(y[r])] = 0
			}
		}
		ks := []int{1, 2, 5}
		cfg := AccConfig{Cols: cols, TopK: ks, Bins: 10, EqualMass: true, Entropy: true, Margins: true, Confusion: true}
		a := accOrFatal(t, cfg)
		if err := a.Add64(x, y); err != nil {
			t.Fatal(err)
		}
		rep, err := a.Report()
		if err != nil {
			t.Fatal(err)
		}
		var nll, brier, ent float64
		hits := make([]int, len(ks))
		binN := make([]int, 10)
		binHits := make([]int, 10)
		binConf := make([]float64, 10)
		conf := make([]int64, cols*cols)
		var gaps, margins []float64
		for r := 0; r < rows; r++ {
			ref := reference(x[r*cols:(r+1)*cols], int(y[r]))
			for i, k := range ks {
				if ref.rank < k {
					hits[i]++
				}
			}
			nll += ref.nll
			brier += ref.brier
			ent += ref.entropy
			gaps = append(gaps, ref.gap)
			margins = append(margins, ref.margin)
			b := int(math.Ceil(ref.conf*10)) - 1
			b = max(b, 0)
			binN[b]++
			binConf[b] += ref.conf
			if ref.rank == 0 {
				binHits[b]++
			}
			pred := 0
			for j := range cols {
				if x[r*cols+j] > x[r*cols+pred] {
					pred = j
				}
			}
			conf[int(y[r])*cols+pred]++
		}
		for i := range ks {
			if want := float64(hits[i]) / float64(rows); rep.Accuracy[i] != want {
				t.Errorf("cols %d: accuracy@%d = %v, want %v", cols, ks[i], rep.Accuracy[i], want)
			}
		}
		near := func(what string, got, want float64) {
			if math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
				t.Errorf("cols %d: %s = %v, want %v", cols, what, got, want)
			}
		}
		near("NLL", rep.NLL, nll/float64(rows))
		near("Brier", rep.Brier, brier/float64(rows))
		near("mean entropy", rep.Entropy.Mean, ent/float64(rows))
		mg, sg := meanStd(gaps)
		near("mean gap", rep.Gap.Mean, mg)
		near("gap deviation", rep.Gap.Std, sg)
		mm, sm := meanStd(margins)
		near("mean margin", rep.Margin.Mean, mm)
		near("margin deviation", rep.Margin.Std, sm)
		bins := a.Bins()
		for b := range bins {
			if bins[b].Count != binN[b] {
				t.Errorf("cols %d: bin %d holds %d, want %d", cols, b, bins[b].Count, binN[b])
				continue
			}
			if binN[b] > 0 {
				near("bin confidence", bins[b].Conf, binConf[b]/float64(binN[b]))
				near("bin accuracy", bins[b].Acc, float64(binHits[b])/float64(binN[b]))
			}
		}
		if !reflect.DeepEqual(a.Confusion(), conf) {
			t.Errorf("cols %d: confusion counts differ", cols)
		}
		if rep.Calibration.Len() != rows {
			t.Errorf("cols %d: %d examples kept for equal-mass bins", cols, rep.Calibration.Len())
		}
	}
}

// TestAccumulatorMatchesEvaluator compares with Evaluator, which sums in
// row order: the same per-row values, so the same counts and nearly the
// same sums.
func TestAccumulatorMatchesEvaluator(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 2))
	const rows, cols = 500, 40
	x := make([]float32, rows*cols)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 4)
	}
	y := randLabels(rng, rows, cols)
	a := accOrFatal(t, AccConfig{Cols: cols, TopK: []int{5, 1}, EqualMass: true, Entropy: true, Margins: true})
	if err := a.Add32(x[:200*cols], y[:200]); err != nil {
		t.Fatal(err)
	}
	if err := a.Add32(x[200*cols:], y[200:]); err != nil {
		t.Fatal(err)
	}
	got, _ := a.Report()
	want, err := Evaluate(x, cols, y, TopK(1, 5), WithEntropy(), WithMargins())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Accuracy, want.Accuracy) || !reflect.DeepEqual(got.TopK, want.TopK) || got.N != want.N {
		t.Fatalf("accuracy %v@%v, Evaluator %v@%v", got.Accuracy, got.TopK, want.Accuracy, want.TopK)
	}
	for _, c := range [][3]float64{
		{got.NLL, want.NLL}, {got.Brier, want.Brier}, {got.Entropy.Mean, want.Entropy.Mean},
		{got.Entropy.Std, want.Entropy.Std}, {got.Margin.Mean, want.Margin.Mean}, {got.Margin.Min, want.Margin.Min},
		{got.Gap.Max, want.Gap.Max},
	} {
		if math.Abs(c[0]-c[1]) > 1e-13*math.Max(1, math.Abs(c[1])) {
			t.Errorf("%v, Evaluator %v", c[0], c[1])
		}
	}
	for _, scheme := range []Binning{EqualWidth, EqualMass} {
		g, _ := got.Calibration.Errors(DefaultBins, scheme)
		w, _ := want.Calibration.Errors(DefaultBins, scheme)
		if math.Abs(g.ECE-w.ECE) > 1e-13 || g.Bins != w.Bins {
			t.Errorf("%v: ECE %v over %d bins, Evaluator %v over %d", scheme, g.ECE, g.Bins, w.ECE, w.Bins)
		}
	}
	wb, _ := want.Calibration.Bins(DefaultBins, EqualWidth)
	gb := BinErrors(a.Bins())
	if e := BinErrors(wb); math.Abs(gb.ECE-e.ECE) > 1e-13 || gb.MCE != e.MCE && math.Abs(gb.MCE-e.MCE) > 1e-13 {
		t.Errorf("ECE from the kept bins %v (MCE %v), Evaluator %v (%v)", gb.ECE, gb.MCE, e.ECE, e.MCE)
	}
}

// splitAdd adds x, y to fresh accumulators cut at random points (empty
// and one-row parts included), each with a random thread count, and
// merges them in a random order, some through their binary form.
func splitAdd(t *testing.T, rng *rand.Rand, cfg AccConfig, x []float32, y []int32) *Accumulator {
	t.Helper()
	cols := cfg.Cols
	rows := len(y)
	var parts []*Accumulator
	for lo := 0; ; {
		n := 0
		switch rng.IntN(4) {
		case 0:
		case 1:
			n = 1
		default:
			n = rng.IntN(rows/3 + 2)
		}
		hi := min(lo+n, rows)
		p := accOrFatal(t, cfg)
		p.SetThreads(1 + rng.IntN(3))
		// A part may itself come in several batches.
		for mid := lo; mid < hi; {
			end := min(hi, mid+1+rng.IntN(hi-mid))
			if err := p.Add32(x[mid*cols:end*cols], y[mid:end]); err != nil {
				t.Fatal(err)
			}
			mid = end
		}
		parts = append(parts, p)
		if hi == rows {
			break
		}
		lo = hi
	}
	rng.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
	for len(parts) > 1 {
		i, j := rng.IntN(len(parts)), rng.IntN(len(parts)-1)
		if j >= i {
			j++
		}
		o := parts[j]
		if rng.IntN(3) == 0 {
			b, _ := o.MarshalBinary()
			o = &Accumulator{}
			if err := o.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
		}
		if err := parts[i].Merge(o); err != nil {
			t.Fatal(err)
		}
		parts = append(parts[:j], parts[j+1:]...)
	}
	return parts[0]
}

func TestAccumulatorSplitsSameBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 3))
	for trial := 0; trial < 30; trial++ {
		cols := 1 + rng.IntN(50)
		rows := rng.IntN(300)
		x := make([]float32, rows*cols)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * 5)
			if rng.IntN(20) == 0 {
				x[i] = float32(math.Round(float64(x[i])))
			}
		}
		y := randLabels(rng, rows, cols)
		cfg := AccConfig{Cols: cols, TopK: []int{1, 3}, Bins: 1 + rng.IntN(20), EqualMass: true, Entropy: true, Margins: cols > 1, Confusion: true}
		whole := accOrFatal(t, cfg)
		whole.SetThreads(1)
		if err := whole.Add32(x, y); err != nil {
			t.Fatal(err)
		}
		merged := splitAdd(t, rng, cfg, x, y)
		wb, _ := whole.MarshalBinary()
		mb, _ := merged.MarshalBinary()
		if !bytes.Equal(wb, mb) {
			t.Fatalf("trial %d: the binary forms differ", trial)
		}
		if rows == 0 {
			continue
		}
		wr, _ := whole.Report()
		mr, _ := merged.Report()
		if !reflect.DeepEqual(wr, mr) {
			t.Fatalf("trial %d: reports differ:\n%+v\n%+v", trial, wr, mr)
		}
		if !reflect.DeepEqual(whole.Bins(), merged.Bins()) {
			t.Fatalf("trial %d: bins differ", trial)
		}
	}
}

func TestAccumulatorErrors(t *testing.T) {
	a := accOrFatal(t, AccConfig{Cols: 3})
	good := []float32{1, 2, 3, 4, 5, 6}
	if err := a.Add32(good, []int32{0, 1}); err != nil {
		t.Fatal(err)
	}
	before, _ := a.MarshalBinary()
	bad := []float32{1, 2, 3, 4, float32(math.NaN()), 6, 0, 0, 0}
	err := a.Add32(bad, []int32{0, 1, 2})
	var re *RowError
	if !errors.As(err, &re) || re.Row != 1 || !errors.Is(err, ErrValue) {
		t.Fatalf("NaN in row 1: err = %v", err)
	}
	err = a.Add32(good, []int32{0, 3})
	if !errors.As(err, &re) || re.Row != 1 {
		t.Fatalf("label 3 of 3 classes: err = %v", err)
	}
	inf := []float32{1, 2, 3, float32(math.Inf(-1)), float32(math.Inf(-1)), float32(math.Inf(-1))}
	if err := a.Add32(inf, []int32{0, 0}); !errors.As(err, &re) || re.Row != 1 {
		t.Fatalf("a row of −Inf: err = %v", err)
	}
	if err := a.Add32(good[:5], []int32{0, 1}); !errors.Is(err, ErrShape) {
		t.Fatalf("5 logits of 3 columns: err = %v", err)
	}
	after, _ := a.MarshalBinary()
	if !bytes.Equal(before, after) {
		t.Fatal("a rejected batch changed the accumulator")
	}
	if err := a.Merge(accOrFatal(t, AccConfig{Cols: 4})); !errors.Is(err, ErrShape) {
		t.Fatalf("merge with 4 classes: err = %v", err)
	}
	if err := a.Merge(accOrFatal(t, AccConfig{Cols: 3, Bins: 10})); !errors.Is(err, ErrShape) {
		t.Fatalf("merge with other bins: err = %v", err)
	}
	if _, err := accOrFatal(t, AccConfig{Cols: 3}).Report(); !errors.Is(err, ErrEmpty) {
		t.Fatalf("empty report: err = %v", err)
	}
	for _, c := range []AccConfig{{Cols: 0}, {Cols: 3, TopK: []int{0}}, {Cols: 1, Margins: true}, {Cols: 5000, Confusion: true}, {Cols: 3, Bins: -1}} {
		if _, err := NewAccumulator(c); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
}

func TestAccumulatorCorruptForms(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 4))
	a := accOrFatal(t, AccConfig{Cols: 4, TopK: []int{1, 2}, EqualMass: true, Entropy: true, Confusion: true})
	x := make([]float32, 40)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	if err := a.Add32(x, randLabels(rng, 10, 4)); err != nil {
		t.Fatal(err)
	}
	good, _ := a.MarshalBinary()
	var b Accumulator
	if err := b.UnmarshalBinary(good); err != nil {
		t.Fatal(err)
	}
	for i := range good {
		bad := append([]byte{}, good...)
		bad[i] ^= 0x10
		if err := b.UnmarshalBinary(bad); !errors.Is(err, ErrValue) {
			t.Fatalf("byte %d flipped: err = %v", i, err)
		}
	}
	for n := 0; n < len(good); n++ {
		if err := b.UnmarshalBinary(good[:n]); !errors.Is(err, ErrValue) {
			t.Fatalf("cut at %d: err = %v", n, err)
		}
	}
	if b.N() != 10 {
		t.Fatalf("failed decodes changed the accumulator: N = %d", b.N())
	}
}

func FuzzAccumulatorUnmarshal(f *testing.F) {
	rng := rand.New(rand.NewPCG(14, 5))
	for _, cfg := range []AccConfig{{Cols: 1}, {Cols: 3, TopK: []int{1, 2}, EqualMass: true, Entropy: true, Margins: true, Confusion: true}} {
		a := accOrFatal(f, cfg)
		b0, _ := a.MarshalBinary()
		f.Add(b0)
		x := make([]float32, 5*cfg.Cols)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		a.Add32(x, randLabels(rng, 5, cfg.Cols))
		b1, _ := a.MarshalBinary()
		f.Add(b1)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var a Accumulator
		if err := a.UnmarshalBinary(data); err != nil {
			if !errors.Is(err, ErrValue) {
				t.Fatalf("error not wrapping ErrValue: %v", err)
			}
			return
		}
		checkDecoded(t, &a)
	})
}

// checkDecoded checks an accumulator that decoded: it re-encodes to a form
// that decodes, merges with itself and reports without panicking.
func checkDecoded(t *testing.T, a *Accumulator) {
	t.Helper()
	b, _ := a.MarshalBinary()
	var c Accumulator
	if err := c.UnmarshalBinary(b); err != nil {
		t.Fatalf("re-encoded form rejected: %v", err)
	}
	if err := c.Merge(a); err != nil {
		t.Fatal(err)
	}
	if c.N() > 0 {
		if _, err := c.Report(); err != nil {
			t.Fatal(err)
		}
		c.Bins()
	}
}

// FuzzAccumulatorPayload fuzzes the decoder behind the checksum: the
// payload is framed with a valid checksum first.
func FuzzAccumulatorPayload(f *testing.F) {
	rng := rand.New(rand.NewPCG(14, 6))
	for _, cfg := range []AccConfig{{Cols: 2}, {Cols: 3, TopK: []int{1, 2}, Bins: 3, EqualMass: true, Entropy: true, Margins: true, Confusion: true}} {
		a := accOrFatal(f, cfg)
		x := make([]float32, 4*cfg.Cols)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		a.Add32(x, randLabels(rng, 4, cfg.Cols))
		b, _ := a.MarshalBinary()
		f.Add(b[5 : len(b)-4])
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		var a Accumulator
		if err := a.UnmarshalBinary(wire.Seal(accMagic, accVersion, payload)); err != nil {
			if !errors.Is(err, ErrValue) {
				t.Fatalf("error not wrapping ErrValue: %v", err)
			}
			return
		}
		checkDecoded(t, &a)
	})
}
