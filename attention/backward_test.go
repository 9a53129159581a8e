package attention

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/xentlab/xent/internal/gradcheck"
)

// backwardCases are smaller than the forward ones (the reference and the
// finite differences are cubic), with the same coverage.
func backwardCases() []testCase {
	return []testCase{
		{name: "plain", sh: Shape{Batch: 2, Heads: 2, Queries: 7, Keys: 9, Dim: 5}, sd: 1},
		{name: "gqa dv", sh: Shape{Batch: 1, Heads: 4, KVHeads: 2, Queries: 5, Keys: 8, Dim: 3, ValueDim: 6}, sd: 1},
		{name: "mqa", sh: Shape{Batch: 1, Heads: 3, KVHeads: 1, Queries: 4, Keys: 6, Dim: 4}, sd: 1},
		{name: "single key", sh: Shape{Batch: 1, Heads: 2, Queries: 3, Keys: 1, Dim: 4}, sd: 1},
		{name: "causal S<T", sh: Shape{Batch: 1, Heads: 2, Queries: 4, Keys: 9, Dim: 4}, cfg: Config{Causal: true}, sd: 1},
		{name: "causal S>T", sh: Shape{Batch: 1, Heads: 2, Queries: 7, Keys: 4, Dim: 4}, cfg: Config{Causal: true}, sd: 1},
		{name: "window", sh: Shape{Batch: 1, Heads: 2, Queries: 8, Keys: 8, Dim: 4}, cfg: Config{Window: 3}, sd: 1},
		{name: "causal window padding", sh: Shape{Batch: 2, Heads: 2, Queries: 6, Keys: 10, Dim: 4}, cfg: Config{Causal: true, Window: 4}, pad: true, sd: 1},
		{name: "bias", sh: Shape{Batch: 2, Heads: 2, Queries: 5, Keys: 7, Dim: 4}, bias: "bhst", sd: 1},
		{name: "softcap scale", sh: Shape{Batch: 1, Heads: 2, Queries: 5, Keys: 7, Dim: 4}, cfg: Config{Softcap: 1.5, Scale: 0.8}, sd: 1.5},
		{name: "selective", sh: Shape{Batch: 1, Heads: 2, Queries: 6, Keys: 6, Dim: 4}, cfg: Config{Causal: true, Selective: true, Beta: 0.3}, sd: 1},
		{name: "sigmoid", sh: Shape{Batch: 1, Heads: 2, Queries: 5, Keys: 7, Dim: 4}, cfg: Config{Normalizer: Sigmoid, Causal: true}, bias: "st", sd: 1},
		{name: "softplus", sh: Shape{Batch: 1, Heads: 2, Queries: 5, Keys: 7, Dim: 4}, cfg: Config{Normalizer: Softplus, LengthBase: 4, Softcap: 2}, pad: true, sd: 1},
	}
}

// largeBackwardCases exercise several key blocks and strips of the float32
// path, against the materialized reference only.
func largeBackwardCases() []testCase {
	return []testCase{
		{name: "blocks causal", sh: Shape{Batch: 1, Heads: 2, KVHeads: 1, Queries: 200, Keys: 300, Dim: 20, ValueDim: 9}, cfg: Config{Causal: true}, sd: 1},
		{name: "blocks masks", sh: Shape{Batch: 2, Heads: 2, Queries: 130, Keys: 270, Dim: 8}, cfg: Config{Window: 100, Softcap: 3}, bias: "hst", pad: true, sd: 1},
		{name: "blocks selective", sh: Shape{Batch: 1, Heads: 2, Queries: 100, Keys: 260, Dim: 8}, cfg: Config{Causal: true, Selective: true, Beta: 1.5}, sd: 1},
		{name: "blocks sigmoid", sh: Shape{Batch: 1, Heads: 2, Queries: 100, Keys: 260, Dim: 8}, cfg: Config{Normalizer: Sigmoid}, sd: 1},
		{name: "blocks softplus", sh: Shape{Batch: 1, Heads: 2, Queries: 100, Keys: 260, Dim: 8}, cfg: Config{Normalizer: Softplus, LengthBase: 2}, sd: 1},
	}
}

func randDOut(rng *rand.Rand, n int) []float64 {
	d := make([]float64, n)
	for i := range d {
		d[i] = float64(float32(rng.NormFloat64()))
	}
	return d
}

// TestBackwardFiniteDifferences: the materialized reference's analytic
// gradient and both paths' gradients agree with central differences of
// the reference's forward pass.
func TestBackwardFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, tc := range backwardCases() {
		t.Run(tc.name, func(t *testing.T) {
			pr := tc.build(rng)
			B, H, _, S, _, _, Dv := pr.dims()
			dOut := randDOut(rng, B*H*S*Dv)
			q, k, v := pr.q, pr.k, pr.v
			numQ := gradcheck.Numeric(func(x []float64) float64 { return pr.refLoss(x, k, v, dOut) }, append([]float64(nil), q...), 1e-6)
			numK := gradcheck.Numeric(func(x []float64) float64 { return pr.refLoss(q, x, v, dOut) }, append([]float64(nil), k...), 1e-6)
			numV := gradcheck.Numeric(func(x []float64) float64 { return pr.refLoss(q, k, x, dOut) }, append([]float64(nil), v...), 1e-6)
			rq, rk, rv, rbeta := pr.refBackward(dOut)
			for _, c := range []struct {
				name      string
				got, want []float64
			}{{"ref dq", rq, numQ}, {"ref dk", rk, numK}, {"ref dv", rv, numV}} {
				if err := gradcheck.Compare(c.got, c.want, 1e-7, 1e-6); err != nil {
					t.Errorf("%s: %v", c.name, err)
				}
			}
			if tc.cfg.Selective {
				// ∂L/∂β by a central difference in β.
				h := 1e-6
				pp, pm := *pr, *pr
				pp.cfg.Beta += h
				pm.cfg.Beta -= h
				num := (pp.refLoss(q, k, v, dOut) - pm.refLoss(q, k, v, dOut)) / (2 * h)
				if math.Abs(rbeta-num) > 1e-7+1e-6*math.Abs(num) {
					t.Errorf("ref dβ %v, numeric %v", rbeta, num)
				}
			}

			// float64 path.
			out64 := Output[float64]{Out: make([]float64, len(dOut)), LSE: make([]float64, B*H*S)}
			if err := Forward(tc.cfg, pr.in64(), out64); err != nil {
				t.Fatal(err)
			}
			g64 := Grad[float64]{DQ: make([]float64, len(q)), DK: make([]float64, len(k)), DV: make([]float64, len(v))}
			if err := Backward(tc.cfg, pr.in64(), out64, dOut, &g64); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				name      string
				got, want []float64
			}{{"f64 dq", g64.DQ, numQ}, {"f64 dk", g64.DK, numK}, {"f64 dv", g64.DV, numV}} {
				if err := gradcheck.Compare(c.got, c.want, 1e-7, 1e-6); err != nil {
					t.Errorf("%s: %v", c.name, err)
				}
			}
			if tc.cfg.Selective && math.Abs(g64.DBeta-rbeta) > 1e-10*(1+math.Abs(rbeta)) {
				t.Errorf("f64 dβ %v, reference %v", g64.DBeta, rbeta)
			}

			// float32 path, against the reference's analytic gradient.
			checkBackward32(t, pr, dOut, rq, rk, rv, rbeta)
		})
	}
}

// checkBackward32 runs the float32 forward and backward passes and
// compares the gradients with the reference's.
func checkBackward32(t *testing.T, pr *problem, dOut, rq, rk, rv []float64, rbeta float64) {
	t.Helper()
	B, H, _, S, _, _, _ := pr.dims()
	in := pr.in32()
	out := Output[float32]{Out: make([]float32, len(dOut)), LSE: make([]float32, B*H*S)}
	if err := Forward(pr.cfg, in, out); err != nil {
		t.Fatal(err)
	}
	g := Grad[float32]{DQ: make([]float32, len(pr.q)), DK: make([]float32, len(pr.k)), DV: make([]float32, len(pr.v))}
	if err := Backward(pr.cfg, in, out, to32(dOut), &g); err != nil {
		t.Fatal(err)
	}
	// Each gradient entry is a sum of products of float32 values carrying
	// relative errors of about 1e-6·(1 + |s|); compare with a tolerance
	// scaled by the entry's magnitude scale: the largest |entry|, or the
	// size of the terms it sums when they cancel (dS = P∘(dP − D) with dP
	// and D of the order of |dOut|·|v|).
	tol := 3e-6 * (1 + pr.maxScore())
	terms := maxAbs(dOut) * maxAbs(pr.v) * (maxAbs(pr.q) + maxAbs(pr.k)) * pr.refScale()
	for _, c := range []struct {
		name      string
		got, want []float64
		mag       float64
	}{{"f32 dq", to64(g.DQ), rq, terms}, {"f32 dk", to64(g.DK), rk, terms}, {"f32 dv", to64(g.DV), rv, maxAbs(dOut)}} {
		if err := closeTo(c.got, c.want, tol*max(maxAbs(c.want), 1e-3*c.mag), 0); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	if pr.cfg.Selective && math.Abs(g.DBeta-rbeta) > tol*(1+math.Abs(rbeta)) {
		t.Errorf("f32 dβ %v, reference %v", g.DBeta, rbeta)
	}
}

func TestBackwardLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("cubic reference")
	}
	rng := rand.New(rand.NewPCG(13, 14))
	for _, tc := range largeBackwardCases() {
		t.Run(tc.name, func(t *testing.T) {
			pr := tc.build(rng)
			B, H, _, S, _, _, Dv := pr.dims()
			dOut := randDOut(rng, B*H*S*Dv)
			rq, rk, rv, rbeta := pr.refBackward(dOut)
			checkBackward32(t, pr, dOut, rq, rk, rv, rbeta)
		})
	}
}

// TestBackwardSameBits: the thread count never changes the gradients'
// bits.
func TestBackwardSameBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	tc := testCase{sh: Shape{Batch: 2, Heads: 4, KVHeads: 2, Queries: 150, Keys: 200, Dim: 12}, cfg: Config{Causal: true, Softcap: 4}, pad: true, sd: 1}
	pr := tc.build(rng)
	in := pr.in32()
	B, H, _, S, _, _, Dv := pr.dims()
	out := Output[float32]{Out: make([]float32, B*H*S*Dv), LSE: make([]float32, B*H*S)}
	if err := Forward(tc.cfg, in, out); err != nil {
		t.Fatal(err)
	}
	dOut := to32(randDOut(rng, len(out.Out)))
	var ref Grad[float32]
	for x, th := range []int{1, 2, 3, 5} {
		c := tc.cfg
		c.Threads = th
		g := Grad[float32]{DQ: make([]float32, len(in.Q)), DK: make([]float32, len(in.K)), DV: make([]float32, len(in.V))}
		if err := Backward(c, in, out, dOut, &g); err != nil {
			t.Fatal(err)
		}
		if x == 0 {
			ref = g
			continue
		}
		for _, p := range [][2][]float32{{g.DQ, ref.DQ}, {g.DK, ref.DK}, {g.DV, ref.DV}} {
			for i := range p[0] {
				if math.Float32bits(p[0][i]) != math.Float32bits(p[1][i]) {
					t.Fatalf("threads %d: entry %d: %v, want %v", th, i, p[0][i], p[1][i])
				}
			}
		}
	}
}

func TestBackwardErrors(t *testing.T) {
	sh := Shape{Batch: 1, Heads: 2, Queries: 3, Keys: 4, Dim: 2}
	in := Input[float32]{Q: make([]float32, 12), K: make([]float32, 16), V: make([]float32, 16), Shape: sh}
	out := Output[float32]{Out: make([]float32, 12), LSE: make([]float32, 6)}
	g := func() *Grad[float32] {
		return &Grad[float32]{DQ: make([]float32, 12), DK: make([]float32, 16), DV: make([]float32, 16)}
	}
	if err := Backward(Config{}, in, Output[float32]{Out: out.Out}, make([]float32, 12), g()); !errors.Is(err, ErrShape) {
		t.Errorf("missing lse: %v", err)
	}
	if err := Backward(Config{}, in, out, make([]float32, 11), g()); !errors.Is(err, ErrShape) || !contains(err.Error(), "dOut") {
		t.Errorf("short dOut: %v", err)
	}
	gg := g()
	gg.DK = gg.DK[:3]
	if err := Backward(Config{}, in, out, make([]float32, 12), gg); !errors.Is(err, ErrShape) || !contains(err.Error(), "dK") {
		t.Errorf("short dK: %v", err)
	}
	d := make([]float32, 12)
	d[4] = float32(math.NaN())
	if err := Backward(Config{}, in, out, d, g()); !errors.Is(err, ErrValue) || !contains(err.Error(), "dOut[0, 0, 2, 0]") {
		t.Errorf("NaN dOut: %v", err)
	}
	bad := Output[float32]{Out: out.Out, LSE: []float32{0, 0, float32(math.NaN()), 0, 0, 0}}
	if err := Backward(Config{}, in, bad, make([]float32, 12), g()); !errors.Is(err, ErrValue) || !contains(err.Error(), "lse[2]") {
		t.Errorf("NaN lse: %v", err)
	}
}
