package softmax

import (
	"math/rand/v2"
	"testing"
)

func benchMatrix(rows, cols int) []float32 {
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, rows*cols)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 3)
	}
	return x
}

// Two-pass against the max-shift kernels, one thread, rows in cache.
func BenchmarkTwoPassSoftmax256x1024(b *testing.B) {
	x := benchMatrix(256, 1024)
	dst := make([]float32, len(x))
	b.SetBytes(int64(8 * len(x)))
	for b.Loop() {
		_ = TwoPassSoftmax(dst, x, 1024, Threads(1))
	}
}

func BenchmarkSoftmax256x1024(b *testing.B) {
	x := benchMatrix(256, 1024)
	dst := make([]float32, len(x))
	b.SetBytes(int64(8 * len(x)))
	for b.Loop() {
		_ = Softmax(dst, x, 1024, Threads(1))
	}
}

func BenchmarkTwoPassLogSumExp256x1024(b *testing.B) {
	x := benchMatrix(256, 1024)
	dst := make([]float32, 256)
	b.SetBytes(int64(4 * len(x)))
	for b.Loop() {
		_ = TwoPassLogSumExp(dst, x, 1024, Threads(1))
	}
}

func BenchmarkLogSumExp256x1024(b *testing.B) {
	x := benchMatrix(256, 1024)
	dst := make([]float32, 256)
	b.SetBytes(int64(4 * len(x)))
	for b.Loop() {
		_ = LogSumExp(dst, x, 1024, Threads(1))
	}
}

func BenchmarkTwoPassSoftmaxRow4096(b *testing.B) {
	x := benchMatrix(1, 4096)
	dst := make([]float32, len(x))
	b.SetBytes(int64(8 * len(x)))
	for b.Loop() {
		_ = TwoPassSoftmax(dst, x, 4096, Threads(1))
	}
}

func BenchmarkSoftmaxRow4096(b *testing.B) {
	x := benchMatrix(1, 4096)
	dst := make([]float32, len(x))
	b.SetBytes(int64(8 * len(x)))
	for b.Loop() {
		_ = Softmax(dst, x, 4096, Threads(1))
	}
}
