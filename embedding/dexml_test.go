package embedding

import (
	"math"
	"testing"
)

// dexmlInput scores queries against a pool of classes along the axes, so
// that s_j = cos/τ = x_j/τ for a unit query x: scores can be chosen.
func dexmlInput(queries [][]float64, rel []float64) Input[float64] {
	m := len(queries[0])
	cls := make([]float64, m*m)
	for j := range m {
		cls[j*m+j] = 1
	}
	var z []float64
	for _, q := range queries {
		z = append(z, q...)
	}
	return Input[float64]{Embeddings: z, Dim: m, Classes: cls, Relevance: rel}
}

// refDecoupled is −Σ_p w_p·[s_p − log(e^{s_p} + Σ_{n∉P} e^{s_n})].
func refDecoupled(s []float64, pos []int, w []float64) float64 {
	isPos := map[int]bool{}
	for _, p := range pos {
		isPos[p] = true
	}
	var neg float64
	for j, v := range s {
		if !isPos[j] {
			neg += math.Exp(v)
		}
	}
	var l float64
	for t, p := range pos {
		l += w[t] * (math.Log(math.Exp(s[p])+neg) - s[p])
	}
	return l
}

// unitVec returns x/‖x‖ twice, as two slices (the query, and a copy to
// turn into scores).
func unitVec(x []float64) ([]float64, []float64) {
	var s float64
	for _, v := range x {
		s += v * v
	}
	u := make([]float64, len(x))
	for i, v := range x {
		u[i] = v / math.Sqrt(s)
	}
	return u, append([]float64(nil), u...)
}

// TestDecoupledOfficialWeights: positives are the entries with relevance
// above 1e-8, weighted r_p/Σr (the expectation of the official one-draw
// sampling), and the loss is divided by the whole batch, queries without
// a positive included.
func TestDecoupledOfficialWeights(t *testing.T) {
	const tau = 0.5
	q0, s0 := unitVec([]float64{0.9, 0.3, 0.5, 0.1, 0.2})
	q1, _ := unitVec([]float64{0.1, 0.2, 0.3, 0.4, 0.5})
	rel := []float64{
		2, 1, 0, 1e-9, 1e-8, // query 0: positives 0 (r 2) and 1 (r 1); 3 and 4 are negatives
		0, 0, 0, 0, 0, // query 1: no positive
	}
	for j := range s0 {
		s0[j] /= tau
	}
	want := refDecoupled(s0, []int{0, 1}, []float64{2.0 / 3, 1.0 / 3}) / 2
	l := &DecoupledSoftmax{Temperature: tau, Normalize: true}
	got, err := l.Eval64(dexmlInput([][]float64{q0, q1}, rel), Output[float64]{})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-want) > 1e-12*want {
		t.Errorf("loss %v, want %v (relevance weights, 1e-8 threshold, mean over the batch)", got, want)
	}
	if _, err := l.Eval64(dexmlInput([][]float64{q0}, []float64{1, -1, 0, 0, 0}), Output[float64]{}); err == nil {
		t.Error("negative relevance accepted")
	}
}

// TestDecoupledSampling: with Sample, each evaluation draws one positive
// per query with probability r_p/Σr and scores it with the other
// positives at −100; the draws average to the deterministic loss, the
// undrawn positive gets no gradient, and the same seed gives the same
// draws.
func TestDecoupledSampling(t *testing.T) {
	const tau = 0.5
	q, s := unitVec([]float64{0.9, 0.3, 0.5, 0.1, 0.2})
	for j := range s {
		s[j] /= tau
	}
	rel := []float64{3, 1, 0, 0, 0}
	in := dexmlInput([][]float64{q}, rel)
	in.Classes = append([]float64(nil), in.Classes...)
	// The two possible draws, the undrawn positive at −100 among the
	// negatives.
	with := func(p, other int) float64 {
		r := append([]float64(nil), s...)
		r[other] = -100
		return refDecoupled(r, []int{p}, []float64{1})
	}
	l0, l1 := with(0, 1), with(1, 0)
	l := &DecoupledSoftmax{Temperature: tau, Normalize: true, Sample: true, Seed: 7}
	const draws = 4000
	var n0 int
	var mean float64
	for range draws {
		g := make([]float64, len(in.Embeddings))
		gc := make([]float64, len(in.Classes))
		v, err := l.Eval64(in, Output[float64]{Grad: g, GradClasses: gc})
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case math.Abs(v-l0) < 1e-12:
			n0++
			if gc[1*5+1] != 0 {
				t.Fatal("the undrawn positive's class got a gradient through its score")
			}
		case math.Abs(v-l1) < 1e-12:
		default:
			t.Fatalf("sampled loss %v is neither draw (%v, %v)", v, l0, l1)
		}
		mean += v / draws
	}
	if f := float64(n0) / draws; math.Abs(f-0.75) > 0.03 {
		t.Errorf("positive 0 drawn %v of the time, want 3/4", f)
	}
	det, _ := (&DecoupledSoftmax{Temperature: tau, Normalize: true}).Eval64(in, Output[float64]{})
	if math.Abs(mean-det) > 0.03*det {
		t.Errorf("mean of the draws %v, the deterministic expectation %v", mean, det)
	}
	a := &DecoupledSoftmax{Temperature: tau, Normalize: true, Sample: true, Seed: 11}
	b := &DecoupledSoftmax{Temperature: tau, Normalize: true, Sample: true, Seed: 11}
	for range 20 {
		va, _ := a.Eval64(in, Output[float64]{})
		vb, _ := b.Eval64(in, Output[float64]{})
		if va != vb {
			t.Fatal("the same seed drew differently")
		}
	}
}

// TestSoftTopKOfficial: the num_pos mode (k = 0: ⌈Σ relevance⌉ per
// query), the division by the whole batch, and sampling: at most K
// positives drawn, the others at −100 with no gradient; with no more
// positives than K, sampling changes nothing.
func TestSoftTopKOfficial(t *testing.T) {
	const tau, alpha = 0.5, 2.0
	q, _ := unitVec([]float64{0.9, 0.3, 0.5, 0.1, 0.2, 0.4})
	empty, _ := unitVec([]float64{1, 1, 1, 1, 1, 1})
	rel := []float64{0.7, 0.9, 0.6, 0, 0, 0, 0, 0, 0, 0, 0, 0} // Σ = 2.2: k = 3
	in := dexmlInput([][]float64{q, empty}, rel)
	numPos, err := (&SoftTopK{K: 0, Alpha: alpha, Temperature: tau, Normalize: true}).Eval64(in, Output[float64]{})
	if err != nil {
		t.Fatal(err)
	}
	k3, _ := (&SoftTopK{K: 3, Alpha: alpha, Temperature: tau, Normalize: true}).Eval64(in, Output[float64]{})
	if numPos != k3 {
		t.Errorf("k = 0 (num_pos, ⌈2.2⌉ = 3): %v, want k = 3's %v", numPos, k3)
	}
	// Query 1 has no positive: the batch of two halves query 0's loss.
	alone, _ := (&SoftTopK{K: 3, Alpha: alpha, Temperature: tau, Normalize: true}).Eval64(dexmlInput([][]float64{q}, rel[:6]), Output[float64]{})
	if math.Abs(k3-alone/2) > 1e-15 {
		t.Errorf("batch of two %v, want half of the lone query's %v", k3, alone)
	}
	// Sampling with K = 3 ≥ |P| = 3 draws every positive: no change.
	s3 := &SoftTopK{K: 3, Alpha: alpha, Temperature: tau, Normalize: true, Sample: true, Seed: 5}
	if v, _ := s3.Eval64(in, Output[float64]{}); math.Abs(v-k3) > 1e-15 {
		t.Errorf("sampling all positives: %v, want %v", v, k3)
	}
	// K = 2 < |P| = 3: each evaluation is the loss of the two drawn
	// positives with the third at −100 (no gradient to it).
	s2 := &SoftTopK{K: 2, Alpha: alpha, Temperature: tau, Normalize: true, Sample: true, Seed: 5}
	scores := make([]float64, 6)
	for j := range scores {
		scores[j] = q[j] / tau
	}
	subset := map[float64]int{}
	for _, drop := range []int{0, 1, 2} {
		row := append([]float64(nil), scores...)
		row[drop] = -100
		var pos []int
		for _, p := range []int{0, 1, 2} {
			if p != drop {
				pos = append(pos, p)
			}
		}
		v, _ := softTopK(row, pos, 2, alpha)
		subset[v/2] = drop
	}
	seen := map[int]bool{}
	for range 200 {
		gc := make([]float64, len(in.Classes))
		v, err := s2.Eval64(in, Output[float64]{GradClasses: gc})
		if err != nil {
			t.Fatal(err)
		}
		matched := false
		for w, drop := range subset {
			if math.Abs(v-w) < 1e-12 {
				matched = true
				seen[drop] = true
				for k := range 6 {
					if gc[drop*6+k] != 0 {
						t.Fatal("the undrawn positive's class got a gradient")
					}
				}
			}
		}
		if !matched {
			t.Fatalf("sampled loss %v is no two-positive subset's", v)
		}
	}
	if len(seen) != 3 {
		t.Errorf("only the subsets dropping %v were drawn", seen)
	}
}

// TestSoftTopKFarAboveThreshold: a positive far above the threshold (u =
// α(s + t) ≈ 58) keeps its tiny gradient −α·σ(−u)·(1 − v_p/S)·w, where
// 1 − σ(u) rounds to exactly 0.
func TestSoftTopKFarAboveThreshold(t *testing.T) {
	s := []float64{30, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	const k, alpha = 2.0, 2.0
	_, g := softTopK(s, []int{0}, k, alpha)
	tt := softTopKThreshold(s, k, alpha)
	u := alpha * (s[0] + tt)
	if 1-1/(1+math.Exp(-u)) != 0 {
		t.Fatalf("u = %v is not far enough for the test", u)
	}
	sig := func(z float64) float64 { return math.Exp(-math.Log1p(math.Exp(-z))) }
	var S float64
	for _, x := range s {
		v := alpha * (x + tt)
		S += alpha * sig(v) * sig(-v)
	}
	vp := alpha * sig(u) * sig(-u)
	want := -alpha * sig(-u) * (1 - vp/S)
	if g[0] == 0 || math.Abs(g[0]-want) > 1e-12*math.Abs(want) {
		t.Errorf("gradient at the positive %v, want %v", g[0], want)
	}
}
