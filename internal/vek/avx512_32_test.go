//go:build amd64 && !purego

package vek

import (
	"flag"
	"math"
	"math/rand/v2"
	"testing"
)

// exhaustive makes TestAVX512SameBitsAsAVX2 compare the exponential over
// every float32 input (slow under an emulated CPU: about an hour).
var exhaustive = flag.Bool("exhaustive", false, "compare the AVX-512 and AVX2 exponentials over every float32 input")

// TestAVX512SameBitsAsAVX2 checks that the float32 kernels of the AVX-512
// tier give, element for element, the bits of the AVX2 tier (the same
// operations in the same order), over every tail length, special values
// and a scan of the float32 inputs of the exponential (all of them with
// -exhaustive); sums must agree to their accumulation error.
func TestAVX512SameBitsAsAVX2(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU")
	}
	rng := rand.New(rand.NewPCG(71, 72))
	inf := float32(math.Inf(1))
	specials := []float32{0, float32(math.Copysign(0, -1)), 1, -1, inf, -inf, float32(math.NaN()), 88.72283, 88.72284, -87.33654, -87.33655, -103.9721, 1e-30, -1e-30, math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32}
	for _, n := range lengths() {
		if n > 5000 {
			continue
		}
		for name, x := range inputs32(rng, n) {
			if n > 0 {
				x[rng.IntN(n)] = specials[rng.IntN(len(specials))]
			}
			a, b := make([]float32, n), make([]float32, n)
			exp32AVX512(a, x)
			exp32AVX2(b, x)
			sameBits32(t, name+" exp32", a, b)

			m, nan := maxNaN32AVX2(append([]float32{-inf}, x...))
			m2, nan2 := maxNaN32AVX512(append([]float32{-inf}, x...))
			if nan != nan2 || (!nan && m != m2) {
				t.Fatalf("%s n=%d maxNaN: avx512 (%v, %v), avx2 (%v, %v)", name, n, m2, nan2, m, nan)
			}
			if nan || math.IsInf(float64(m), 0) {
				continue
			}
			for _, s := range []float32{1, 0.37} {
				sa := expStoreSum32AVX512(a, x, -m, s, 0)
				sb := expStoreSum32AVX2(b, x, -m, s, 0)
				sameBits32(t, name+" expStoreSum", a, b)
				if math.Abs(sa-sb) > 1e-6*math.Abs(sb)+1e-300 {
					t.Fatalf("%s n=%d s=%v expStoreSum: %v, avx2 %v", name, n, s, sa, sb)
				}
				if e := expSum32AVX512(x, -m, s, 0); math.Abs(e-sb) > 1e-6*math.Abs(sb)+1e-300 {
					t.Fatalf("%s n=%d s=%v expSum: %v, avx2 %v", name, n, s, e, sb)
				}
				expAffine32AVX512(a, x, -m, s, 0.7, 0.01)
				expAffine32AVX2(b, x, -m, s, 0.7, 0.01)
				sameBits32(t, name+" expAffine", a, b)
			}
			for i := range a {
				a[i], b[i] = float32(i%7)-3, float32(i%7)-3
			}
			axpy32AVX512(a, x, 0.37)
			axpy32AVX2(b, x, 0.37)
			sameBits32(t, name+" axpy", a, b)
			scale32AVX512(a, x, 0.3)
			scale32AVX2(b, x, 0.3)
			sameBits32(t, name+" scale", a, b)
			shiftScale32AVX512(a, x, m, 0.7, 1.25)
			shiftScale32AVX2(b, x, m, 0.7, 1.25)
			sameBits32(t, name+" shiftScale", a, b)
			if sa, sb := sum32AVX512(x), sum32AVX2(x); math.Abs(sa-sb) > 1e-12*sumAbs(x)+1e-300 {
				t.Fatalf("%s n=%d sum: %v, avx2 %v", name, n, sa, sb)
			}
		}
	}
	// The exponential over every 251st float32 bit pattern, or with
	// -exhaustive over all of them: with the exhaustive accuracy test of
	// the AVX2 tier, equal bits everywhere carry its bound over to this
	// tier.
	stride := uint64(251)
	if *exhaustive {
		stride = 1
	}
	const chunk = 1 << 14
	x, a, b := make([]float32, chunk), make([]float32, chunk), make([]float32, chunk)
	for base := uint64(0); base < 1<<32; base += stride * chunk {
		k := 0
		for bits := base; k < chunk && bits < 1<<32; bits += stride {
			x[k] = math.Float32frombits(uint32(bits))
			k++
		}
		exp32AVX512(a[:k], x[:k])
		exp32AVX2(b[:k], x[:k])
		for i := range k {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) && !(a[i] != a[i] && b[i] != b[i]) {
				t.Fatalf("exp32(%v): avx512 %v, avx2 %v", x[i], a[i], b[i])
			}
		}
	}
}

func sumAbs(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += math.Abs(float64(v))
	}
	return s
}

// TestTwoPassAVX512SameBitsAsAVX2 checks that the AVX-512 two-pass kernels
// store the mantissas and references of the AVX2 kernels, bit for bit,
// and that pass 2 gives the AVX2 outputs; (M, E) must agree to the
// accumulation error.
func TestTwoPassAVX512SameBitsAsAVX2(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU")
	}
	rng := rand.New(rand.NewPCG(73, 74))
	for _, n := range []int{64, 128, 192, 64 * 9, 1024, 4096} {
		for name, x := range inputs32(rng, n) {
			for i := range x {
				if math.Abs(float64(x[i])) >= TwoPassLimit {
					x[i] = float32(math.Inf(-1))
				}
			}
			var lmA, lmB [8]float64
			var leA, leB [8]float32
			refsA, refsB := make([]float32, TwoPassRefs(n)), make([]float32, TwoPassRefs(n))
			a, b := make([]float32, n), make([]float32, n)
			extExpSumStore32AVX512(a, x, &lmA, &leA, &refsA[0])
			extExpSumStore32AVX2(b, x, &lmB, &leB, &refsB[0])
			sameBits32(t, name+" stored mantissas", a, b)
			sameBits32(t, name+" references", refsA, refsB)
			mA, eA := mergeLanes(lmA[:], leA[:])
			mB, eB := mergeLanes(lmB[:], leB[:])
			if eA != eB || math.Abs(mA-mB) > 1e-6*mB {
				t.Fatalf("%s n=%d: (M, E) avx512 (%v, %v), avx2 (%v, %v)", name, n, mA, eA, mB, eB)
			}
			var lm [8]float64
			var le [8]float32
			extExpSum32AVX512(x, &lm, &le)
			if m, e := mergeLanes(lm[:], le[:]); e != eB || math.Abs(m-mB) > 1e-6*mB {
				t.Fatalf("%s n=%d: pass 1 (%v, %v), avx2 (%v, %v)", name, n, m, e, mB, eB)
			}
			if !accept(mB, eB) {
				continue
			}
			c := float32(1 / mB)
			extRescale32AVX512(a, &refsA[0], float32(eB), c)
			extRescale32AVX2(b, &refsB[0], float32(eB), c)
			sameBits32(t, name+" rescaled", a, b)
			for _, k := range []int{n, n - 1, n - 17, 5} {
				extExpScale32AVX512(a[:k], x[:k], float32(eB), c)
				extExpScale32AVX2(b[:k], x[:k], float32(eB), c)
				sameBits32(t, name+" pass 2", a[:k], b[:k])
			}
		}
	}
}
