package sample

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/xentlab/xent/internal/sortsample"
	"github.com/xentlab/xent/softmax"
)

// benchVocabs are the vocabularies of Llama 2 (32 000), Llama 3
// (128 256), Qwen 2 (151 936) and Gemma 3 (262 144).
var benchVocabs = []int{32000, 128256, 151936, 262144}

// BenchLogits returns the benchmark rows: "flat" is N(0, 3²) logits (the
// nucleus at P = 0.95 holds about 8% of the vocabulary: the hard case),
// "peaked" is N(0, 2²) with 32 tokens raised by 8 to 14 (a language
// model's usual shape: a few tokens hold most of the mass).
func benchLogits(kind string, V int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, V)
	for i := range x {
		if kind == "flat" {
			x[i] = float32(r.NormFloat64() * 3)
		} else {
			x[i] = float32(r.NormFloat64() * 2)
		}
	}
	if kind == "peaked" {
		for range 32 {
			x[r.IntN(V)] += float32(8 + 6*r.Float64())
		}
	}
	return x
}

func benchHistory(V int) []int32 {
	r := rand.New(rand.NewPCG(5, 5))
	h := make([]int32, 64)
	for i := range h {
		h[i] = int32(r.IntN(V))
	}
	return h
}

// BenchmarkSample times one token: the full chain (penalties over 64
// tokens, top-k 40, top-p 0.95, min-p 0.05, temperature 0.8, draw), top-p
// alone, one softmax pass over the row (package softmax), and the
// full-sort implementation of both chains.
func BenchmarkSample(b *testing.B) {
	full := []Stage{Penalties(64, 1.1, 0, 0), TopK(40), TopP(0.95), MinP(0.05), Temp(0.8), Dist()}
	topP := []Stage{TopP(0.95), Dist()}
	fullP := sortsample.Params{LastN: 64, Repeat: 1.1, TopK: 40, TopP: 0.95, MinP: 0.05, Temp: 0.8}
	topPP := sortsample.Params{TopP: 0.95}
	for _, kind := range []string{"peaked", "flat"} {
		for _, V := range benchVocabs {
			x := benchLogits(kind, V, 1)
			in := Input{Logits: x, History: benchHistory(V)}
			for _, c := range []struct {
				name  string
				chain []Stage
				p     sortsample.Params
			}{{"chain", full, fullP}, {"top_p", topP, topPP}} {
				b.Run(fmt.Sprintf("%s/%s/V=%d/xent", c.name, kind, V), func(b *testing.B) {
					s, _ := New(c.chain, 1)
					s.Sample(in)
					b.ReportAllocs()
					for b.Loop() {
						if _, err := s.Sample(in); err != nil {
							b.Fatal(err)
						}
					}
				})
				b.Run(fmt.Sprintf("%s/%s/V=%d/fullsort", c.name, kind, V), func(b *testing.B) {
					var s sortsample.Sampler
					b.ReportAllocs()
					u := 0.0
					for b.Loop() {
						s.Sample(x, in.History, c.p, u)
						u = u + 0.618034
						u -= float64(int(u))
					}
				})
			}
			b.Run(fmt.Sprintf("softmax/%s/V=%d", kind, V), func(b *testing.B) {
				dst := make([]float32, V)
				b.ReportAllocs()
				for b.Loop() {
					softmax.Softmax(dst, x, V)
				}
			})
		}
	}
}
