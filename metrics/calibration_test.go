package metrics

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func TestCalibrationHand(t *testing.T) {
	var c Calibration
	conf := []float64{0.05, 0.3, 0.35, 0.95, 1.0, 0.3}
	correct := []bool{false, true, false, true, true, false}
	if err := c.AddBatch(conf, correct); err != nil {
		t.Fatal(err)
	}
	bins, err := c.Bins(10, EqualWidth)
	if err != nil {
		t.Fatal(err)
	}
	// By hand: bin 0 {0.05 ✗}, bin 2 {0.3 ✓, 0.3 ✗}, bin 3 {0.35 ✗},
	// bin 9 {0.95 ✓, 1.0 ✓}.
	want := map[int]Bin{0: {Count: 1, Conf: 0.05, Acc: 0}, 2: {Count: 2, Conf: 0.3, Acc: 0.5},
		3: {Count: 1, Conf: 0.35, Acc: 0}, 9: {Count: 2, Conf: 0.975, Acc: 1}}
	for i, b := range bins {
		w := want[i]
		if b.Count != w.Count || !closeTo(b.Conf, w.Conf, 1e-15, 0) || b.Acc != w.Acc {
			t.Errorf("bin %d = %+v, want %+v", i, b, w)
		}
	}
	e := BinErrors(bins)
	for _, x := range []struct {
		name      string
		got, want float64
	}{
		{"ECE", e.ECE, (0.05 + 2*0.2 + 0.35 + 2*0.025) / 6},
		{"MCE", e.MCE, 0.35},
		{"L2", e.L2, math.Sqrt((0.0025 + 2*0.04 + 0.1225 + 2*0.000625) / 6)},
		// Bins with ≥ 2 examples: (2/6)(0.2² − 0.25/1) + (2/6)(0.025² − 0).
		{"DebiasedL2Sq", e.DebiasedL2Sq, (2*(0.04-0.25) + 2*0.000625) / 6},
		{"DebiasedL2", e.DebiasedL2, 0},
	} {
		if !closeTo(x.got, x.want, 1e-13, 1e-15) {
			t.Errorf("%s = %v, want %v", x.name, x.got, x.want)
		}
	}
	if got, _ := c.ECE(10); got != e.ECE {
		t.Errorf("ECE(10) = %v, want %v", got, e.ECE)
	}
}

func TestEqualWidthEdges(t *testing.T) {
	// i/n lands in bin i−1 (upper edges included), 0 in bin 0.
	for n := 1; n <= 60; n++ {
		edges := equalWidthEdges(n)
		for i := 0; i <= n; i++ {
			v := float64(i) / float64(n)
			want := max(i-1, 0)
			if got := binOf(edges, v); got != want {
				t.Fatalf("n = %d: %v in bin %d, want %d", n, v, got, want)
			}
			if got := equalWidthBin(edges, v); got != want {
				t.Fatalf("n = %d: equalWidthBin(%v) = %d, want %d", n, v, got, want)
			}
			for _, u := range []float64{math.Nextafter(v, 2), math.Nextafter(v, -1)} {
				if u < 0 || u > 1 {
					continue
				}
				if a, b := binOf(edges, u), equalWidthBin(edges, u); a != b {
					t.Fatalf("n = %d: %v: binOf %d, equalWidthBin %d", n, u, a, b)
				}
			}
		}
	}
}

func TestEqualMass(t *testing.T) {
	var c Calibration
	// Runs of 2: {0.1, 0.2} {0.2, 0.2} {0.5, 0.9}: the tied 0.2s share the
	// first bin, the second run's bin is empty and is merged away.
	c.AddBatch([]float64{0.9, 0.2, 0.1, 0.2, 0.5, 0.2}, []bool{true, false, true, true, false, false})
	bins, err := c.Bins(3, EqualMass)
	if err != nil {
		t.Fatal(err)
	}
	if len(bins) != 2 || bins[0].Count != 4 || bins[1].Count != 2 || bins[0].Lo != 0 || bins[0].Hi != 0.2 ||
		bins[1].Lo != 0.2 || bins[1].Hi != 1 || bins[1].Acc != 0.5 || bins[0].Acc != 0.5 {
		t.Errorf("bins = %+v", bins)
	}
	// Distinct values: near-equal counts, the longer runs first.
	var d Calibration
	for i := 0; i < 10; i++ {
		d.Add(float64(i)/10+0.01, i%2 == 0)
	}
	bins, _ = d.Bins(3, EqualMass)
	if len(bins) != 3 || bins[0].Count != 4 || bins[1].Count != 3 || bins[2].Count != 3 {
		t.Errorf("bins = %+v", bins)
	}
	if bins[0].Hi != (0.31+0.41)/2 {
		t.Errorf("first edge %v, want midway between 0.31 and 0.41", bins[0].Hi)
	}
}

// TestECEConsistent: for perfectly calibrated data (correct with
// probability equal to the confidence) the ECE shrinks towards 0 as n
// grows, and the debiased squared ℓ2 error is centred on 0 while the
// plug-in one is biased upwards.
func TestECEConsistent(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	sample := func(n int, acc func(float64) float64) *Calibration {
		var c Calibration
		for i := 0; i < n; i++ {
			p := rng.Float64()
			c.Add(p, rng.Float64() < acc(p))
		}
		return &c
	}
	ident := func(p float64) float64 { return p }
	prev := math.Inf(1)
	for _, n := range []int{1000, 10000, 100000} {
		e, _ := sample(n, ident).Errors(15, EqualWidth)
		// Expected ECE ≈ Σ_b w_b·√(2/π)·√(a(1−a)/n_b) ≤ 0.8·√(15/(4n)).
		if e.ECE > 3*math.Sqrt(15/(4*float64(n))) || e.ECE >= prev {
			t.Errorf("n = %d: ECE = %v (previous %v)", n, e.ECE, prev)
		}
		prev = e.ECE
	}
	var deb, plug float64
	const reps = 40
	for i := 0; i < reps; i++ {
		e, _ := sample(2000, ident).Errors(15, EqualMass)
		deb += e.DebiasedL2Sq / reps
		plug += e.L2 * e.L2 / reps
	}
	// The plug-in bias is Σ_b w_b a(1−a)/n_b ≈ 15·(1/6)/2000 ≈ 1.25e-3.
	if math.Abs(deb) > 2e-4 || plug < 8e-4 {
		t.Errorf("mean debiased L2² = %v (want ≈ 0), plug-in L2² = %v (want ≈ 1.25e-3)", deb, plug)
	}
	// Miscalibrated: accuracy p² at confidence p. With 10 equal-width bins
	// of width h and midpoints m, the binned squared error is
	// Σ (1/10)(m − m² − h²/12)².
	var truth float64
	for b := 0; b < 10; b++ {
		m := (float64(b) + 0.5) / 10
		d := m - m*m - 0.01/12
		truth += d * d / 10
	}
	e, _ := sample(200000, func(p float64) float64 { return p * p }).Errors(10, EqualWidth)
	if math.Abs(e.DebiasedL2Sq-truth) > 1e-3 {
		t.Errorf("debiased L2² = %v, want ≈ %v", e.DebiasedL2Sq, truth)
	}
}

func TestCalibrationErrors(t *testing.T) {
	var c Calibration
	if _, err := c.Bins(10, EqualWidth); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty: err = %v", err)
	}
	if err := c.Add(1.5, true); !errors.Is(err, ErrValue) {
		t.Errorf("conf 1.5: err = %v", err)
	}
	if err := c.Add(math.NaN(), true); !errors.Is(err, ErrValue) {
		t.Errorf("conf NaN: err = %v", err)
	}
	if err := c.AddBatch([]float64{0.5, 2}, []bool{true, true}); !errors.Is(err, ErrValue) || c.Len() != 0 {
		t.Errorf("bad batch: err = %v, len %d", err, c.Len())
	}
	if err := c.AddBatch([]float64{0.5}, nil); !errors.Is(err, ErrShape) {
		t.Errorf("mismatched batch: err = %v", err)
	}
	c.Add(0.5, true)
	if _, err := c.Bins(0, EqualWidth); !errors.Is(err, ErrValue) {
		t.Errorf("0 bins: err = %v", err)
	}
	if _, err := c.Bins(3, Binning(9)); !errors.Is(err, ErrValue) {
		t.Errorf("unknown binning: err = %v", err)
	}
	// One example, many bins.
	if bins, err := c.Bins(15, EqualMass); err != nil || len(bins) != 1 || bins[0].Count != 1 {
		t.Errorf("one example: %+v, %v", bins, err)
	}
}

func TestTopLabelMatchesEvaluate(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	cols, rows := 30, 500
	x := to32(randomLogits(rng, rows, cols))
	labels := randomLabels(rng, rows, cols)
	c, err := TopLabel(x, cols, labels)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := Evaluate(x, cols, labels)
	a, _ := c.Errors(15, EqualMass)
	b, _ := r.Calibration.Errors(15, EqualMass)
	if a != b || c.Accuracy() != r.Accuracy[0] {
		t.Errorf("TopLabel %+v, Evaluate %+v", a, b)
	}
}

func TestClasswise(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	cols, rows, nb := 5, 400, 8
	x := randomLogits(rng, rows, cols)
	labels := randomLabels(rng, rows, cols)
	// Brute force: bins by scanning the edges.
	count := make([]float64, cols*nb)
	sumP := make([]float64, cols*nb)
	hits := make([]float64, cols*nb)
	for r := 0; r < rows; r++ {
		p := reference(x[r*cols:(r+1)*cols], 0).p
		for k, v := range p {
			b := 0
			for b < nb-1 && v > float64(b+1)/float64(nb) {
				b++
			}
			count[k*nb+b]++
			sumP[k*nb+b] += v
			if int(labels[r]) == k {
				hits[k*nb+b]++
			}
		}
	}
	var want float64
	for i := range count {
		if count[i] > 0 {
			want += math.Abs(hits[i]-sumP[i]) / float64(rows)
		}
	}
	want /= float64(cols)
	r, err := Evaluate(x, cols, labels, ClasswiseBins(nb))
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Classwise.ECE()
	if err != nil || !closeTo(got, want, 1e-12, 1e-15) {
		t.Errorf("class-wise ECE = %v, %v; want %v", got, err, want)
	}
	cw, _ := NewClasswise(cols, nb)
	p := make([]float32, len(x))
	for r := 0; r < rows; r++ {
		for j, v := range reference(x[r*cols:(r+1)*cols], 0).p {
			p[r*cols+j] = float32(v)
		}
	}
	if err := AddClasswiseProbs(cw, p, labels); err != nil {
		t.Fatal(err)
	}
	if got, _ := cw.ECE(); !closeTo(got, want, 1e-5, 1e-6) {
		t.Errorf("class-wise ECE from probabilities = %v, want %v", got, want)
	}
	bins, _ := cw.ClassBins(2)
	n := 0
	for _, b := range bins {
		n += b.Count
	}
	if n != rows {
		t.Errorf("class 2 bins hold %d examples, want %d", n, rows)
	}
	if err := AddClasswiseLogits(cw, x[:cols], []int32{9}); !errors.Is(err, ErrValue) || cw.Len() != rows {
		t.Errorf("bad label: err = %v, len %d", err, cw.Len())
	}
}
