package sample

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestChainsAgainstReference compares whole chains — llama.cpp's default
// and random orders of the truncating and value stages — with the
// reference.
func TestChainsAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	pool := []Stage{
		Penalties(32, 1.2, 0.05, 0.1), TopK(50), TopP(0.9), MinP(0.02), Typical(0.95),
		TopNSigma(1.5), XTC(0.7, 0.08), Temp(0.8), DynTemp(0.9, 0.3, 1),
		LogitBias(Bias{1, 2}, Bias{5, -3}),
		DRY(DRYParams{Multiplier: 0.8, Base: 1.75, AllowedLength: 2, LastN: -1}),
	}
	sizes := []int{10, 300, 5000, 40000}
	if !testing.Short() && hasAVX512 {
		sizes = append(sizes, 262144)
	}
	made, skipped := 0, 0
	for _, V := range sizes {
		for trial := range 12 {
			dist := distributions[trial%len(distributions)]
			x := makeLogits(dist, V, r)
			hist := makeHistory(V, r.IntN(100), r)
			var chain []Stage
			if trial == 0 {
				chain = Default()[:len(Default())-1]
			} else {
				for _, i := range r.Perm(len(pool))[:2+r.IntN(5)] {
					chain = append(chain, pool[i])
				}
			}
			name := fmt.Sprintf("V=%d %s %s", V, dist, Format(chain))
			if compareChain(t, name, chain, x, hist, uint64(trial)) {
				made++
			} else {
				skipped++
			}
		}
	}
	t.Logf("%d chains compared, %d skipped as within rounding", made, skipped)
	if skipped*10 > made {
		t.Errorf("%d of %d skipped", skipped, made+skipped)
	}
}

// probsOf runs a chain through Probs on x.
func probsOf(t *testing.T, chain string, x []float32, hist []int32) []float32 {
	t.Helper()
	st, err := Parse(chain)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(st, 1)
	if err != nil {
		t.Fatal(err)
	}
	p := make([]float32, len(x))
	if err := s.Probs(p, Input{Logits: x, History: hist}); err != nil {
		t.Fatal(err)
	}
	return p
}

func kept(p []float32) []int {
	var k []int
	for i, v := range p {
		if v > 0 {
			k = append(k, i)
		}
	}
	return k
}

// TestExactBoundaries checks cases worked out by hand: the cumulative
// probability hits P exactly, ties at the cut, min_keep.
func TestExactBoundaries(t *testing.T) {
	flat := make([]float32, 64) // p = 1/64 each, exact
	cases := []struct {
		chain string
		x     []float32
		want  string
	}{
		// 16·(1/64) = 0.25 exactly: the 16th token crosses P and is kept.
		{"top_p=0.25", flat, "[0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15]"},
		{"top_p=0.2500001", flat, "[0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16]"},
		{"top_p=0.25,min_keep=20", flat, "[0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19]"},
		{"top_k=3", flat, "[0 1 2]"},
		{"top_k=2", []float32{1, 3, 3, 2, 3}, "[1 2]"},
		{"top_k=2,min_keep=3", []float32{1, 3, 3, 2, 3}, "[1 2 4]"},
		// p = (1/2, 1/4, 1/4): 1/2 + 1/4 reaches 0.75 at the second token.
		{"top_p=0.75", []float32{float32(math.Log(2)), 0, 0}, "[0 1]"},
		{"top_p=0.5", []float32{0, 0, 0, 0}, "[0 1]"},
		// min_p: logit ≥ max + ln P; ln 0.5 + 1 > 0.3 > ln 0.25 + 1.
		{"min_p=0.5", []float32{1, 0.3, 0.5, 1}, "[0 2 3]"},
		{"min_p=0.999", []float32{1, 0.3, 0.5, 1}, "[0 3]"},
		{"min_p=2", []float32{1, 0.3, 0.5, 1}, "[0]"},
		{"min_p=2,min_keep=3", []float32{1, 0.3, 0.5, 1}, "[0 2 3]"},
		// Temperature 0 and greedy: the lowest id among the maxima.
		{"temp=0", []float32{1, 3, 3, 2}, "[1]"},
		{"top_n_sigma=1", []float32{0, 0, 0, 0}, "[0 1 2 3]"},
		// σ of (0, 2) is 1: keep logits ≥ 2 − 1·1 = 1.
		{"top_n_sigma=1", []float32{0, 2}, "[1]"},
		{"top_n_sigma=2", []float32{0, 2}, "[0 1]"},
		// XTC (probability 1): p = (0.4, 0.4, 0.1, 0.1) with threshold 0.1
		// removes the tokens above the least probable of those ≥ 0.1:
		// token 3 (the last in order) stays.
		{"xtc=1,threshold=0.1", []float32{float32(math.Log(4)), float32(math.Log(4)), 0, 0}, "[3]"},
		{"xtc=1,threshold=0.2", []float32{float32(math.Log(4)), float32(math.Log(4)), 0, 0}, "[1 2 3]"},
		{"xtc=1,threshold=0.2,min_keep=4", []float32{float32(math.Log(4)), float32(math.Log(4)), 0, 0}, "[0 1 2 3]"},
		{"xtc=1,threshold=0.6", []float32{float32(math.Log(4)), float32(math.Log(4)), 0, 0}, "[0 1 2 3]"},
	}
	for _, c := range cases {
		p := probsOf(t, c.chain, c.x, nil)
		if got := fmt.Sprint(kept(p)); got != c.want {
			t.Errorf("%s on %v: kept %s, want %s", c.chain, c.x, got, c.want)
		}
	}
	// The 16 kept tokens of top_p=0.25 share the mass equally.
	p := probsOf(t, "top_p=0.25", flat, nil)
	if p[0] != 1.0/16 || p[15] != 1.0/16 {
		t.Errorf("top_p=0.25 on 64 equal logits: p = %v, want 1/16", p[:16])
	}
}

// TestPenaltiesByHand checks repeat, frequency and presence penalties on
// values worked out by hand.
func TestPenaltiesByHand(t *testing.T) {
	x := []float32{2, -2, 1}
	// Token 0 twice, token 1 once: 2/2 − (2·0.5 + 0.25) = −0.25;
	// −2·2 − (0.5 + 0.25) = −4.75; token 2 untouched.
	p := probsOf(t, "penalties=-1,repeat=2,frequency=0.5,presence=0.25", x, []int32{0, 1, 0})
	want := softmax64([]float64{-0.25, -4.75, 1})
	for i := range p {
		if math.Abs(float64(p[i])-want[i]) > 1e-6 {
			t.Errorf("token %d: p = %v, want %v", i, p[i], want[i])
		}
	}
	// last_n = 1: only the last token (0) counts, once.
	p = probsOf(t, "penalties=1,repeat=2,frequency=0.5,presence=0.25", x, []int32{0, 1, 0})
	want = softmax64([]float64{2.0/2 - 0.75, -2, 1})
	for i := range p {
		if math.Abs(float64(p[i])-want[i]) > 1e-6 {
			t.Errorf("last_n=1 token %d: p = %v, want %v", i, p[i], want[i])
		}
	}
}

func softmax64(z []float64) []float64 {
	m := math.Inf(-1)
	for _, v := range z {
		m = math.Max(m, v)
	}
	s := 0.0
	p := make([]float64, len(z))
	for i, v := range z {
		p[i] = math.Exp(v - m)
		s += p[i]
	}
	for i := range p {
		p[i] /= s
	}
	return p
}

// TestDRYByHand: the history a b c c b c y a b c (0 1 2 2 1 2 9 0 1 2).
// The context ends with "a b c"; it occurred at the start, followed by c
// (a repeat of length 3), and "b c" occurred before y (length 2), and "c"
// before b (length 1).
func TestDRYByHand(t *testing.T) {
	h := []int32{0, 1, 2, 2, 1, 2, 9, 0, 1, 2}
	x := make([]float32, 10)
	pen := func(chain string) []float64 {
		p := probsOf(t, chain, x, h)
		out := make([]float64, len(p))
		for i := range p {
			out[i] = math.Log(float64(p[i]) / float64(p[5])) // token 5 is never penalised
		}
		return out
	}
	check := func(chain string, want map[int]float64) {
		t.Helper()
		got := pen(chain)
		for i := range got {
			if math.Abs(got[i]+want[i]) > 1e-5 {
				t.Errorf("%s: token %d penalised by %.6f, want %.6f", chain, i, -got[i], want[i])
			}
		}
	}
	// allowed_length 2: c by 0.8·1.75^(3−2), y by 0.8·1.75^0.
	check("dry=0.8,base=1.75,allowed_length=2", map[int]float64{2: 0.8 * 1.75, 9: 0.8})
	// allowed_length 1: b too, by 0.8·1.75^0; c by 0.8·1.75², y by 0.8·1.75.
	check("dry=0.8,base=1.75,allowed_length=1", map[int]float64{1: 0.8, 2: 0.8 * 1.75 * 1.75, 9: 0.8 * 1.75})
	// y is a breaker: repetitions stop at it (R = 3: "a b c"), and y itself
	// is never penalised.
	check("dry=0.8,base=1.75,allowed_length=1,breakers=9", map[int]float64{1: 0.8, 2: 0.8 * 1.75 * 1.75})
	// The breaker "b c" (two tokens), last completed at the end: R = 0.
	check("dry=0.8,base=1.75,allowed_length=1,breakers=1 2", map[int]float64{})
	// last_n = 4 (c y a b c → y a b c... the window 9 0 1 2): no repeat.
	check("dry=0.8,base=1.75,allowed_length=1,last_n=4", map[int]float64{})
}

// TestMirostatAgainstReference checks both mirostat stages' truncation
// and their μ updates over a run of draws.
func TestMirostatAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, V := range []int{50, 3000, 70000} {
		for _, chain := range []string{"mirostat=5,eta=0.1,m=100", "mirostat_v2=5,eta=0.1", "mirostat=3,eta=0.5,m=20", "mirostat_v2=1.5,eta=0.3"} {
			st, err := Parse(chain)
			if err != nil {
				t.Fatal(err)
			}
			s, _ := New(st, 5)
			mu := 2 * st[0].f[0]
			for step := range 6 {
				x := makeLogits(distributions[step%2], V, r)
				p := make([]float32, V)
				if err := s.Probs(p, Input{Logits: x}); err != nil {
					t.Fatal(err)
				}
				ref := newRef(x)
				if st[0].kind == kMirostat {
					ref.mirostatCut(mu, st[0].n)
				} else {
					ref.mirostatV2Cut(mu)
				}
				ref.byID()
				if !ref.near {
					want := ref.dense()
					for i := range p {
						if (p[i] > 0) != (want[i] > 0) || math.Abs(float64(p[i])-want[i]) > 2e-5*want[i] {
							t.Fatalf("V=%d %s step %d: token %d: p = %v, reference %v", V, chain, step, i, p[i], want[i])
						}
					}
				}
				res, err := s.Sample(Input{Logits: x})
				if err != nil {
					t.Fatal(err)
				}
				lp := math.Log(ref.dense()[res.Token])
				if ref.near {
					lp = res.LogProb
				} else if math.Abs(res.LogProb-lp) > 1e-5 {
					t.Fatalf("V=%d %s: log-probability %v, reference %v", V, chain, res.LogProb, lp)
				}
				mu -= st[0].f[1] * (-lp/math.Ln2 - st[0].f[0])
			}
		}
	}
}

// TestMask checks the allowed-token bitmask.
func TestMask(t *testing.T) {
	x := []float32{5, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9}
	s, _ := New([]Stage{TopK(2)}, 1)
	p := make([]float32, len(x))
	allowed := []uint64{1<<1 | 1<<3 | 1<<4, 0} // tokens 1, 3, 4
	if err := s.Probs(p, Input{Logits: x, Allowed: allowed}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(kept(p)); got != "[3 4]" {
		t.Errorf("top_k=2 over the allowed tokens 1, 3, 4: kept %s, want [3 4]", got)
	}
	res, err := s.Sample(Input{Logits: x, Allowed: []uint64{0, 1}})
	if err != nil || res.Token != 64 {
		t.Errorf("only token 64 allowed: %v, %v", res.Token, err)
	}
	if _, err := s.Sample(Input{Logits: x, Allowed: []uint64{0, 0}}); !errors.Is(err, ErrValue) {
		t.Errorf("nothing allowed: err = %v, want ErrValue", err)
	}
	if _, err := s.Sample(Input{Logits: x, Allowed: []uint64{0}}); !errors.Is(err, ErrShape) {
		t.Errorf("short mask: err = %v, want ErrShape", err)
	}
}

// TestErrors checks that bad input gives an error naming the problem.
func TestErrors(t *testing.T) {
	s, _ := New(Default(), 1)
	nan := float32(math.NaN())
	cases := []struct {
		in   Input
		want string
		err  error
	}{
		{Input{}, "empty", ErrShape},
		{Input{Logits: []float32{0, nan, 1}}, "logit 1 is NaN", ErrValue},
		{Input{Logits: []float32{0, 1, float32(math.Inf(1))}}, "logit 2 is +Inf", ErrValue},
		{Input{Logits: []float32{negInf, negInf}}, "every logit is −Inf", ErrValue},
		{Input{Logits: []float32{0, 1}, History: []int32{1, 2}}, "history token 1 is 2", ErrValue},
		{Input{Logits: []float32{0, 1}, History: []int32{-1}}, "history token 0 is -1", ErrValue},
	}
	for _, c := range cases {
		_, err := s.Sample(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, c.err) {
			t.Errorf("%v: err = %v, want %q", c.in.Logits, err, c.want)
		}
	}
	b, _ := New([]Stage{LogitBias(Bias{7, 1})}, 1)
	if _, err := b.Sample(Input{Logits: []float32{0, 1}}); err == nil || !strings.Contains(err.Error(), "token 7") {
		t.Errorf("bias outside the vocabulary: err = %v", err)
	}
	o, _ := New([]Stage{Temp(1e-30)}, 1)
	if r, err := o.Sample(Input{Logits: []float32{1e10, 0, 1e10}}); err != nil || r.Token != 0 {
		t.Errorf("overflowing temperature acts as greedy: %v, %v", r, err)
	}
	for _, bad := range [][]Stage{{Dist(), TopK(3)}, {TopP(math.NaN())}, {Penalties(3, 0, 0, 0)}, {Temp(math.Inf(1))}, {{}}} {
		if _, err := New(bad, 1); !errors.Is(err, ErrValue) {
			t.Errorf("New(%v): err = %v, want ErrValue", bad, err)
		}
	}
	if err := s.Probs(make([]float32, 3), Input{Logits: []float32{1, 2}}); !errors.Is(err, ErrShape) {
		t.Errorf("Probs with a short dst: %v", err)
	}
}
