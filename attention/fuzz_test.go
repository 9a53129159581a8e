package attention

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// FuzzShapes feeds arbitrary shapes, slice lengths and options: Forward
// and Backward must return an error wrapping ErrShape or ErrValue, or
// succeed with finite results that agree between float32 and float64.
func FuzzShapes(f *testing.F) {
	f.Add(int8(1), int8(2), int8(1), int8(3), int8(5), int8(4), int8(0), int8(0), int8(0), uint8(0), int8(0), uint8(0), false, uint64(1))
	f.Add(int8(2), int8(4), int8(2), int8(7), int8(3), int8(5), int8(3), int8(0), int8(1), uint8(1), int8(2), uint8(2), true, uint64(2))
	f.Add(int8(1), int8(3), int8(2), int8(1), int8(1), int8(1), int8(0), int8(1), int8(0), uint8(2), int8(0), uint8(1), false, uint64(3))
	f.Add(int8(0), int8(1), int8(0), int8(0), int8(0), int8(1), int8(0), int8(0), int8(0), uint8(0), int8(-1), uint8(3), true, uint64(4))
	f.Add(int8(-1), int8(1), int8(1), int8(1), int8(1), int8(1), int8(-3), int8(0), int8(0), uint8(5), int8(0), uint8(0), false, uint64(5))
	f.Add(int8(1), int8(2), int8(2), int8(2), int8(9), int8(3), int8(2), int8(-1), int8(2), uint8(1), int8(1), uint8(3), true, uint64(6))
	f.Fuzz(func(t *testing.T, b, h, hkv, s, tk, d, dv, dlen, window int8, norm uint8, softcap int8, biasKind uint8, causal bool, seed uint64) {
		sh := Shape{Batch: int(b), Heads: int(h), KVHeads: int(hkv), Queries: int(s), Keys: int(tk), Dim: int(d), ValueDim: int(dv)}
		cfg := Config{Causal: causal, Window: int(window), Normalizer: Normalizer(norm % 4), Softcap: float64(softcap)}
		B, H, Hkv, S, T, D, Dv := max(int(b), 0), max(int(h), 0), max(int(hkv), 0), max(int(s), 0), max(int(tk), 0), max(int(d), 0), max(int(dv), 0)
		if Hkv == 0 {
			Hkv = H
		}
		if Dv == 0 {
			Dv = D
		}
		rng := rand.New(rand.NewPCG(seed, 7))
		fill := func(n int) []float64 {
			x := make([]float64, max(n, 0))
			for i := range x {
				x[i] = float64(float32(rng.NormFloat64()))
			}
			return x
		}
		// dlen perturbs the length of one tensor.
		lens := []int{B * H * S * D, B * Hkv * T * D, B * Hkv * T * Dv, B * H * S * Dv, B * H * S}
		if dlen != 0 {
			lens[int(seed%5)] += int(dlen)
		}
		if lens[0]+lens[1]+lens[2]+lens[3]+B*H*S*T > 1<<14 {
			// Too large to run: only the validation, with empty tensors.
			err := Forward(cfg, Input[float32]{Shape: sh}, Output[float32]{})
			if err != nil && !errors.Is(err, ErrShape) && !errors.Is(err, ErrValue) {
				t.Fatal(err)
			}
			return
		}
		in := Input[float64]{Q: fill(lens[0]), K: fill(lens[1]), V: fill(lens[2]), Shape: sh}
		switch biasKind % 4 {
		case 1:
			in.Bias = fill(S * T)
		case 2:
			in.Bias = fill(H*S*T + int(dlen))
		case 3:
			in.KeyPadding = make([]bool, max(B*T+int(dlen)/2, 0))
			for i := range in.KeyPadding {
				in.KeyPadding[i] = rng.IntN(2) == 0
			}
		}
		out64 := Output[float64]{Out: make([]float64, max(lens[3], 0)), LSE: make([]float64, max(lens[4], 0))}
		err64 := Forward(cfg, in, out64)
		in32 := Input[float32]{Q: to32(in.Q), K: to32(in.K), V: to32(in.V), Shape: sh, Bias: to32(in.Bias), KeyPadding: in.KeyPadding}
		out32 := Output[float32]{Out: make([]float32, len(out64.Out)), LSE: make([]float32, len(out64.LSE))}
		err32 := Forward(cfg, in32, out32)
		if (err64 == nil) != (err32 == nil) {
			t.Fatalf("float64: %v, float32: %v", err64, err32)
		}
		if err64 != nil {
			if !errors.Is(err64, ErrShape) && !errors.Is(err64, ErrValue) || !errors.Is(err32, ErrShape) && !errors.Is(err32, ErrValue) {
				t.Fatalf("errors %v / %v wrap neither ErrShape nor ErrValue", err64, err32)
			}
			return
		}
		for i, v := range out64.Out {
			if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(float64(out32.Out[i])-v) > 1e-4*(1+math.Abs(v)) {
				t.Fatalf("out[%d]: float64 %v, float32 %v", i, v, out32.Out[i])
			}
		}
		dOut := fill(len(out64.Out))
		g64 := Grad[float64]{DQ: make([]float64, len(in.Q)), DK: make([]float64, len(in.K)), DV: make([]float64, len(in.V))}
		err64 = Backward(cfg, in, out64, dOut, &g64)
		g32 := Grad[float32]{DQ: make([]float32, len(in.Q)), DK: make([]float32, len(in.K)), DV: make([]float32, len(in.V))}
		err32 = Backward(cfg, in32, out32, to32(dOut), &g32)
		if len(out64.LSE) != B*H*S {
			// Forward ran without log-normalisers; Backward needs them.
			if !errors.Is(err64, ErrShape) || !errors.Is(err32, ErrShape) {
				t.Fatalf("backward without lse: %v / %v", err64, err32)
			}
			return
		}
		if err64 != nil || err32 != nil {
			t.Fatalf("backward after a successful forward: %v / %v", err64, err32)
		}
		for _, p := range [][2][]float64{{g64.DQ, to64(g32.DQ)}, {g64.DK, to64(g32.DK)}, {g64.DV, to64(g32.DV)}} {
			for i, v := range p[0] {
				if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(p[1][i]-v) > 1e-3*(1+math.Abs(v)) {
					t.Fatalf("gradient entry %d: float64 %v, float32 %v", i, v, p[1][i])
				}
			}
		}
	})
}
