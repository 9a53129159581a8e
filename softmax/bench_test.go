package softmax

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Benchmarks over the shapes of the comparison tables: [256, 1024] fits in
// cache; [4096, 32768] (512 MiB) does not. The byte rate counts one read of
// the input and one write of the output.
func benchShapes() [][2]int {
	s := [][2]int{{256, 1024}, {32, 32768}}
	if !testing.Short() {
		s = append(s, [2]int{4096, 32768}, [2]int{32768, 1024}, [2]int{16, 262144})
	}
	return s
}

func benchRows(b *testing.B, o op) {
	for _, sh := range benchShapes() {
		for _, th := range []int{1, 2} {
			rows, cols := sh[0], sh[1]
			b.Run(fmt.Sprintf("%dx%d/threads=%d", rows, cols, th), func(b *testing.B) {
				x := make([]float32, rows*cols)
				rng := rand.New(rand.NewPCG(1, 2))
				for i := range x {
					x[i] = float32(rng.NormFloat64() * 3)
				}
				n := len(x)
				if o == opLogSumExp {
					n = rows
				}
				dst := make([]float32, n)
				b.SetBytes(int64(4 * (len(x) + n)))
				for b.Loop() {
					if err := apply(o, dst, x, cols, []Option{Threads(th)}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkSoftmax(b *testing.B)    { benchRows(b, opSoftmax) }
func BenchmarkLogSoftmax(b *testing.B) { benchRows(b, opLogSoftmax) }
func BenchmarkLogSumExp(b *testing.B)  { benchRows(b, opLogSumExp) }
