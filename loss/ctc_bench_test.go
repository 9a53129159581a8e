package loss

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkCTC: forward and backward, mean, float32 logits [T, N, C] with
// T = 500, N = 32, S = 100 (the shape BENCHMARKS.md compares with
// PyTorch), the gradient written to a second buffer.
func BenchmarkCTC(b *testing.B) {
	classes := []int{30}
	if !testing.Short() {
		classes = append(classes, 5000)
	}
	const tt, n, s = 500, 32, 100
	for _, c := range classes {
		for _, th := range []int{1, 2} {
			b.Run(fmt.Sprintf("C=%d/threads=%d", c, th), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(1, 2))
				x := make([]float32, tt*n*c)
				for i := range x {
					x[i] = float32(rng.NormFloat64() * 3)
				}
				tg := make([]int32, n*s)
				for i := range tg {
					tg[i] = int32(1 + rng.IntN(c-1))
				}
				g := make([]float32, len(x))
				l, _ := NewCTC(0, false, WithThreads(th))
				in := CTCInput[float32]{Logits: x, Batch: n, Classes: c, Targets: tg, TargetCols: s}
				// Warm-up outside the timing: the first write of g faults its
				// pages in.
				if _, err := l.EvalBatch32(in, CTCOutput[float32]{Grad: g}); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for b.Loop() {
					if _, err := l.EvalBatch32(in, CTCOutput[float32]{Grad: g}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
