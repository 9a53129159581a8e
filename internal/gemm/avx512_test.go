package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// sameBits reports the first element where got and want differ in bits,
// or -1.
func sameBits(got, want []float32) int {
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			return i
		}
	}
	return -1
}

// specialVal returns randVal's values, and now and then −0, ±Inf, NaN or
// a value whose products overflow.
func specialVal(rng *rand.Rand) float32 {
	switch rng.IntN(40) {
	case 0:
		return float32(math.Copysign(0, -1))
	case 1:
		return float32(math.Inf(1))
	case 2:
		return float32(math.Inf(-1))
	case 3:
		return float32(math.NaN())
	case 4:
		return 3e30
	}
	return randVal(rng)
}

// TestKernel12x32 compares the AVX-512 micro-kernel with four calls of the
// AVX2 kernel, bit for bit, for k tails 0..3 of the 4-step loop, with and
// without beta, on values that include −0, infinities and NaN, and checks
// that it writes only its 12×32 tile.
func TestKernel12x32(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 tier on this CPU or build")
	}
	rng := rand.New(rand.NewPCG(71, 72))
	for _, k := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 31, 255, 256} {
		for _, special := range []bool{false, true} {
			for _, beta := range []float32{0, 1, 0.5, -1.25} {
				val := randVal
				if special {
					val = specialVal
				}
				fill := func(n int) []float32 {
					x := make([]float32, n)
					for i := range x {
						x[i] = val(rng)
					}
					return x
				}
				a0, a1, b0, b1 := fill(mr*k), fill(mr*k), fill(nr*k), fill(nr*k)
				alpha := []float32{1, 0.75, -1.5, 3}[rng.IntN(4)]
				ldc := 2*nr + rng.IntN(5)
				off := 1 + rng.IntN(3)
				c0 := make([]float32, off+(2*mr-1)*ldc+2*nr+3)
				for i := range c0 {
					c0[i] = math.Float32frombits(guardBits)
				}
				for i := range 2 * mr {
					for j := range 2 * nr {
						c0[off+i*ldc+j] = val(rng)
					}
				}
				accum := beta != 0
				want := append([]float32(nil), c0...)
				for r, ap := range [][]float32{a0, a1} {
					for q, bp := range [][]float32{b0, b1} {
						tierAVX2.kernel(k, ap, bp, want[off+r*mr*ldc+q*nr:], ldc, alpha, beta, accum, bp)
					}
				}
				got := append([]float32(nil), c0...)
				kernel12x32(k, a0, a1, b0, b1, got[off:], ldc, alpha, beta, accum, b0, b1)
				if i := sameBits(got, want); i >= 0 {
					o := i - off
					t.Fatalf("k=%d special=%v alpha=%v beta=%v: buffer element %d (row %d, col %d) = %v (%#x), 6×16 kernel gave %v (%#x)",
						k, special, alpha, beta, i, o/ldc, o%ldc, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
				}
			}
		}
	}
}

// TestAVX512MatchesAVX2 checks that the AVX-512 tier gives C the bits of
// the AVX2 tier on ragged shapes (rows and columns past the last full
// 12×32 tile, k tails), all four transpositions, alpha ≠ 1, beta 0, 0.5
// and 1, on one and several threads, through Gemm and through MulPacked.
func TestAVX512MatchesAVX2(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 tier on this CPU or build")
	}
	defaultBudget := packBudget
	defer func() { packBudget = defaultBudget }()
	rng := rand.New(rand.NewPCG(73, 74))
	type shape struct{ m, n, k int }
	shapes := []shape{
		{12, 32, 1}, {11, 31, 4}, {13, 33, 5}, {24, 64, 9}, {25, 70, 257},
		{37, 47, 300}, {1, 100, 3}, {100, 1, 3}, {6, 16, 7}, {18, 48, 2},
		// Enough work for several threads, and (with a small pack budget)
		// for k in several super-blocks.
		{50, 100, 430}, {61, 530, 70},
	}
	alphas := []float32{0.75, -1.5, 3}
	for si, s := range shapes {
		for ti, tc := range transCombos {
			for bi, beta := range []float32{0, 0.5, 1} {
				alpha := alphas[(si+ti+bi)%len(alphas)]
				p := newProblem(rng, tc[0], tc[1], s.m, s.n, s.k, 2, alpha, beta)
				ctx := fmt.Sprintf("transA=%v transB=%v %dx%dx%d alpha=%v beta=%v", tc[0], tc[1], s.m, s.n, s.k, alpha, beta)
				p.run(tierAVX2, 1)
				want := append([]float32(nil), p.c...)
				threadCounts := []int{1}
				if 2*s.m*s.n*s.k >= smallWork {
					threadCounts = []int{1, 2, 3}
				}
				for _, budget := range []int{defaultBudget, 1 << 13} {
					packBudget = budget
					for _, threads := range threadCounts {
						copy(p.c, p.c0)
						p.run(tierAVX512, threads)
						if i := sameBits(p.c, want); i >= 0 {
							t.Fatalf("%s budget=%d threads=%d: buffer element %d = %v, AVX2 tier gave %v", ctx, budget, threads, i, p.c[i], want[i])
						}
					}
				}
				// MulPacked's path: packed whole, multiplied by the tier.
				pa := make([]float32, PackASize(s.m, s.k))
				pb := make([]float32, PackBSize(s.k, s.n))
				tierAVX512.packA(pa, mr*s.k, tc[0], p.a, p.lda, 0, s.m, 0, s.k)
				tierAVX512.packB(pb, nr*s.k, tc[1], p.b, p.ldb, 0, s.k, 0, s.n)
				for _, threads := range threadCounts {
					copy(p.c, p.c0)
					tierAVX512.mulPacked(s.m, s.n, s.k, alpha, pa, pb, beta, p.cs(), p.ldc, threads)
					if i := sameBits(p.c, want); i >= 0 {
						t.Fatalf("%s mulPacked threads=%d: buffer element %d = %v, AVX2 tier gave %v", ctx, threads, i, p.c[i], want[i])
					}
				}
			}
		}
	}
}
