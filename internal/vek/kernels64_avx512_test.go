//go:build !purego && amd64

package vek

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/cpu"
)

func skipNoAVX512F(t *testing.T) {
	t.Helper()
	if !cpu.X86.HasAVX512F || !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
		t.Skip("the CPU has no AVX-512F")
	}
}

// lengths64z covers every tail from 0 to 70 and a few longer slices.
func lengths64z() []int {
	var n []int
	for i := 0; i <= 70; i++ {
		n = append(n, i)
	}
	return append(n, 127, 128, 129, 1000, 4099)
}

// specials64z are values at the edges of every kernel: signed zeros,
// subnormals, huge values, infinities, NaN, the exp thresholds and their
// neighbours, and points where the reduction n = round(z·log2e) switches.
func specials64z() []float64 {
	inf := math.Inf(1)
	s := []float64{0, math.Copysign(0, -1), 1, -1, 0.5, -0.5, 1e-17, -1e-17,
		math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64, 0x1p-1022, -0x1p-1022,
		1e300, -1e300, math.MaxFloat64, -math.MaxFloat64, inf, -inf, math.NaN(),
		-745.2, -745.1, -720, 709.79, 710, 1000, -1000,
		0.5 * math.Ln2, -0.5 * math.Ln2, 700.5 * math.Ln2, -700.5 * math.Ln2}
	for _, b := range []float64{expLo64, expHi64, -1022 * math.Ln2, 1023 * math.Ln2} {
		s = append(s, b, math.Nextafter(b, inf), math.Nextafter(b, -inf))
	}
	return s
}

// inputs64z returns adversarial rows of length n.
func inputs64z(rng *rand.Rand, n int) map[string][]float64 {
	out := map[string][]float64{}
	for _, sc := range [][2]float64{{1, 0}, {300, -200}, {1e-9, 3}} {
		x := make([]float64, n)
		for i := range x {
			x[i] = rng.NormFloat64()*sc[0] + sc[1]
		}
		out[fmt.Sprintf("normal_%g_%g", sc[0], sc[1])] = x
	}
	ties := make([]float64, n)
	for i := range ties {
		ties[i] = float64(i % 3)
	}
	out["ties"] = ties
	masked := make([]float64, n)
	for i := range masked {
		masked[i] = rng.NormFloat64() * 10
		if rng.IntN(4) == 0 {
			masked[i] = math.Inf(-1)
		}
	}
	out["neg_inf_masked"] = masked
	sp := specials64z()
	k := rng.IntN(len(sp))
	specials := make([]float64, n)
	for i := range specials {
		specials[i] = sp[(i+k)%len(sp)]
	}
	out["specials"] = specials
	// Near the thresholds, where the flush to 0 and to +Inf switch on.
	near := make([]float64, n)
	for i := range near {
		b := expLo64
		if i%2 == 1 {
			b = expHi64
		}
		near[i] = b + float64(rng.IntN(9)-4)*0x1p-43
	}
	out["near_thresholds"] = near
	return out
}

func sameBits64z(t *testing.T, ctx string, got, want []float64) {
	t.Helper()
	for i := range want {
		if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
			t.Fatalf("%s [%d]: avx512 %v (%#x), avx2 %v (%#x)", ctx, i, got[i], math.Float64bits(got[i]), want[i], math.Float64bits(want[i]))
		}
	}
}

// sameSum64z checks two sums of the given terms, added in different
// orders. With a NaN term, or both infinities, both must be NaN; with one
// infinity, both that infinity; otherwise they must agree within
// 1e-15·len(terms) relative to Σ|terms|. When the sum of the finite
// terms' magnitudes overflows, whether a partial sum overflows depends on
// the order, and only the NaN cases are checked.
func sameSum64z(t *testing.T, ctx string, got, want float64, terms []float64) {
	t.Helper()
	var nan, pinf, ninf bool
	var abs float64
	for _, v := range terms {
		nan = nan || v != v
		pinf = pinf || math.IsInf(v, 1)
		ninf = ninf || math.IsInf(v, -1)
		if !math.IsInf(v, 0) {
			abs += math.Abs(v)
		}
	}
	switch {
	case nan || pinf && ninf:
		if !math.IsNaN(got) || !math.IsNaN(want) {
			t.Fatalf("%s: avx512 %v, avx2 %v; want NaN", ctx, got, want)
		}
	case math.IsInf(abs, 0):
	case pinf || ninf:
		inf := math.Inf(1)
		if ninf {
			inf = math.Inf(-1)
		}
		if got != inf || want != inf {
			t.Fatalf("%s: avx512 %v, avx2 %v; want %v", ctx, got, want, inf)
		}
	case !(math.Abs(got-want) <= 1e-15*float64(len(terms))*abs):
		t.Fatalf("%s: avx512 %v, avx2 %v (difference %g, Σ|terms| %g)", ctx, got, want, got-want, abs)
	}
}

// withSentinel returns a slice of length n whose backing array continues
// with a few sentinel values, and a check that they are untouched.
func withSentinel(n int) ([]float64, func(t *testing.T, ctx string)) {
	buf := make([]float64, n+9)
	for i := n; i < len(buf); i++ {
		buf[i] = math.Float64frombits(0x7ff4dead0000beef + uint64(i))
	}
	return buf[:n], func(t *testing.T, ctx string) {
		t.Helper()
		for i := n; i < len(buf); i++ {
			if math.Float64bits(buf[i]) != 0x7ff4dead0000beef+uint64(i) {
				t.Fatalf("%s: wrote past the end at %d", ctx, i)
			}
		}
	}
}

// TestAVX512Kernels64SameAsAVX2 checks the float64 AVX-512 kernels against
// their AVX2 twins: the same bits for every element-wise result, sums
// within their accumulation error, the same maximum and NaN flag.
func TestAVX512Kernels64SameAsAVX2(t *testing.T) {
	skipNoAVX512F(t)
	rng := rand.New(rand.NewPCG(64, 512))
	for _, n := range lengths64z() {
		for name, x := range inputs64z(rng, n) {
			ctx := fmt.Sprintf("n=%d/%s", n, name)
			a, checkA := withSentinel(n)
			b := make([]float64, n)

			exp64AVX512(a, x)
			exp64AVX2(b, x)
			sameBits64z(t, ctx+"/exp", a, b)
			checkA(t, ctx+"/exp")
			in := append([]float64(nil), x...)
			exp64AVX512(in, in)
			sameBits64z(t, ctx+"/exp in place", in, b)

			sameSum64z(t, ctx+"/sum", sum64AVX512(x), sum64AVX2(x), x)

			wm, wnan := maxNaN64Go(x)
			if n > 0 {
				m, nan := maxNaN64AVX512(x)
				m2, nan2 := maxNaN64AVX2(x)
				if nan != wnan || nan != nan2 || m != wm || (!nan2 && m != m2) {
					t.Fatalf("%s/maxNaN: avx512 (%v, %v), avx2 (%v, %v), generic (%v, %v)", ctx, m, nan, m2, nan2, wm, wnan)
				}
			}

			type ms struct{ m, s float64 }
			shifts := []ms{{0, 1}, {0.75, 0.37}}
			if !wnan && !math.IsInf(wm, 0) {
				shifts = append(shifts, ms{wm, 1}, ms{wm, 3.5})
			}
			for _, p := range shifts {
				pctx := fmt.Sprintf("%s/m=%v/s=%v", ctx, p.m, p.s)
				sa := expStoreSum64AVX512(a, x, p.m, p.s)
				sb := expStoreSum64AVX2(b, x, p.m, p.s)
				sameBits64z(t, pctx+"/expStoreSum", a, b)
				checkA(t, pctx+"/expStoreSum")
				// The terms are the stored values (checked to be the AVX2 ones).
				sameSum64z(t, pctx+"/expStoreSum sum", sa, sb, b)
				copy(in, x)
				if s := expStoreSum64AVX512(in, in, p.m, p.s); math.Float64bits(s) != math.Float64bits(sa) {
					t.Fatalf("%s/expStoreSum in place: sum %v, not %v", pctx, s, sa)
				}
				sameBits64z(t, pctx+"/expStoreSum in place", in, b)
				sameSum64z(t, pctx+"/expSum", expSum64AVX512(x, p.m, p.s), sb, b)
				if s := expSum64AVX512(x, p.m, p.s); math.Float64bits(s) != math.Float64bits(sa) {
					t.Fatalf("%s/expSum: %v, expStoreSum %v", pctx, s, sa)
				}
				if math.Float64bits(expSum64AVX2(x, p.m, p.s)) != math.Float64bits(sb) {
					t.Fatalf("%s: the AVX2 sums disagree", pctx)
				}

				for _, cb := range [][2]float64{{0.7, 0.01}, {-2.5, 1e300}, {1, 0}} {
					expAffine64AVX512(a, x, p.m, p.s, cb[0], cb[1])
					expAffine64AVX2(b, x, p.m, p.s, cb[0], cb[1])
					sameBits64z(t, fmt.Sprintf("%s/expAffine c=%v b=%v", pctx, cb[0], cb[1]), a, b)
					checkA(t, pctx+"/expAffine")
					copy(in, x)
					expAffine64AVX512(in, in, p.m, p.s, cb[0], cb[1])
					sameBits64z(t, pctx+"/expAffine in place", in, b)
				}

				shiftScale64AVX512(a, x, p.m, p.s, 1.25)
				shiftScale64AVX2(b, x, p.m, p.s, 1.25)
				sameBits64z(t, pctx+"/shiftScale", a, b)
				checkA(t, pctx+"/shiftScale")
				copy(in, x)
				shiftScale64AVX512(in, in, p.m, p.s, 1.25)
				sameBits64z(t, pctx+"/shiftScale in place", in, b)
			}

			for _, c := range []float64{0.3, -1e300, math.Copysign(0, -1)} {
				scale64AVX512(a, x, c)
				scale64AVX2(b, x, c)
				sameBits64z(t, fmt.Sprintf("%s/scale c=%v", ctx, c), a, b)
				checkA(t, ctx+"/scale")
				copy(in, x)
				scale64AVX512(in, in, c)
				sameBits64z(t, ctx+"/scale in place", in, b)

				for i := range a {
					a[i] = float64(i%7) - 3 + 1e-3*float64(i)
					b[i] = a[i]
				}
				axpy64AVX512(a, x, c)
				axpy64AVX2(b, x, c)
				sameBits64z(t, fmt.Sprintf("%s/axpy a=%v", ctx, c), a, b)
				checkA(t, ctx+"/axpy")
				copy(in, x)
				axpy64AVX512(in, in, c)
				copy(b, x)
				axpy64AVX2(b, b, c)
				sameBits64z(t, ctx+"/axpy in place", in, b)
			}
		}
	}
}

// TestAVX512MaxNaN64 puts the maximum and a NaN at every pair of
// positions: the flag must be set and the maximum must ignore the NaN.
func TestAVX512MaxNaN64(t *testing.T) {
	skipNoAVX512F(t)
	for n := 1; n <= 40; n++ {
		x := make([]float64, n)
		for pos := 0; pos < n; pos++ {
			for i := range x {
				x[i] = -float64(i) - 10
			}
			x[pos] = 5
			if m, nan := maxNaN64AVX512(x); m != 5 || nan {
				t.Fatalf("n=%d max at %d: got %v, %v", n, pos, m, nan)
			}
			for np := 0; np < n; np++ {
				if np == pos {
					continue
				}
				old := x[np]
				x[np] = math.NaN()
				if m, nan := maxNaN64AVX512(x); m != 5 || !nan {
					t.Fatalf("n=%d max at %d, NaN at %d: got %v, %v", n, pos, np, m, nan)
				}
				x[np] = old
			}
		}
		all := make([]float64, n)
		for i := range all {
			all[i] = math.Inf(-1)
		}
		if m, nan := maxNaN64AVX512(all); !math.IsInf(m, -1) || nan {
			t.Fatalf("n=%d all −Inf: got %v, %v", n, m, nan)
		}
		all[n-1] = math.NaN()
		if m, nan := maxNaN64AVX512(all); !math.IsInf(m, -1) || !nan {
			t.Fatalf("n=%d −Inf then NaN: got %v, %v", n, m, nan)
		}
	}
}

// TestAVX512Kernels64NoAccessOutside runs every float64 AVX-512 kernel on
// slices that start right after and end right before an inaccessible page,
// in place and with dst and x in separate guarded buffers.
func TestAVX512Kernels64NoAccessOutside(t *testing.T) {
	skipNoAVX512F(t)
	for _, n := range append(lengths64z()[:71], 127, 128, 129) {
		xl, xt := guarded(t, 8*n)
		dl, dt := guarded(t, 8*n)
		for _, pair := range [][2][]float64{
			{f64s(xl), f64s(xl)}, {f64s(xt), f64s(xt)},
			{f64s(dl), f64s(xl)}, {f64s(dt), f64s(xt)},
		} {
			dst, x := pair[0], pair[1]
			fill := func() {
				for i := range x {
					x[i] = float64(i%5) - 2
				}
			}
			fill()
			if n > 0 {
				m, _ := maxNaN64AVX512(x)
				expSum64AVX512(x, m, 1)
				expStoreSum64AVX512(dst, x, m, 1)
				fill()
				expAffine64AVX512(dst, x, m, 1, 0.5, 0.1)
				fill()
				shiftScale64AVX512(dst, x, m, 1, 0.5)
				fill()
			}
			exp64AVX512(dst, x)
			fill()
			axpy64AVX512(dst, x, 0.5)
			fill()
			sum64AVX512(x)
			scale64AVX512(dst, x, 2)
		}
	}
}
