package attention

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// testCase is one configuration of the reference comparisons.
type testCase struct {
	name string
	sh   Shape
	cfg  Config
	sd   float64 // standard deviation of q, k, v
	bias string  // "", "st", "hst", "bhst": bias layout, with some −Inf entries
	pad  bool    // random key padding (the first key of each batch kept)
}

func sigBias(b float64) *float64 { return &b }

// forwardCases covers every mask kind, GQA/MQA, S ≠ T, head dimensions
// off the vector width, a single key, peaked and long rows, the split
// (decoding) path and each normalizer.
func forwardCases() []testCase {
	return []testCase{
		{name: "plain", sh: Shape{Batch: 2, Heads: 3, Queries: 17, Keys: 23, Dim: 8}, sd: 1},
		{name: "d=5 dv=3", sh: Shape{Batch: 1, Heads: 2, Queries: 9, Keys: 11, Dim: 5, ValueDim: 3}, sd: 1},
		{name: "d=13 gqa", sh: Shape{Batch: 2, Heads: 6, KVHeads: 2, Queries: 7, Keys: 19, Dim: 13}, sd: 1},
		{name: "mqa d=33", sh: Shape{Batch: 1, Heads: 4, KVHeads: 1, Queries: 5, Keys: 40, Dim: 33, ValueDim: 17}, sd: 1},
		{name: "single key", sh: Shape{Batch: 2, Heads: 2, Queries: 3, Keys: 1, Dim: 4}, sd: 1},
		{name: "single query", sh: Shape{Batch: 1, Heads: 2, Queries: 1, Keys: 50, Dim: 16}, sd: 1},
		{name: "causal S<T", sh: Shape{Batch: 1, Heads: 2, Queries: 20, Keys: 300, Dim: 12}, cfg: Config{Causal: true}, sd: 1},
		{name: "causal S>T", sh: Shape{Batch: 1, Heads: 2, Queries: 30, Keys: 10, Dim: 6}, cfg: Config{Causal: true}, sd: 1},
		{name: "causal S=T long", sh: Shape{Batch: 1, Heads: 1, Queries: 600, Keys: 600, Dim: 24}, cfg: Config{Causal: true}, sd: 1},
		{name: "window", sh: Shape{Batch: 1, Heads: 2, Queries: 40, Keys: 40, Dim: 8}, cfg: Config{Window: 5}, sd: 1},
		{name: "causal window", sh: Shape{Batch: 1, Heads: 2, Queries: 300, Keys: 700, Dim: 8}, cfg: Config{Causal: true, Window: 270}, sd: 1},
		{name: "padding", sh: Shape{Batch: 3, Heads: 2, Queries: 8, Keys: 300, Dim: 8}, pad: true, sd: 1},
		{name: "bias st", sh: Shape{Batch: 2, Heads: 2, Queries: 6, Keys: 9, Dim: 4}, bias: "st", sd: 1},
		{name: "bias hst causal", sh: Shape{Batch: 2, Heads: 3, KVHeads: 1, Queries: 6, Keys: 9, Dim: 4}, bias: "hst", cfg: Config{Causal: true}, sd: 1},
		{name: "bias bhst", sh: Shape{Batch: 2, Heads: 2, Queries: 5, Keys: 270, Dim: 7}, bias: "bhst", sd: 1},
		{name: "softcap", sh: Shape{Batch: 1, Heads: 2, Queries: 10, Keys: 30, Dim: 8}, cfg: Config{Softcap: 2}, sd: 2},
		{name: "peaked", sh: Shape{Batch: 1, Heads: 2, Queries: 10, Keys: 600, Dim: 16}, cfg: Config{Scale: 3}, sd: 2},
		{name: "scale and all masks", sh: Shape{Batch: 2, Heads: 4, KVHeads: 2, Queries: 50, Keys: 530, Dim: 10}, cfg: Config{Scale: 0.4, Causal: true, Window: 300, Softcap: 5}, bias: "hst", pad: true, sd: 1},
		{name: "split path", sh: Shape{Batch: 1, Heads: 8, KVHeads: 2, Queries: 2, Keys: 5000, Dim: 16}, cfg: Config{Causal: true}, sd: 1},
		{name: "split path padded", sh: Shape{Batch: 2, Heads: 2, KVHeads: 1, Queries: 1, Keys: 4500, Dim: 9}, pad: true, sd: 1.5},
		{name: "selective", sh: Shape{Batch: 1, Heads: 2, Queries: 40, Keys: 300, Dim: 8}, cfg: Config{Causal: true, Selective: true, Beta: 1.5}, sd: 1},
		{name: "selective window", sh: Shape{Batch: 1, Heads: 2, Queries: 20, Keys: 30, Dim: 8}, cfg: Config{Window: 4, Selective: true, Beta: -1}, pad: true, sd: 1},
		{name: "sigmoid", sh: Shape{Batch: 1, Heads: 2, Queries: 20, Keys: 300, Dim: 8}, cfg: Config{Normalizer: Sigmoid, Causal: true}, sd: 1},
		{name: "sigmoid bias", sh: Shape{Batch: 2, Heads: 2, Queries: 9, Keys: 30, Dim: 8}, cfg: Config{Normalizer: Sigmoid, SigmoidBias: sigBias(1.5), Softcap: 3}, bias: "st", pad: true, sd: 2},
		{name: "sigmoid split", sh: Shape{Batch: 1, Heads: 2, KVHeads: 1, Queries: 1, Keys: 4200, Dim: 8}, cfg: Config{Normalizer: Sigmoid}, sd: 1},
		{name: "softplus", sh: Shape{Batch: 1, Heads: 2, Queries: 20, Keys: 300, Dim: 8}, cfg: Config{Normalizer: Softplus, Causal: true}, sd: 1},
		{name: "softplus length", sh: Shape{Batch: 2, Heads: 2, Queries: 12, Keys: 40, Dim: 8}, cfg: Config{Normalizer: Softplus, LengthBase: 16, Window: 9}, bias: "bhst", pad: true, sd: 1.5},
	}
}

func (tc testCase) build(rng *rand.Rand) *problem {
	pr := newProblem(rng, tc.sh, tc.cfg, tc.sd)
	B, H, _, S, T, _, _ := pr.dims()
	n := map[string]int{"": 0, "st": S * T, "hst": H * S * T, "bhst": B * H * S * T}[tc.bias]
	if n > 0 {
		pr.bias = make([]float64, n)
		for i := range pr.bias {
			pr.bias[i] = float64(float32(rng.NormFloat64()))
			if rng.IntN(7) == 0 {
				pr.bias[i] = math.Inf(-1)
			}
		}
	}
	if tc.pad {
		pr.pad = make([]bool, B*T)
		for i := range pr.pad {
			pr.pad[i] = i%T != 0 && rng.IntN(3) == 0
		}
	}
	return pr
}

// closeTo reports the first entry where |got − want| > atol + rtol·|want|
// (−Inf must match exactly).
func closeTo(got, want []float64, atol, rtol float64) error {
	if len(got) != len(want) {
		return fmt.Errorf("length %d, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if math.IsInf(w, 0) || math.IsInf(g, 0) {
			if g != w {
				return fmt.Errorf("entry %d: %v, want %v", i, g, w)
			}
			continue
		}
		if !(math.Abs(g-w) <= atol+rtol*math.Abs(w)) {
			return fmt.Errorf("entry %d: %.9g, want %.9g (diff %.3g)", i, g, w, g-w)
		}
	}
	return nil
}

// maxScore returns the largest |scale·q·k| (times a selective τ).
func (pr *problem) maxScore() float64 {
	B, H, Hkv, S, T, D, _ := pr.dims()
	m := 0.0
	for b := range B {
		for h := range H {
			g := h / (H / Hkv)
			for i := range S {
				for j := range T {
					var acc float64
					for x := range D {
						acc += pr.q[((b*H+h)*S+i)*D+x] * pr.k[((b*Hkv+g)*T+j)*D+x]
					}
					m = math.Max(m, math.Abs(acc*pr.refScale()))
				}
			}
		}
	}
	if pr.cfg.Selective {
		m *= 1 + math.Log(float64(max(T, 1)))
	}
	return m
}

func maxAbs(x []float64) float64 {
	m := 0.0
	for _, v := range x {
		m = math.Max(m, math.Abs(v))
	}
	return m
}

func TestForwardAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range forwardCases() {
		t.Run(tc.name, func(t *testing.T) {
			pr := tc.build(rng)
			want, wantLSE := pr.refForward(pr.q, pr.k, pr.v)
			vmax := maxAbs(pr.v)

			in := pr.in32()
			out := Output[float32]{Out: make([]float32, len(want)), LSE: make([]float32, len(wantLSE))}
			if err := Forward(tc.cfg, in, out); err != nil {
				t.Fatal(err)
			}
			// float32: each score carries a rounding error of a few ulp of
			// its magnitude, which moves the weights by as much relative.
			tol := 1e-6 * (1 + pr.maxScore())
			if err := closeTo(to64(out.Out), want, tol*vmax, 0); err != nil {
				t.Errorf("float32 out: %v", err)
			}
			if err := closeTo(to64(out.LSE), wantLSE, tol, tol); err != nil {
				t.Errorf("float32 lse: %v", err)
			}

			out64 := Output[float64]{Out: make([]float64, len(want)), LSE: make([]float64, len(wantLSE))}
			if err := Forward(tc.cfg, pr.in64(), out64); err != nil {
				t.Fatal(err)
			}
			if err := closeTo(out64.Out, want, 1e-12*vmax, 1e-12); err != nil {
				t.Errorf("float64 out: %v", err)
			}
			if err := closeTo(out64.LSE, wantLSE, 1e-12, 1e-12); err != nil {
				t.Errorf("float64 lse: %v", err)
			}
		})
	}
}

// TestMaskedRows: a row that sees no key gives output 0 and
// log-normaliser −Inf, on both paths and both decoding and prefill.
func TestMaskedRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, norm := range []Normalizer{Softmax, Sigmoid, Softplus} {
		for _, keys := range []int{5, 4100} {
			sh := Shape{Batch: 2, Heads: 2, Queries: 3, Keys: keys, Dim: 4}
			pr := newProblem(rng, sh, Config{Normalizer: norm, Causal: true}, 1)
			// Batch 1 is all padding; in batch 0 the first query sees no key
			// (T − S aligned: query 0 sees keys ≤ T − 3, window 1 ... ) —
			// use a bias of −Inf on the first query's row instead.
			pr.pad = make([]bool, 2*keys)
			for j := range keys {
				pr.pad[keys+j] = true
			}
			pr.bias = make([]float64, 3*keys)
			for j := range keys {
				pr.bias[j] = math.Inf(-1)
			}
			for _, f64 := range []bool{false, true} {
				out, lse := make([]float64, 2*2*3*4), make([]float64, 2*2*3)
				if f64 {
					if err := Forward(pr.cfg, pr.in64(), Output[float64]{Out: out, LSE: lse}); err != nil {
						t.Fatal(err)
					}
				} else {
					o32, l32 := make([]float32, len(out)), make([]float32, len(lse))
					if err := Forward(pr.cfg, pr.in32(), Output[float32]{Out: o32, LSE: l32}); err != nil {
						t.Fatal(err)
					}
					out, lse = to64(o32), to64(l32)
				}
				for h := range 2 {
					for i := range 3 {
						for b := range 2 {
							masked := b == 1 || i == 0
							row := (b*2+h)*3 + i
							if !masked {
								if math.IsInf(lse[row], 0) || math.IsNaN(lse[row]) {
									t.Fatalf("%v T=%d f64=%v: row %d unmasked but lse %v", norm, keys, f64, row, lse[row])
								}
								continue
							}
							if !math.IsInf(lse[row], -1) {
								t.Fatalf("%v T=%d f64=%v: masked row %d has lse %v", norm, keys, f64, row, lse[row])
							}
							for _, v := range out[row*4 : row*4+4] {
								if v != 0 {
									t.Fatalf("%v T=%d f64=%v: masked row %d has output %v", norm, keys, f64, row, out[row*4:row*4+4])
								}
							}
						}
					}
				}
			}
		}
	}
}

// TestSameBits: the thread count and the query tile never change the
// bits of the float32 forward pass.
func TestSameBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	cases := []testCase{
		{sh: Shape{Batch: 2, Heads: 4, KVHeads: 2, Queries: 300, Keys: 520, Dim: 20}, cfg: Config{Causal: true}, pad: true, bias: "hst", sd: 1},
		{sh: Shape{Batch: 1, Heads: 8, KVHeads: 2, Queries: 1, Keys: 9000, Dim: 16}, sd: 1},
		{sh: Shape{Batch: 1, Heads: 3, Queries: 100, Keys: 300, Dim: 16}, cfg: Config{Normalizer: Sigmoid, Window: 40}, sd: 1},
		{sh: Shape{Batch: 1, Heads: 3, Queries: 100, Keys: 300, Dim: 16}, cfg: Config{Normalizer: Softplus, Selective: false, LengthBase: 10, Softcap: 4}, sd: 1},
		{sh: Shape{Batch: 1, Heads: 2, Queries: 70, Keys: 300, Dim: 16}, cfg: Config{Selective: true, Beta: 0.5, Causal: true}, sd: 1},
	}
	for x, tc := range cases {
		pr := tc.build(rng)
		in := pr.in32()
		B, H, _, S, _, _, Dv := pr.dims()
		var ref Output[float32]
		for y, v := range []struct{ threads, tile int }{{1, 0}, {2, 0}, {3, 7}, {1, 48}, {4, 100}, {2, 500}, {7, 1}} {
			c := tc.cfg
			c.Threads, c.TileRows = v.threads, v.tile
			out := Output[float32]{Out: make([]float32, B*H*S*Dv), LSE: make([]float32, B*H*S)}
			if err := Forward(c, in, out); err != nil {
				t.Fatal(err)
			}
			if y == 0 {
				ref = out
				continue
			}
			for i := range out.Out {
				if math.Float32bits(out.Out[i]) != math.Float32bits(ref.Out[i]) {
					t.Fatalf("case %d, threads %d, tile %d: out[%d] = %v, want %v", x, v.threads, v.tile, i, out.Out[i], ref.Out[i])
				}
			}
			for i := range out.LSE {
				if math.Float32bits(out.LSE[i]) != math.Float32bits(ref.LSE[i]) {
					t.Fatalf("case %d, threads %d, tile %d: lse[%d] = %v, want %v", x, v.threads, v.tile, i, out.LSE[i], ref.LSE[i])
				}
			}
		}
	}
}

func TestForwardErrors(t *testing.T) {
	sh := Shape{Batch: 1, Heads: 2, Queries: 3, Keys: 4, Dim: 2}
	ok := func() Input[float32] {
		return Input[float32]{Q: make([]float32, 12), K: make([]float32, 16), V: make([]float32, 16), Shape: sh}
	}
	out := func() Output[float32] { return Output[float32]{Out: make([]float32, 12), LSE: make([]float32, 6)} }
	nan := float32(math.NaN())
	cases := []struct {
		name string
		cfg  Config
		in   func() Input[float32]
		out  Output[float32]
		want error
		msg  string
	}{
		{"short q", Config{}, func() Input[float32] { i := ok(); i.Q = i.Q[:11]; return i }, out(), ErrShape, "len(q)"},
		{"short out", Config{}, ok, Output[float32]{Out: make([]float32, 13)}, ErrShape, "len(out)"},
		{"short lse", Config{}, ok, Output[float32]{Out: make([]float32, 12), LSE: make([]float32, 5)}, ErrShape, "len(lse)"},
		{"kv heads", Config{}, func() Input[float32] { i := ok(); i.Shape.KVHeads = 3; return i }, out(), ErrShape, "divide"},
		{"negative", Config{}, func() Input[float32] { i := ok(); i.Shape.Queries = -1; return i }, out(), ErrShape, "≥ 0"},
		{"bias length", Config{}, func() Input[float32] { i := ok(); i.Bias = make([]float32, 5); return i }, out(), ErrShape, "len(bias)"},
		{"bias nan", Config{}, func() Input[float32] { i := ok(); i.Bias = make([]float32, 12); i.Bias[7] = nan; return i }, out(), ErrValue, "bias[7]"},
		{"padding length", Config{}, func() Input[float32] { i := ok(); i.KeyPadding = make([]bool, 3); return i }, out(), ErrShape, "keyPadding"},
		{"q nan", Config{}, func() Input[float32] { i := ok(); i.Q[5] = nan; return i }, out(), ErrValue, "q[0, 0, 2, 1]"},
		{"k inf", Config{}, func() Input[float32] { i := ok(); i.K[9] = float32(math.Inf(1)); return i }, out(), ErrValue, "k[0, 1, 0, 1]"},
		{"v nan", Config{}, func() Input[float32] { i := ok(); i.V[2] = nan; return i }, out(), ErrValue, "v[0, 0, 1, 0]"},
		{"scale", Config{Scale: math.Inf(1)}, ok, out(), ErrValue, "Scale"},
		{"softcap", Config{Softcap: -1}, ok, out(), ErrValue, "Softcap"},
		{"window", Config{Window: -2}, ok, out(), ErrValue, "Window"},
		{"normalizer", Config{Normalizer: 7}, ok, out(), ErrValue, "normalizer"},
		{"selective sigmoid", Config{Normalizer: Sigmoid, Selective: true}, ok, out(), ErrValue, "Selective"},
		{"beta", Config{Selective: true, Beta: math.NaN()}, ok, out(), ErrValue, "Beta"},
		{"length base", Config{Normalizer: Softplus, LengthBase: 1}, ok, out(), ErrValue, "LengthBase"},
		{"length base softmax", Config{LengthBase: 3}, ok, out(), ErrValue, "LengthBase"},
		{"sigmoid bias", Config{SigmoidBias: sigBias(1)}, ok, out(), ErrValue, "SigmoidBias"},
		{"tile", Config{TileRows: -1}, ok, out(), ErrValue, "TileRows"},
	}
	for _, c := range cases {
		err := Forward(c.cfg, c.in(), c.out)
		if !errors.Is(err, c.want) || !contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want %v mentioning %q", c.name, err, c.want, c.msg)
		}
		in := c.in()
		err = Forward(c.cfg, Input[float64]{Q: to64(in.Q), K: to64(in.K), V: to64(in.V), Shape: in.Shape, Bias: to64(in.Bias), KeyPadding: in.KeyPadding},
			Output[float64]{Out: to64(c.out.Out), LSE: to64(c.out.LSE)})
		if !errors.Is(err, c.want) || !contains(err.Error(), c.msg) {
			t.Errorf("%s (float64): %v, want %v mentioning %q", c.name, err, c.want, c.msg)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
