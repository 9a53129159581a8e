package sample

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

// TestDrawRule checks the documented draw: with u the stream's uniform,
// the token is the first candidate, in id order, whose cumulative
// probability exceeds u.
func TestDrawRule(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, V := range []int{1, 2, 17, 1000, 9000, 100000} {
		x := makeLogits("gauss3", V, r)
		s, _ := New(nil, 42)
		want := newRef(x).dense()
		us := refUniforms(42, 0, 50)
		for k, u := range us {
			res, err := s.Sample(Input{Logits: x})
			if err != nil {
				t.Fatal(err)
			}
			cum, tok := 0.0, -1
			near := false
			for i, p := range want {
				cum += p
				if math.Abs(cum-u) < 1e-6 {
					near = true
				}
				if cum > u && tok < 0 {
					tok = i
				}
			}
			if !near && int(res.Token) != tok {
				t.Fatalf("V=%d draw %d (u = %v): token %d, want %d", V, k, u, res.Token, tok)
			}
		}
	}
}

// chiSquare draws n tokens from the sampler on x and returns the χ²
// statistic of the counts against want (bins of expected count < 5
// merged) and its degrees of freedom.
func chiSquare(t *testing.T, s *Sampler, x []float32, want []float64, n int) (float64, int) {
	t.Helper()
	counts := make([]float64, len(x))
	for range n {
		res, err := s.Sample(Input{Logits: x})
		if err != nil {
			t.Fatal(err)
		}
		if want[res.Token] == 0 {
			t.Fatalf("token %d drawn with probability 0", res.Token)
		}
		counts[res.Token]++
	}
	return chi2(counts, want, n)
}

func chi2(counts, want []float64, n int) (float64, int) {
	var stat, o, e float64
	bins := 0
	for i := range want {
		o += counts[i]
		e += want[i] * float64(n)
		if e >= 5 {
			stat += (o - e) * (o - e) / e
			bins++
			o, e = 0, 0
		}
	}
	if e > 0 {
		stat += (o - e) * (o - e) / math.Max(e, 1e-300)
		bins++
	}
	return stat, bins - 1
}

// TestChiSquare checks that the drawn tokens follow the final
// distribution: the χ² statistic of 200 000 draws against the reference
// must stay below the 1 − 10⁻⁶ quantile (the seeds are fixed, so the
// outcome is too).
func TestChiSquare(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	n := 200000
	if testing.Short() {
		n = 40000
	}
	for _, c := range []struct {
		chain string
		V     int
	}{
		{"dist", 30},
		{"temp=0.7", 200},
		{"top_k=40;top_p=0.9;min_p=0.01;temp=0.8", 50000},
		{"top_p=0.5", 5000},
		{"typical=0.8;temp=1.3", 300},
	} {
		st, _ := Parse(c.chain)
		s, _ := New(st, 7)
		x := makeLogits("gauss1", c.V, r)
		ref := newRef(x)
		for _, sg := range st {
			if !sg.kind.final() {
				ref.apply(sg, nil, 0)
			}
		}
		want := ref.dense()
		stat, df := chiSquare(t, s, x, want, n)
		crit := distuv.ChiSquared{K: float64(df)}.Quantile(1 - 1e-6)
		t.Logf("%s V=%d: χ² = %.1f with %d degrees of freedom (critical %.1f)", c.chain, c.V, stat, df, crit)
		if stat > crit {
			t.Errorf("%s V=%d: χ² = %.1f > %.1f", c.chain, c.V, stat, crit)
		}
	}
}

// TestSeedsReproduce checks that a seed gives the same tokens again, for
// any thread count and batch size, and that rows are independent.
func TestSeedsReproduce(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	const rows, V, steps = 9, 3000, 5
	x := make([][]float32, rows)
	for i := range x {
		x[i] = makeLogits("gauss1", V, r)
	}
	chain, _ := Parse("penalties=16,repeat=1.2;top_k=100;top_p=0.95;xtc=0.5,threshold=0.1;temp=1.1")
	run := func(threads int, seed uint64) [][]int32 {
		s, _ := New(chain, seed, Threads(threads))
		hist := make([][]int32, rows)
		out := make([][]int32, rows)
		res := make([]Result, rows)
		in := make([]Input, rows)
		for range steps {
			for i := range in {
				in[i] = Input{Logits: x[i], History: hist[i]}
			}
			if err := s.SampleBatch(in, res); err != nil {
				t.Fatal(err)
			}
			for i := range res {
				hist[i] = append(hist[i], res[i].Token)
				out[i] = append(out[i], res[i].Token)
			}
		}
		return out
	}
	a, b, c := run(1, 99), run(4, 99), run(1, 100)
	same := func(p, q [][]int32) bool {
		for i := range p {
			for j := range p[i] {
				if p[i][j] != q[i][j] {
					return false
				}
			}
		}
		return true
	}
	if !same(a, b) {
		t.Errorf("1 thread and 4 threads give different tokens:\n%v\n%v", a, b)
	}
	if same(a, c) {
		t.Errorf("seeds 99 and 100 give the same tokens")
	}
	// Row 3 alone, through SampleRow, follows the same stream.
	s, _ := New(chain, 99)
	var hist []int32
	for k := range steps {
		res, err := s.SampleRow(3, Input{Logits: x[3], History: hist})
		if err != nil {
			t.Fatal(err)
		}
		if res.Token != a[3][k] {
			t.Fatalf("SampleRow(3) step %d: %d, batch %d", k, res.Token, a[3][k])
		}
		hist = append(hist, res.Token)
	}
	// Reset restarts the streams.
	s.Reset(99)
	res, _ := s.SampleRow(3, Input{Logits: x[3]})
	if res.Token != a[3][0] {
		t.Errorf("after Reset: %d, want %d", res.Token, a[3][0])
	}
}

// TestZeroAllocs checks that a call allocates nothing once the buffers
// have grown.
func TestZeroAllocs(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	for _, c := range []struct {
		chain string
		V     int
	}{
		{"default", 262144},
		{"penalties=64,repeat=1.1;top_k=40;top_p=0.95;min_p=0.05;temp=0.8", 262144},
		{"top_p=0.95", 262144},
		{"typical=0.9;top_n_sigma=1;xtc=1,threshold=0.01;temp=0.7,range=0.3", 70000},
		{"mirostat=5,eta=0.1,m=100", 70000},
		{"dry=0.8,breakers=3|4 5;mirostat_v2=5", 70000},
	} {
		st, _ := Parse(c.chain)
		s, _ := New(st, 1, LogProbs(5))
		x := makeLogits("gauss3", c.V, r)
		hist := makeHistory(c.V, 200, r)
		in := Input{Logits: x, History: hist}
		if _, err := s.Sample(in); err != nil {
			t.Fatal(err)
		}
		if a := testing.AllocsPerRun(5, func() { s.Sample(in) }); a != 0 {
			t.Errorf("%s: %v allocations per token", c.chain, a)
		}
	}
}
