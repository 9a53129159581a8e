package loss

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkCrossEntropy: forward and backward, mean, hard labels, the
// gradient written over the logits. The byte rate counts one read and one
// write of the logits.
func BenchmarkCrossEntropy(b *testing.B) {
	shapes := [][2]int{{256, 1024}, {64, 32768}}
	if !testing.Short() {
		shapes = append(shapes, [2]int{4096, 32768})
	}
	for _, sh := range shapes {
		for _, th := range []int{1, 2} {
			rows, cols := sh[0], sh[1]
			b.Run(fmt.Sprintf("%dx%d/threads=%d", rows, cols, th), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(1, 2))
				x := make([]float32, rows*cols)
				for i := range x {
					x[i] = float32(rng.NormFloat64() * 3)
				}
				labels := make([]int32, rows)
				for i := range labels {
					labels[i] = int32(rng.IntN(cols))
				}
				ce, _ := NewCrossEntropy(WithThreads(th))
				b.SetBytes(int64(8 * len(x)))
				for b.Loop() {
					if _, err := ce.Eval32(Input[float32]{Logits: x, Cols: cols, Labels: labels}, Output[float32]{Grad: x}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
