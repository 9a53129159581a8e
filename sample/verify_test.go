package sample

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

// TestVerifyPreservesTarget runs speculative verification many times
// with a draft distribution far from the target's and checks, by χ²,
// that the first token out and all tokens out follow the target's final
// distribution.
func TestVerifyPreservesTarget(t *testing.T) {
	const V, k = 12, 3
	r := rand.New(rand.NewPCG(31, 32))
	target := make([]float32, V)
	draftLogits := make([]float32, V)
	for i := range target {
		target[i] = float32(r.NormFloat64() * 1.5)
		draftLogits[i] = float32(r.NormFloat64() * 1.5)
	}
	near := make([]float32, V)
	for i := range near {
		near[i] = target[i] + float32(r.NormFloat64()*0.2)
	}
	for ci, chain := range []string{"dist", "top_k=6;temp=0.9", "top_p=0.8", "dist", "temp=1"} {
		draft := draftLogits
		if ci >= 3 {
			draft = near // mostly accepted: the bonus token
		}
		st, _ := Parse(chain)
		s, _ := New(st, 3)
		// p: the chain's final distribution on the target row (the same at
		// every position: no history stage).
		ref := newRef(target)
		for _, sg := range st {
			if !sg.kind.final() {
				ref.apply(sg, nil, 0)
			}
		}
		p := ref.dense()
		q := softmax64(f64(draft))
		in := VerifyInput{Target: make([]float32, 0, (k+1)*V), DraftProbs: make([]float32, 0, k*V), Draft: make([]int32, k)}
		for range k + 1 {
			in.Target = append(in.Target, target...)
		}
		for range k {
			for _, x := range q {
				in.DraftProbs = append(in.DraftProbs, float32(x))
			}
		}
		n := 60000
		if testing.Short() {
			n = 15000
		}
		first := make([]float64, V)
		all := make([]float64, V)
		nall, accepted := 0, 0
		for range n {
			for i := range in.Draft {
				in.Draft[i] = int32(drawFrom(q, r.Float64()))
			}
			v, err := s.Verify(in)
			if err != nil {
				t.Fatal(err)
			}
			accepted += v.Accepted
			out := append(append([]int32(nil), in.Draft[:v.Accepted]...), v.Token)
			first[out[0]]++
			for _, x := range out {
				all[x]++
				nall++
			}
		}
		for name, c := range map[string][]float64{"first": first, "all": all} {
			total := n
			if name == "all" {
				total = nall
			}
			stat, df := chi2(c, p, total)
			crit := distuv.ChiSquared{K: float64(df)}.Quantile(1 - 1e-6)
			if stat > crit {
				t.Errorf("%s, %s tokens: χ² = %.1f > %.1f (%d degrees of freedom)", chain, name, stat, crit, df)
			}
		}
		t.Logf("%s: %.2f draft tokens accepted per run of %d", chain, float64(accepted)/float64(n), k)
	}
}

func f64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

func drawFrom(p []float64, u float64) int {
	cum := 0.0
	for i, x := range p {
		cum += x
		if cum > u {
			return i
		}
	}
	return len(p) - 1
}

// TestVerifyCases checks the deterministic cases and the errors: a draft
// equal to the target is always accepted; a draft token the chain
// removes is always rejected; batches give the rows' results.
func TestVerifyCases(t *testing.T) {
	const V = 8
	x := []float32{1, 2, 3, 0, -1, 0.5, 2.5, 1.5}
	s, _ := New([]Stage{TopK(3)}, 9) // keeps tokens 2, 6, 1
	var p [V]float32
	if err := s.Probs(p[:], Input{Logits: x}); err != nil {
		t.Fatal(err)
	}
	in := VerifyInput{Target: append(append(append([]float32{}, x...), x...), x...), Draft: []int32{2, 6},
		DraftProbs: append(append([]float32{}, p[:]...), p[:]...)}
	for range 50 {
		v, err := s.Verify(in)
		if err != nil || v.Accepted != 2 || (v.Token != 2 && v.Token != 6 && v.Token != 1) {
			t.Fatalf("draft = target: %+v, %v", v, err)
		}
	}
	in.Draft = []int32{0, 6} // token 0 is outside the top 3
	in.DraftProbs[0] = 0.5
	for range 50 {
		v, err := s.Verify(in)
		if err != nil || v.Accepted != 0 || p[v.Token] == 0 {
			t.Fatalf("removed draft token: %+v, %v", v, err)
		}
	}
	// Batches: sequence i follows stream i.
	b1, _ := New([]Stage{TopK(3)}, 4, Threads(3))
	b2, _ := New([]Stage{TopK(3)}, 4)
	ins := []VerifyInput{in, in, in, in, in}
	out := make([]Verified, len(ins))
	if err := b1.VerifyBatch(ins, out); err != nil {
		t.Fatal(err)
	}
	for i := range ins {
		v, _ := b2.VerifyRow(i, ins[i])
		if v != out[i] {
			t.Errorf("sequence %d: batch %+v, alone %+v", i, out[i], v)
		}
	}
	bad := []VerifyInput{
		{Target: x, Draft: []int32{1}, DraftProbs: p[:]},
		{Target: append(x, x...), Draft: []int32{9}, DraftProbs: p[:]},
		{Target: append(x, x...), Draft: []int32{0}, DraftProbs: p[:]},
		{Target: append(x, x...), Draft: []int32{2}, DraftProbs: append([]float32{float32(math.NaN())}, p[1:]...)},
	}
	for i, b := range bad {
		if _, err := s.Verify(b); !errors.Is(err, ErrShape) && !errors.Is(err, ErrValue) {
			t.Errorf("bad input %d: err = %v", i, err)
		}
	}
	m, _ := New([]Stage{MirostatV2(5, 0.1)}, 1)
	if _, err := m.Verify(VerifyInput{Target: x}); !errors.Is(err, ErrValue) {
		t.Errorf("mirostat chain: err = %v", err)
	}
}
