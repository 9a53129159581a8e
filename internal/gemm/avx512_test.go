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

// fma32 returns a·b + c rounded once to float32 (a fused multiply-add):
// the product is exact in float64, and the float64 sum is rounded to
// float32 directly unless it lies halfway between two float32 values,
// where the float64 rounding error (recovered exactly) breaks the tie.
func fma32(a, b, c float32) float32 {
	p := float64(a) * float64(b)
	s := p + float64(c)
	r := float32(s)
	if float64(r) == s || s != s || math.IsInf(s, 0) {
		return r
	}
	up := math.Nextafter32(r, float32(math.Inf(1)))
	if float64(r) > s {
		up = math.Nextafter32(r, float32(math.Inf(-1)))
	}
	if 2*s != float64(r)+float64(up) {
		return r
	}
	// s is a tie; the exact sum is s + e.
	var e float64
	if math.Abs(p) >= math.Abs(float64(c)) {
		e = (p - s) + float64(c)
	} else {
		e = (float64(c) - s) + p
	}
	if e == 0 {
		return r
	}
	if (e > 0) == (float64(up) > float64(r)) {
		return up
	}
	return r
}

// TestFMA32 checks the test's fused multiply-add on cases whose exact
// result is known: a product below half an ulp of the addend, exact
// halfway cases broken by the low bits of the product, and overflow.
func TestFMA32(t *testing.T) {
	const (
		e23 = 0x1p-23
		e24 = 0x1p-24
	)
	for _, c := range []struct{ a, b, c, want float32 }{
		{1, 1, 1, 2},
		{e24, 1, 1, 1},                       // exactly halfway: ties to even
		{e24 * (1 + 0x1p-20), 1, 1, 1 + e23}, // above halfway
		// Products just off a float32 halfway point by less than half a
		// float64 ulp: the float64 sum is a tie, the exact sum is not.
		{1 + 0x1p-18, e24 * (1 - 0x1p-18), 1 + e23, 1 + e23},    // just below 1 + 3·2⁻²⁴
		{-(1 + 0x1p-18), e24 * (1 - 0x1p-18), 1 + e23, 1 + e23}, // just above 1 + 2⁻²⁴
		{3e38, 10, 0, float32(math.Inf(1))},
		{1 + e23, 1 - e23, -1, -0x1p-46}, // exact: 1 − 2⁻⁴⁶ − 1
	} {
		if got := fma32(c.a, c.b, c.c); got != c.want {
			t.Errorf("fma32(%g, %g, %g) = %g, want %g", c.a, c.b, c.c, got, c.want)
		}
	}
}

// refTile computes one element of a column kernel's output by the
// documented operations: a chain of fused multiply-adds from zero over p
// ascending, the product by alpha, then (accum) one fused multiply-add
// with beta·C — on every tier, the portable kernel included (fused false
// rounds every product and sum apart, a form no kernel uses any more).
func refTile(fused bool, kc, mr, nr int, a, b []float32, i, j int, alpha, beta, c0 float32, accum bool) float32 {
	fma := fma32
	if !fused {
		fma = func(x, y, z float32) float32 { return float32(float32(x*y) + z) }
	}
	var acc float32
	for p := range kc {
		acc = fma(a[p*mr+i], b[p*nr+j], acc)
	}
	r := alpha * acc
	if accum {
		r = fma(beta, c0, r)
	}
	return r
}

// sameValue reports whether two results agree: the same bits, or both NaN
// (the kernels do not promise a NaN's payload).
func sameValue(x, y float32) bool {
	return math.Float32bits(x) == math.Float32bits(y) || x != x && y != y
}

// TestColKernel checks every tier's column kernel against the documented
// operations, element by element: full tiles and every number of rows
// left over, full and partial columns, k tails of the 4-step loop, with
// and without beta, on values that include −0, infinities, NaN and
// products that overflow; and that it writes nothing outside the m×cols
// block of C.
func TestColKernel(t *testing.T) {
	rng := rand.New(rand.NewPCG(71, 72))
	for _, tr := range tiers() {
		mr, nr := tr.mr, tr.nr
		for _, kc := range []int{1, 2, 3, 4, 5, 7, 8, 9, 31, 256} {
			for _, m := range []int{1, mr - 1, mr, mr + 1, 2*mr + mr/2, 3 * mr} {
				for _, cols := range []int{nr, 1, nr / 2, nr/2 + 1, nr - 1} {
					special := rng.IntN(2) == 0
					beta := []float32{0, 1, 0.5, -1.25}[rng.IntN(4)]
					val := randVal
					if special {
						val = specialVal
					}
					panels := ceilDiv(m, mr)
					sa := mr*kc + rng.IntN(3)*mr
					a := make([]float32, (panels-1)*sa+mr*kc)
					for i := range a {
						a[i] = val(rng)
					}
					b := make([]float32, nr*kc)
					for i := range b {
						b[i] = val(rng)
					}
					alpha := []float32{1, 0.75, -1.5, 3}[rng.IntN(4)]
					ldc := nr + rng.IntN(5)
					off := rng.IntN(3)
					c0 := make([]float32, off+(m-1)*ldc+nr+3)
					for i := range c0 {
						c0[i] = math.Float32frombits(guardBits)
					}
					for i := range m {
						for j := range cols {
							c0[off+i*ldc+j] = val(rng)
						}
					}
					accum := beta != 0
					got := append([]float32(nil), c0...)
					tr.col(kc, a, sa, m, b, cols, got[off:], ldc, alpha, beta, accum, prefetchRows(b, 3, 64, 100))
					ctx := fmt.Sprintf("%s kc=%d m=%d cols=%d special=%v alpha=%v beta=%v", tr.name, kc, m, cols, special, alpha, beta)
					for x := range got {
						o := x - off
						i, j := o/ldc, o%ldc
						want := c0[x]
						if o >= 0 && i < m && j < cols {
							q := i / mr
							want = refTile(true, kc, mr, nr, a[q*sa:], b, i%mr, j, alpha, beta, c0[x], accum)
						}
						if !sameValue(got[x], want) {
							t.Fatalf("%s: buffer element %d (row %d, col %d) = %v (%#x), want %v (%#x)",
								ctx, x, i, j, got[x], math.Float32bits(got[x]), want, math.Float32bits(want))
						}
					}
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
	rng := rand.New(rand.NewPCG(73, 74))
	type shape struct{ m, n, k int }
	shapes := []shape{
		{12, 32, 1}, {11, 31, 4}, {13, 33, 5}, {24, 64, 9}, {25, 70, 257},
		{37, 47, 300}, {1, 100, 3}, {100, 1, 3}, {6, 16, 7}, {18, 48, 2},
		// Enough work for several threads, several row blocks and k
		// blocks.
		{50, 100, 430}, {61, 530, 70}, {800, 70, 300}, {397, 130, 520}, {400, 700, 100},
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
				for _, threads := range threadCounts {
					copy(p.c, p.c0)
					p.run(tierAVX512, threads)
					if i := sameBits(p.c, want); i >= 0 {
						t.Fatalf("%s threads=%d: buffer element %d = %v, AVX2 tier gave %v", ctx, threads, i, p.c[i], want[i])
					}
				}
				// MulPacked's path: packed whole, multiplied by the tier.
				tr := tierAVX512
				pa := make([]float32, roundUp(s.m, tr.mr)*s.k)
				pb := make([]float32, roundUp(s.n, tr.nr)*s.k)
				tr.packA(pa, tr.mr*s.k, tc[0], p.a, p.lda, 0, s.m, 0, s.k)
				tr.packB(pb, tr.nr*s.k, tc[1], p.b, p.ldb, 0, s.k, 0, s.n)
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
