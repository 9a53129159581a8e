package attention

import (
	"math/rand/v2"
	"testing"
)

func benchInput(sh Shape) Input[float32] {
	rng := rand.New(rand.NewPCG(1, 2))
	d := sh.resolveOrPanic()
	fill := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	return Input[float32]{Q: fill(d.B * d.H * d.S * d.D), K: fill(d.B * d.Hkv * d.T * d.D), V: fill(d.B * d.Hkv * d.T * d.Dv), Shape: sh}
}

func (s Shape) resolveOrPanic() dims {
	d, err := s.resolve()
	if err != nil {
		panic(err)
	}
	return d
}

func benchForward(b *testing.B, sh Shape, cfg Config) {
	in := benchInput(sh)
	d := sh.resolveOrPanic()
	out := Output[float32]{Out: make([]float32, d.B*d.H*d.S*d.Dv), LSE: make([]float32, d.B*d.H*d.S)}
	cfg.Threads = 1
	for b.Loop() {
		if err := Forward(cfg, in, out); err != nil {
			b.Fatal(err)
		}
	}
}

func benchBackward(b *testing.B, sh Shape, cfg Config) {
	in := benchInput(sh)
	d := sh.resolveOrPanic()
	out := Output[float32]{Out: make([]float32, d.B*d.H*d.S*d.Dv), LSE: make([]float32, d.B*d.H*d.S)}
	cfg.Threads = 1
	if err := Forward(cfg, in, out); err != nil {
		b.Fatal(err)
	}
	dOut := append([]float32(nil), out.Out...)
	g := Grad[float32]{DQ: make([]float32, len(in.Q)), DK: make([]float32, len(in.K)), DV: make([]float32, len(in.V))}
	for b.Loop() {
		if err := Backward(cfg, in, out, dOut, &g); err != nil {
			b.Fatal(err)
		}
	}
}

// Prefill: one head of the S = T = 2048, d = 128 target shape.
func BenchmarkForwardPrefill(b *testing.B) {
	benchForward(b, Shape{Batch: 1, Heads: 1, Queries: 2048, Keys: 2048, Dim: 128}, Config{})
}

func BenchmarkForwardPrefillCausal(b *testing.B) {
	benchForward(b, Shape{Batch: 1, Heads: 1, Queries: 2048, Keys: 2048, Dim: 128}, Config{Causal: true})
}

func BenchmarkForwardPrefillSigmoid(b *testing.B) {
	benchForward(b, Shape{Batch: 1, Heads: 1, Queries: 2048, Keys: 2048, Dim: 128}, Config{Normalizer: Sigmoid})
}

func BenchmarkBackwardPrefill(b *testing.B) {
	benchBackward(b, Shape{Batch: 1, Heads: 1, Queries: 2048, Keys: 2048, Dim: 128}, Config{})
}

// Decoding: one query per head, 32 query heads on 8 key/value heads,
// a quarter of the T = 32768 target (a 64 MiB cache).
func BenchmarkDecode(b *testing.B) {
	benchForward(b, Shape{Batch: 1, Heads: 32, KVHeads: 8, Queries: 1, Keys: 8192, Dim: 128}, Config{})
}
