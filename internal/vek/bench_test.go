package vek

import (
	"math/rand/v2"
	"testing"
)

func benchInput(n int) []float32 {
	rng := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 3)
	}
	return x
}

// In-cache rows (4 KiB … 64 KiB): the kernels' compute speed.
func BenchmarkMaxNaN32(b *testing.B) {
	x := benchInput(4096)
	b.SetBytes(int64(4 * len(x)))
	for b.Loop() {
		MaxNaN32(x)
	}
}

func BenchmarkExpSum32(b *testing.B) {
	x := benchInput(4096)
	m, _ := MaxNaN32(x)
	b.SetBytes(int64(4 * len(x)))
	for b.Loop() {
		ExpSum32(x, m, 1)
	}
	b.ReportMetric(float64(b.N)*float64(len(x))/b.Elapsed().Seconds()/1e9, "Gelem/s")
}

func BenchmarkExpStoreSum32(b *testing.B) {
	x := benchInput(4096)
	dst := make([]float32, len(x))
	m, _ := MaxNaN32(x)
	b.SetBytes(int64(4 * len(x)))
	for b.Loop() {
		ExpStoreSum32(dst, x, m, 1)
	}
	b.ReportMetric(float64(b.N)*float64(len(x))/b.Elapsed().Seconds()/1e9, "Gelem/s")
}

func BenchmarkScale32(b *testing.B) {
	x := benchInput(4096)
	b.SetBytes(int64(4 * len(x)))
	for b.Loop() {
		Scale32(x, x, 1)
	}
}

func BenchmarkShiftScale32(b *testing.B) {
	x := benchInput(4096)
	dst := make([]float32, len(x))
	b.SetBytes(int64(4 * len(x)))
	for b.Loop() {
		ShiftScale32(dst, x, 1, 1, 0.5)
	}
}

func BenchmarkExp32(b *testing.B) {
	x := benchInput(4096)
	dst := make([]float32, len(x))
	b.SetBytes(int64(4 * len(x)))
	for b.Loop() {
		Exp32(dst, x)
	}
}

func BenchmarkExpSum64(b *testing.B) {
	x32 := benchInput(4096)
	x := make([]float64, len(x32))
	for i, v := range x32 {
		x[i] = float64(v)
	}
	m, _ := MaxNaN64(x)
	b.SetBytes(int64(8 * len(x)))
	for b.Loop() {
		ExpSum64(x, m, 1)
	}
}

// The softmax pipeline's exponential: the shifted kernels (no correction
// term) and a whole pipeline step in cache.
func BenchmarkExpShiftSum32(b *testing.B) {
	x := benchInput(4096)
	b.SetBytes(int64(4 * len(x)))
	for b.Loop() {
		ExpShiftSum32(x, 0)
	}
	b.ReportMetric(float64(b.N)*float64(len(x))/b.Elapsed().Seconds()/1e9, "Gelem/s")
}

func BenchmarkExpShiftStore32(b *testing.B) {
	x := benchInput(4096)
	dst := make([]float32, len(x))
	b.SetBytes(int64(4 * len(x)))
	for b.Loop() {
		ExpShiftStore32(dst, x, 0)
	}
	b.ReportMetric(float64(b.N)*float64(len(x))/b.Elapsed().Seconds()/1e9, "Gelem/s")
}

// The pipeline step as softmax runs it: the exponentials and the maximum
// of one row (Next is the row itself), the scaled output of the previous.
func BenchmarkStep32(b *testing.B) {
	x := benchInput(4096)
	e := make([]float32, len(x))
	out := make([]float32, len(x))
	p := Step32{E: e, X: x, Out: out, Src: e, A: 0.5, Next: x, Prefetch: 1024}
	b.SetBytes(int64(4 * len(x)))
	for b.Loop() {
		p.Step()
	}
	b.ReportMetric(float64(b.N)*float64(len(x))/b.Elapsed().Seconds()/1e9, "Gelem/s")
}

// The pipeline step as log-sum-exp runs it (the exponentials and the
// maximum of one row, no output) and as log-softmax runs it (with a
// shifted output of the previous row).
func BenchmarkStep32LSE(b *testing.B) {
	x := benchInput(4096)
	p := Step32{X: x, Next: x, Prefetch: 1024}
	b.SetBytes(int64(4 * len(x)))
	for b.Loop() {
		p.Step()
	}
	b.ReportMetric(float64(b.N)*float64(len(x))/b.Elapsed().Seconds()/1e9, "Gelem/s")
}

func BenchmarkStep32LogSoftmax(b *testing.B) {
	x, prev := benchInput(4096), benchInput(4096)
	out := make([]float32, len(x))
	p := Step32{X: x, Out: out, Src: prev, A: 0.5, B: 0.25, Mode: StepShift, Next: x, Prefetch: 1024}
	b.SetBytes(int64(4 * len(x)))
	for b.Loop() {
		p.Step()
	}
	b.ReportMetric(float64(b.N)*float64(len(x))/b.Elapsed().Seconds()/1e9, "Gelem/s")
}
