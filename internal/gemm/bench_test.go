package gemm

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func randSlice(n int) []float32 {
	rng := rand.New(rand.NewPCG(uint64(n), 1))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.Float64()*2 - 1)
	}
	return x
}

func reportGFLOPS(b *testing.B, m, n, k int) {
	b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// benchGemm times Gemm on one shape for 1 and 2 threads.
func benchGemm(b *testing.B, transA, transB bool, m, n, k int) {
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	a, bb, c := randSlice(ar*ac), randSlice(br*bc), make([]float32, m*n)
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			for b.Loop() {
				Gemm(transA, transB, m, n, k, 1, a, ac, bb, bc, 0, c, n, threads)
			}
			reportGFLOPS(b, m, n, k)
		})
	}
}

func BenchmarkGemm2048(b *testing.B) { benchGemm(b, false, false, 2048, 2048, 2048) }

// The three products of the fused classifier head on one block: logits
// H·Wᵀ, dH = G·W, dW = Gᵀ·H.
func BenchmarkGemmHWt(b *testing.B) { benchGemm(b, false, true, 256, 4096, 1024) }
func BenchmarkGemmGW(b *testing.B)  { benchGemm(b, false, false, 256, 1024, 4096) }
func BenchmarkGemmGtH(b *testing.B) { benchGemm(b, true, false, 4096, 1024, 256) }

// BenchmarkMulPacked times one tile of the fused head on pre-packed
// operands, on the calling goroutine.
func BenchmarkMulPacked(b *testing.B) {
	for _, s := range [][3]int{{64, 256, 512}, {256, 1024, 1024}, {256, 1024, 4096}} {
		m, n, k := s[0], s[1], s[2]
		b.Run(fmt.Sprintf("%dx%dx%d", m, n, k), func(b *testing.B) {
			pa, pb := make([]float32, PackASize(m, k)), make([]float32, PackBSize(k, n))
			PackA(false, m, k, randSlice(m*k), k, pa)
			PackB(true, k, n, randSlice(n*k), k, pb)
			c := make([]float32, m*n)
			for b.Loop() {
				MulPacked(m, n, k, 1, pa, pb, 0, c, n, 1)
			}
			reportGFLOPS(b, m, n, k)
		})
	}
}

// BenchmarkKernel times the column kernel alone on L1- and L2-resident
// panels: one B panel against four A panels, kc = 256.
func BenchmarkKernel(b *testing.B) {
	for _, tr := range tiers() {
		b.Run(tr.name, func(b *testing.B) {
			k, m := kcBlock, 4*tr.mr
			pa, pb := randSlice(m*k), randSlice(tr.nr*k)
			c := make([]float32, m*tr.nr)
			for b.Loop() {
				tr.col(k, pa, tr.mr*k, m, pb, tr.nr, c, tr.nr, 1, 1, true, prefetch{})
			}
			reportGFLOPS(b, m, tr.nr, k)
		})
	}
}

// BenchmarkPack times packing a 1024×1024 operand in each layout, in
// GB/s of source read.
func BenchmarkPack(b *testing.B) {
	const k, n = 1024, 1024
	src := randSlice(k * n)
	dst := make([]float32, max(PackASize(n, k), PackBSize(k, n)))
	for _, trans := range []bool{false, true} {
		b.Run(fmt.Sprintf("A/trans=%v", trans), func(b *testing.B) {
			b.SetBytes(4 * k * n)
			for b.Loop() {
				PackA(trans, n, k, src, k, dst)
			}
		})
		b.Run(fmt.Sprintf("B/trans=%v", trans), func(b *testing.B) {
			b.SetBytes(4 * k * n)
			for b.Loop() {
				PackB(trans, k, n, src, k, dst)
			}
		})
	}
}
