package metrics

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
)

// refRow is a float64 brute-force evaluation of one row: softmax by
// definition, ranks by a full stable sort.
type refRow struct {
	p                          []float64
	conf                       float64
	rank                       int
	nll, brier, entropy        float64
	gap, margin, maxLogit, lse float64
}

func reference(row []float64, y int) refRow {
	m := math.Inf(-1)
	for _, v := range row {
		m = math.Max(m, v)
	}
	var s float64
	for _, v := range row {
		s += math.Exp(v - m)
	}
	r := refRow{p: make([]float64, len(row)), maxLogit: m, lse: m + math.Log(s)}
	for j, v := range row {
		r.p[j] = math.Exp(v-m) / s
	}
	order := make([]int, len(row))
	for j := range order {
		order[j] = j
	}
	sort.SliceStable(order, func(a, b int) bool { return row[order[a]] > row[order[b]] })
	r.conf = r.p[order[0]]
	if len(row) > 1 {
		r.gap = row[order[0]] - row[order[1]]
	}
	for j, p := range r.p {
		if p > 0 {
			r.entropy -= p * math.Log(p)
		}
		t := 0.0
		if j == y {
			t = 1
		}
		r.brier += (p - t) * (p - t)
	}
	if y >= 0 {
		r.rank = slices.Index(order, y)
		r.nll = -(row[y] - r.lse)
		other := math.Inf(-1)
		for j, v := range row {
			if j != y {
				other = math.Max(other, v)
			}
		}
		r.margin = row[y] - other
	}
	return r
}

// randomLogits returns rows × cols logits with some ties and −Inf masks.
func randomLogits(rng *rand.Rand, rows, cols int) []float64 {
	x := make([]float64, rows*cols)
	for i := range x {
		x[i] = rng.NormFloat64() * 3
	}
	for r := 0; r < rows; r++ {
		row := x[r*cols : (r+1)*cols]
		switch r % 7 {
		case 1: // a tie at the top
			if cols > 2 {
				a, b := rng.IntN(cols), rng.IntN(cols)
				m := slices.Max(row)
				row[a], row[b] = m+1, m+1
			}
		case 2: // coarse values: many ties
			for j := range row {
				row[j] = math.Round(row[j])
			}
		case 3: // masked entries
			for j := range row {
				if rng.IntN(4) == 0 {
					row[j] = math.Inf(-1)
				}
			}
			row[rng.IntN(cols)] = 0.5
		}
	}
	return x
}

func to32(x []float64) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}

func to64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

func randomLabels(rng *rand.Rand, rows, cols int) []int32 {
	l := make([]int32, rows)
	for i := range l {
		l[i] = int32(rng.IntN(cols))
	}
	return l
}

func closeTo(got, want, rel, abs float64) bool {
	if math.IsInf(want, 0) {
		return got == want
	}
	return math.Abs(got-want) <= abs+rel*math.Abs(want)
}

func checkReport[T Float](t *testing.T, name string, logits []T, cols int, labels []int32, ks []int, tol float64) {
	t.Helper()
	rep, err := Evaluate(logits, cols, labels, TopK(ks...), WithEntropy(), WithMargins())
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	rows := len(labels)
	hits := make([]int, len(ks))
	var nll, brier float64
	var ent, gap, marg []float64
	conf := make([]float64, rows)
	correct := make([]bool, rows)
	for r := 0; r < rows; r++ {
		row := make([]float64, cols)
		for j := range row {
			row[j] = float64(logits[r*cols+j])
		}
		ref := reference(row, int(labels[r]))
		for i, k := range ks {
			if ref.rank < k {
				hits[i]++
			}
		}
		nll += ref.nll
		brier += ref.brier
		ent = append(ent, ref.entropy)
		gap = append(gap, ref.gap)
		marg = append(marg, ref.margin)
		conf[r], correct[r] = ref.conf, ref.rank == 0
	}
	for i, k := range ks {
		want := float64(hits[i]) / float64(rows)
		if got, _ := rep.AccuracyAt(k); got != want {
			t.Errorf("%s: accuracy@%d = %v, want %v", name, k, got, want)
		}
	}
	if !closeTo(rep.NLL, nll/float64(rows), tol, tol) {
		t.Errorf("%s: NLL = %v, want %v", name, rep.NLL, nll/float64(rows))
	}
	if !closeTo(rep.Brier, brier/float64(rows), 0, tol) {
		t.Errorf("%s: Brier = %v, want %v", name, rep.Brier, brier/float64(rows))
	}
	checkSummary(t, name+" entropy", rep.Entropy, ent, tol)
	checkSummary(t, name+" gap", rep.Gap, gap, 0)
	checkSummary(t, name+" margin", rep.Margin, marg, 0)
	for i := 0; i < rows; i++ {
		if !closeTo(rep.Calibration.conf[i], conf[i], tol, 0) || rep.Calibration.correct[i] != correct[i] {
			t.Fatalf("%s: row %d: confidence %v (correct %v), want %v (%v)", name, i,
				rep.Calibration.conf[i], rep.Calibration.correct[i], conf[i], correct[i])
		}
	}
}

func checkSummary(t *testing.T, name string, s Summary, all []float64, tol float64) {
	t.Helper()
	var x []float64
	pos, neg := 0, 0
	for _, v := range all {
		switch {
		case math.IsInf(v, 1):
			pos++
		case math.IsInf(v, -1):
			neg++
		default:
			x = append(x, v)
		}
	}
	var mean float64
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	var v2 float64
	for _, v := range x {
		v2 += (v - mean) * (v - mean)
	}
	std := math.Sqrt(v2 / float64(len(x)))
	x = all
	ok := s.N == len(x) && s.PosInf == pos && s.NegInf == neg && closeTo(s.Mean, mean, tol+1e-12, tol) && closeTo(s.Std, std, tol+1e-9, tol) &&
		closeTo(s.Min, slices.Min(x), tol, tol) && closeTo(s.Max, slices.Max(x), tol, tol)
	if !ok {
		t.Errorf("%s: summary %+v, want N=%d mean=%v std=%v min=%v max=%v", name, s, len(x), mean, std, slices.Min(x), slices.Max(x))
	}
}

func TestEvaluateAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, cols := range []int{2, 3, 10, 129, 1000} {
		rows := 200
		x := randomLogits(rng, rows, cols)
		labels := randomLabels(rng, rows, cols)
		ks := []int{1, 2, 5}
		if cols < 5 {
			ks = []int{1, 2}
		}
		checkReport(t, "float64", x, cols, labels, ks, 1e-12)
		x32 := to32(x)
		// The reference sees exactly the float32 values.
		checkReport(t, "float32", x32, cols, labels, ks, 2e-6)
	}
}

func TestHandValues(t *testing.T) {
	// softmax([2, 1, 0.1]) = [0.659001138, 0.242432971, 0.0985658917].
	x := []float64{2, 1, 0.1, 2, 1, 0.1}
	rep, err := Evaluate(x, 3, []int32{0, 2}, TopK(1, 2, 3), WithEntropy(), WithMargins())
	if err != nil {
		t.Fatal(err)
	}
	p := []float64{0.659001138, 0.242432971, 0.0985658917}
	wantNLL := (-math.Log(p[0]) - math.Log(p[2])) / 2
	b0 := (p[0]-1)*(p[0]-1) + p[1]*p[1] + p[2]*p[2]
	b2 := p[0]*p[0] + p[1]*p[1] + (p[2]-1)*(p[2]-1)
	ent := -(p[0]*math.Log(p[0]) + p[1]*math.Log(p[1]) + p[2]*math.Log(p[2]))
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"acc@1", rep.Accuracy[0], 0.5},
		{"acc@2", rep.Accuracy[1], 0.5},
		{"acc@3", rep.Accuracy[2], 1},
		{"nll", rep.NLL, wantNLL},
		{"brier", rep.Brier, (b0 + b2) / 2},
		{"entropy", rep.Entropy.Mean, ent},
		{"gap", rep.Gap.Mean, 1},
		{"margin min", rep.Margin.Min, 0.1 - 2},
		{"margin max", rep.Margin.Max, 1},
	} {
		if !closeTo(c.got, c.want, 1e-8, 1e-9) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestTies(t *testing.T) {
	// Row [1, 1, 0]: class 0 ranks first, class 1 second.
	x := []float32{1, 1, 0, 1, 1, 0, 0, 0, 0}
	rep, err := Evaluate(x, 3, []int32{0, 1, 2}, TopK(1, 2))
	if err != nil {
		t.Fatal(err)
	}
	// Row 2 is all equal: label 2 ranks third.
	if rep.Accuracy[0] != 1.0/3 || rep.Accuracy[1] != 2.0/3 {
		t.Errorf("accuracy@1,2 = %v, want [1/3 2/3]", rep.Accuracy)
	}
	if c := rep.Calibration.conf; c[0] != c[1] || !closeTo(c[2], 1.0/3, 1e-7, 0) {
		t.Errorf("confidences %v", c)
	}
}

func TestOneClass(t *testing.T) {
	x := []float64{3, -1, 0}
	rep, err := Evaluate(x, 1, []int32{0, 0, 0})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Accuracy[0] != 1 || rep.NLL != 0 || rep.Brier != 0 {
		t.Errorf("one class: %+v", rep)
	}
	if _, err := Evaluate(x, 1, []int32{0, 0, 0}, WithMargins()); !errors.Is(err, ErrShape) {
		t.Errorf("margins with one class: err = %v, want ErrShape", err)
	}
}

func TestErrors(t *testing.T) {
	x := []float32{1, 2, 3, 4, 5, 6}
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	ninf := float32(math.Inf(-1))
	cases := []struct {
		name   string
		x      []float32
		cols   int
		labels []int32
		want   error
	}{
		{"cols 0", x, 0, []int32{0, 0}, ErrShape},
		{"not a multiple", x, 4, []int32{0}, ErrShape},
		{"labels short", x, 3, []int32{0}, ErrShape},
		{"label high", x, 3, []int32{0, 3}, ErrValue},
		{"label negative", x, 3, []int32{-1, 0}, ErrValue},
		{"nan", []float32{1, nan, 3, 4, 5, 6}, 3, []int32{0, 0}, ErrValue},
		{"+inf", []float32{1, 2, 3, 4, inf, 6}, 3, []int32{0, 0}, ErrValue},
		{"all masked", []float32{1, 2, 3, ninf, ninf, ninf}, 3, []int32{0, 0}, ErrValue},
		{"empty", nil, 3, nil, ErrEmpty},
	}
	for _, c := range cases {
		_, err := Evaluate(c.x, c.cols, c.labels)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := Evaluate(x, 3, []int32{0, 0}, TopK(0)); !errors.Is(err, ErrValue) {
		t.Errorf("k = 0: err = %v", err)
	}
	// The error names the row.
	_, err := Evaluate([]float64{1, 2, 3, 4, math.NaN(), 6}, 3, []int32{0, 0})
	if err == nil || !strings.Contains(err.Error(), "row 1") {
		t.Errorf("NaN error %v does not name row 1", err)
	}
}

func TestMaskedLabelIsInfiniteNLL(t *testing.T) {
	ninf := math.Inf(-1)
	rep, err := Evaluate([]float64{0, ninf, 1, 2}, 2, []int32{1, 0})
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsInf(rep.NLL, 1) {
		t.Errorf("NLL = %v, want +Inf", rep.NLL)
	}
}

func TestBatchesMatchOneShot(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	cols, rows := 50, 300
	x := to32(randomLogits(rng, rows, cols))
	labels := randomLabels(rng, rows, cols)
	opts := []Option{TopK(1, 5), WithEntropy(), WithMargins()}
	one, err := Evaluate(x, cols, labels, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := NewEvaluator[float32](cols, opts...)
	for lo := 0; lo < rows; lo += 77 {
		hi := min(rows, lo+77)
		if err := ev.Add(x[lo*cols:hi*cols], labels[lo:hi]); err != nil {
			t.Fatal(err)
		}
	}
	// A bad batch is rejected whole and changes nothing.
	if err := ev.Add(x[:cols], []int32{int32(cols)}); err == nil {
		t.Fatal("bad label accepted")
	}
	got, err := ev.Report()
	if err != nil {
		t.Fatal(err)
	}
	if got.N != one.N || !slices.Equal(got.Accuracy, one.Accuracy) || !closeTo(got.NLL, one.NLL, 1e-14, 0) ||
		!closeTo(got.Brier, one.Brier, 1e-14, 1e-16) || got.Calibration.Len() != rows {
		t.Errorf("batched %+v, one-shot %+v", got, one)
	}
}

func TestDeterministicAcrossThreads(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	cols, rows := 100, 3000
	x := to32(randomLogits(rng, rows, cols))
	labels := randomLabels(rng, rows, cols)
	var first Report
	for i, th := range []int{1, 2, 3, 8} {
		r, err := Evaluate(x, cols, labels, TopK(1, 5), WithEntropy(), WithMargins(), Threads(th))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = r
			continue
		}
		if r.NLL != first.NLL || r.Brier != first.Brier || r.Entropy != first.Entropy ||
			!slices.Equal(r.Calibration.conf, first.Calibration.conf) {
			t.Errorf("threads %d: results differ from threads 1", th)
		}
	}
}

func TestProbs(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	cols, rows := 7, 100
	x := randomLogits(rng, rows, cols)
	labels := randomLabels(rng, rows, cols)
	p := make([]float64, len(x))
	for r := 0; r < rows; r++ {
		copy(p[r*cols:], reference(x[r*cols:(r+1)*cols], 0).p)
	}
	fromLogits, err := Evaluate(x, cols, labels, TopK(1, 3), WithEntropy())
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := NewEvaluator[float64](cols, TopK(1, 3), WithEntropy())
	if err := ev.AddProbs(p, labels); err != nil {
		t.Fatal(err)
	}
	fromProbs, _ := ev.Report()
	if !slices.Equal(fromLogits.Accuracy, fromProbs.Accuracy) || !closeTo(fromProbs.NLL, fromLogits.NLL, 1e-12, 1e-12) ||
		!closeTo(fromProbs.Brier, fromLogits.Brier, 1e-12, 1e-12) || !closeTo(fromProbs.Entropy.Mean, fromLogits.Entropy.Mean, 1e-12, 1e-12) {
		t.Errorf("probs %+v, logits %+v", fromProbs, fromLogits)
	}
	bad := slices.Clone(p[:cols])
	bad[0] += 0.1
	if err := ev.AddProbs(bad, labels[:1]); !errors.Is(err, ErrValue) {
		t.Errorf("row summing to 1.1: err = %v", err)
	}
	bad[0] = -0.1
	if err := ev.AddProbs(bad, labels[:1]); !errors.Is(err, ErrValue) {
		t.Errorf("negative probability: err = %v", err)
	}
}

func TestAccuracy(t *testing.T) {
	x := []float32{0, 5, 1, 3, 2, 1}
	for _, c := range []struct {
		k    int
		want float64
	}{{1, 0.5}, {2, 0.5}, {3, 1}} {
		got, err := Accuracy(x, 3, []int32{1, 2}, c.k)
		if err != nil || got != c.want {
			t.Errorf("Accuracy@%d = %v, %v; want %v", c.k, got, err, c.want)
		}
	}
}

func TestValidate(t *testing.T) {
	x := []float64{1, 2, 3, 4}
	if err := Validate(x, 2, []int32{0, 1}); err != nil {
		t.Error(err)
	}
	if err := Validate(x, 2, nil); err != nil {
		t.Error(err)
	}
	if err := Validate(x, 2, []int32{0, 2}); !errors.Is(err, ErrValue) {
		t.Errorf("label 2 of 2: %v", err)
	}
	if err := Validate(x, 3, nil); !errors.Is(err, ErrShape) {
		t.Errorf("cols 3: %v", err)
	}
	if err := Validate([]float32{1, float32(math.Inf(1))}, 2, nil); !errors.Is(err, ErrValue) {
		t.Errorf("+Inf: %v", err)
	}
}

// TestLargeOffsets: logits far from 0 lose nothing, as z − max is exact.
func TestLargeOffsets(t *testing.T) {
	x := []float32{1e4, 1e4 + 1, 1e4 - 0.5, -3e4, -3e4 + 2, -3e4 - 1}
	checkReport(t, "offsets", x, 3, []int32{0, 2}, []int{1, 2}, 2e-6)
}
