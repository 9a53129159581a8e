package sample

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// refUniforms returns the first n uniforms of stream row for seed, from
// the stream's definition (ChaCha8 keyed by seed, row and the version
// tag; the top 53 bits of each output).
func refUniforms(seed uint64, row, n int) []float64 {
	var key [32]byte
	for i := range 8 {
		key[i] = byte(seed >> (8 * i))
		key[8+i] = byte(uint64(row) >> (8 * i))
	}
	copy(key[16:], "xent/sample v1")
	g := rand.NewChaCha8(key)
	u := make([]float64, n)
	for i := range u {
		u[i] = float64(g.Uint64()>>11) / (1 << 53)
	}
	return u
}

// distribution names the shapes of logits the tests draw.
var distributions = []string{"gauss1", "gauss3", "peaked", "flat", "tied", "masked", "wide"}

func makeLogits(kind string, V int, r *rand.Rand) []float32 {
	x := make([]float32, V)
	for i := range x {
		switch kind {
		case "gauss1":
			x[i] = float32(r.NormFloat64())
		case "gauss3", "masked":
			x[i] = float32(r.NormFloat64() * 3)
		case "peaked":
			x[i] = float32(r.NormFloat64())
		case "flat":
			x[i] = 0.5
		case "tied":
			x[i] = float32(r.IntN(3))
		case "wide":
			x[i] = float32(r.NormFloat64() * 60)
		}
	}
	switch kind {
	case "peaked":
		for k := 0; k < 1+V/1000; k++ {
			x[r.IntN(V)] = float32(12 + r.Float64()*4)
		}
	case "masked":
		for i := range x {
			if r.IntN(4) == 0 {
				x[i] = negInf
			}
		}
		x[r.IntN(V)] = 1 // keep one candidate
	}
	return x
}

// history returns a random history with repetitions (for the penalties
// and DRY): a few phrases over a small set of tokens, repeated.
func makeHistory(V, n int, r *rand.Rand) []int32 {
	if n == 0 {
		return nil
	}
	k := min(V, 12)
	var phrases [][]int32
	for range 3 {
		p := make([]int32, 2+r.IntN(5))
		for i := range p {
			p[i] = int32(r.IntN(k))
		}
		phrases = append(phrases, p)
	}
	var h []int32
	for len(h) < n {
		if r.IntN(3) == 0 {
			h = append(h, int32(r.IntN(V)))
		} else {
			h = append(h, phrases[r.IntN(len(phrases))]...)
		}
	}
	return h[:n]
}

// compareChain runs chain (with Dist) on x through Probs and through the
// reference, and reports whether the comparison was made (false when the
// reference flagged a decision within rounding).
func compareChain(t *testing.T, name string, chain []Stage, x []float32, hist []int32, seed uint64) bool {
	t.Helper()
	s, err := New(chain, seed)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return compareWith(t, name, s, x, hist, seed)
}

// compareWith is compareChain with a sampler of the chain, restarted
// from seed (its buffers are reused).
func compareWith(t *testing.T, name string, s *Sampler, x []float32, hist []int32, seed uint64) bool {
	t.Helper()
	s.Reset(seed)
	chain := s.chain[:len(s.chain)-1]
	got := make([]float32, len(x))
	if err := s.Probs(got, Input{Logits: x, History: hist}); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	ref := newRef(x)
	nx := 0
	for _, sg := range chain {
		if sg.kind == kXTC {
			nx++
		}
	}
	us := refUniforms(seed, 0, nx)
	for _, sg := range chain {
		u := 0.0
		if sg.kind == kXTC {
			u, us = us[0], us[1:]
		}
		ref.apply(sg, hist, u)
		if len(ref.c) == 0 {
			t.Fatalf("%s: the reference has no candidate left", name)
		}
	}
	if ref.near {
		if testing.Verbose() {
			t.Logf("skipped (within rounding): %s", name)
		}
		return false
	}
	if ref.lo != ref.hi {
		// The cut may fall anywhere in [lo, hi] of the stage's order:
		// take the length our result has, if it is in the range.
		n := 0
		for _, p := range got {
			if p > 0 {
				n++
			}
		}
		if n < ref.lo || n > ref.hi {
			t.Fatalf("%s: %d tokens kept, the reference allows %d to %d", name, n, ref.lo, ref.hi)
		}
		ref.c = append([]refCand(nil), ref.order[:n]...)
		ref.byID()
	}
	want := ref.dense()
	kept := make([]bool, len(x))
	for _, c := range ref.c {
		kept[c.id] = true
	}
	for i, p := range got {
		w := want[i]
		if (p > 0) != kept[i] && !(w < 1e-30 && p == 0) {
			t.Fatalf("%s: token %d: probability %g, reference %g (kept %v); reference keeps %d tokens",
				name, i, p, w, kept[i], len(ref.c))
		}
		// float32 rounding: a few ulp of the result, plus the logits'
		// relative rounding (≈ 1e-6 after a temperature) times |ln p|.
		if math.Abs(float64(p)-w) > (2e-5+2e-6*math.Abs(math.Log(w)))*w && w > 1e-30 {
			t.Fatalf("%s: token %d: probability %g, reference %g", name, i, p, w)
		}
	}
	return true
}

// stageCases are single stages with a range of parameters.
func stageCases() []Stage {
	return []Stage{
		TopK(1), TopK(5), TopK(40), TopK(0), TopK(40).MinKeep(50), TopK(1 << 20),
		TopP(0.95), TopP(0.5), TopP(0.05), TopP(0.999), TopP(0), TopP(1), TopP(0.9).MinKeep(30),
		MinP(0.05), MinP(0.5), MinP(1), MinP(2), MinP(0.1).MinKeep(20),
		Typical(0.9), Typical(0.5), Typical(0.2).MinKeep(5), Typical(0),
		TopNSigma(1), TopNSigma(0.3), TopNSigma(2).MinKeep(10),
		XTC(1, 0.1), XTC(1, 0.01), XTC(0.5, 0.05).MinKeep(3),
		Temp(0.7), Temp(1.5), Temp(0), DynTemp(0.8, 0.5, 1), DynTemp(1, 1, 2),
		Penalties(64, 1.3, 0.1, 0.2), Penalties(-1, 0.8, 0, 0.5),
		DRY(DRYParams{Multiplier: 0.8, Base: 1.75, AllowedLength: 2, LastN: -1, Breakers: [][]int32{{3}, {4, 5}}}),
		DRY(DRYParams{Multiplier: 2, Base: 3, AllowedLength: 1, LastN: 40}),
		LogitBias(Bias{0, 3}, Bias{2, float32(math.Inf(-1))}, Bias{1, -1.5}),
	}
}

// TestStagesAgainstReference compares every stage, alone, with the
// float64 reference on every shape of logits, for vocabularies from 1 to
// 262 144.
func TestStagesAgainstReference(t *testing.T) {
	sizes := []int{1, 2, 3, 7, 16, 17, 100, 1000, 4097, 70001, 262144}
	if testing.Short() {
		sizes = sizes[:9]
	} else if !hasAVX512 {
		// The portable kernels are checked bit for bit against the
		// assembly (TestKernelsMatchPortable); 262 144 would only repeat
		// 70 001, slowly.
		sizes = sizes[:10]
	}
	r := rand.New(rand.NewPCG(1, 2))
	made, skipped := 0, 0
	for _, V := range sizes {
		cases := stageCases()
		if V > 5000 {
			// Large rows: one parameter of each stage kind.
			cases = []Stage{TopK(40), TopP(0.95), TopP(0.5).MinKeep(3000), MinP(0.05), Typical(0.9), TopNSigma(1), XTC(1, 0.05), Temp(0.7), DynTemp(0.8, 0.5, 1), Penalties(64, 1.3, 0.1, 0.2)}
		}
		samplers := make([]*Sampler, len(cases))
		for i, sg := range cases {
			samplers[i], _ = New([]Stage{sg}, 0)
		}
		for _, dist := range distributions {
			x := makeLogits(dist, V, r)
			hist := makeHistory(V, r.IntN(120), r)
			for ci, sg := range cases {
				name := fmt.Sprintf("V=%d %s %s", V, dist, sg)
				if sg.kind == kLogitBias && V < 3 {
					continue
				}
				if compareWith(t, name, samplers[ci], x, hist, uint64(ci)) {
					made++
				} else {
					skipped++
				}
			}
		}
	}
	t.Logf("%d comparisons, %d skipped as within rounding of a threshold", made, skipped)
	if skipped*20 > made {
		t.Errorf("%d of %d comparisons skipped", skipped, made+skipped)
	}
}

// TestTopPMisleadingRows checks top-p on long rows built to mislead the
// estimate of the crossing: heavy entries only in the chunks the
// estimate samples, only in those it skips, a single huge entry, and
// ties at the crossing.
func TestTopPMisleadingRows(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	sizes := []int{70001, 262144}
	if !hasAVX512 {
		sizes = sizes[:1] // as in TestStagesAgainstReference
	}
	for _, V := range sizes {
		nb := (V + chunkLen - 1) / chunkLen
		stride := max(2, (nb+31)/32)
		for _, kind := range []string{"sampled", "skipped", "one", "ties", "steps"} {
			x := make([]float32, V)
			for i := range x {
				x[i] = float32(r.NormFloat64())
			}
			for i := range x {
				c := i / chunkLen
				switch kind {
				case "sampled":
					if c%stride == 0 {
						x[i] += 5
					}
				case "skipped":
					if c%stride == 1 && r.IntN(4) == 0 {
						x[i] += 5
					}
				case "ties":
					x[i] = float32(r.IntN(5))
				case "steps":
					x[i] = float32(int(x[i] * 4))
				}
			}
			if kind == "one" {
				x[r.IntN(V)] = 40
			}
			for _, p := range []float64{0.3, 0.9, 0.99} {
				for _, mk := range []int{0, 5000} {
					if mk > 0 && p != 0.3 {
						continue
					}
					name := fmt.Sprintf("V=%d %s top_p=%g min_keep=%d", V, kind, p, mk)
					if !compareChain(t, name, []Stage{TopP(p).MinKeep(mk)}, x, nil, 1) {
						t.Logf("%s: within rounding, not compared", name)
					}
				}
			}
		}
	}
}
