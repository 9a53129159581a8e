package vek

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// lengths covers every tail from 0 to 70 and a few long slices whose
// lengths are not multiples of any unroll.
func lengths() []int {
	var n []int
	for i := 0; i <= 70; i++ {
		n = append(n, i)
	}
	return append(n, 127, 128, 129, 1000, 4099, 65537)
}

// inputs32 returns adversarial rows: random at many scales and offsets,
// ties, −Inf masks, tiny values beside large ones.
func inputs32(rng *rand.Rand, n int) map[string][]float32 {
	out := map[string][]float32{}
	for _, scale := range []float64{1e-6, 1, 30, 1e4} {
		for _, off := range []float64{0, -3e4, 3e4} {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(rng.NormFloat64()*scale + off)
			}
			out[fmt.Sprintf("scale%g_off%g", scale, off)] = x
		}
	}
	ties := make([]float32, n)
	for i := range ties {
		ties[i] = float32(i % 3)
	}
	out["ties"] = ties
	masked := make([]float32, n)
	for i := range masked {
		if i%4 == 1 {
			masked[i] = float32(math.Inf(-1))
		} else {
			masked[i] = float32(rng.NormFloat64() * 5)
		}
	}
	out["masked"] = masked
	// Values whose difference from the maximum is not a float32: tiny x
	// beside a maximum of a few tens (the two-sum path).
	mixed := make([]float32, n)
	for i := range mixed {
		mixed[i] = float32(rng.Float64()*1e-3) - float32(i%2)*float32(rng.Float64()*60)
	}
	if n > 0 {
		mixed[n/2] = 37.123456
	}
	out["mixed_magnitudes"] = mixed
	return out
}

// checkElems checks dst[i] = c·exp(s·(x_i − m)) elementwise — within
// 2 ulp for the exponential, 0.5 ulp for the product by c, and |z|·2⁻²⁴ for
// the rounding of z = s·(x_i − m) when s ≠ 1 — and that the guard elements
// after len(x) still hold 42.
// neumaier returns Σx by compensated summation (accurate to a few ulp).
func neumaier(x []float64) float64 {
	var s, c float64
	for _, v := range x {
		t := s + v
		if math.Abs(s) >= math.Abs(v) {
			c += (s - t) + v
		} else {
			c += (v - t) + s
		}
		s = t
	}
	if math.IsInf(s, 0) {
		return s
	}
	return s + c
}

func closeRel(got, want, rel, abs float64) bool {
	return got == want || math.Abs(got-want) <= rel*math.Abs(want)+abs
}

func absMax32(x []float32) float32 {
	var m float32
	for _, v := range x {
		if !math.IsInf(float64(v), 0) {
			m = max(m, float32(math.Abs(float64(v))))
		}
	}
	return m
}

func minFinite32(x []float32) float32 {
	m := float32(math.Inf(1))
	for _, v := range x {
		if !math.IsInf(float64(v), 0) {
			m = min(m, v)
		}
	}
	return m
}

func sameBits32(t *testing.T, ctx string, a, b []float32) {
	t.Helper()
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) && !(a[i] != a[i] && b[i] != b[i]) {
			t.Fatalf("%s [%d]: %v vs generic %v", ctx, i, a[i], b[i])
		}
	}
}

func TestMaxNaN64(t *testing.T) {
	for _, tier := range tiers64 {
		for n := 1; n <= 40; n++ {
			for pos := 0; pos < n; pos++ {
				x := make([]float64, n)
				for i := range x {
					x[i] = float64(-i) - 0.5
				}
				x[pos] = math.NaN()
				if _, nan := tier.maxNaN(x); !nan {
					t.Fatalf("%s n=%d: NaN at %d not seen", tier.name, n, pos)
				}
				if q := (4*pos + 3) % n; q != pos {
					x[q] = 5
					if m, nan := tier.maxNaN(x); m != 5 || !nan {
						t.Fatalf("%s n=%d: NaN at %d, max at %d: got %v, %v", tier.name, n, pos, q, m, nan)
					}
					x[q] = float64(-q) - 0.5
				}
				x[pos] = 5
				if m, nan := tier.maxNaN(x); m != 5 || nan {
					t.Fatalf("%s n=%d: max at %d: got %v, %v", tier.name, n, pos, m, nan)
				}
			}
		}
	}
}

func TestKernels64(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tier := range tiers64 {
		for _, n := range lengths() {
			if testing.Short() && n > 5000 {
				continue
			}
			for name, x32 := range inputs32(rng, n) {
				x := make([]float64, n)
				for i, v := range x32 {
					x[i] = float64(v) + rng.Float64()*1e-9 // bits beyond float32
				}
				ctx := fmt.Sprintf("%s/n=%d/%s", tier.name, n, name)
				m, nan := tier.maxNaN(x)
				wm, _ := maxNaN64Go(x)
				if m != wm || nan {
					t.Fatalf("%s: max = %v, %v; want %v", ctx, m, nan, wm)
				}
				if n == 0 {
					continue
				}
				for _, s := range []float64{1, 0.37} {
					var terms []float64
					for _, v := range x {
						terms = append(terms, math.Exp((v-m)*s))
					}
					want := neumaier(terms)
					// The argument (x−m)·s is rounded (|z|·2⁻⁵³ relative);
					// the sum adds at most n roundings.
					tol := 1e-15 + s*float64(float32(m)-minFinite32(x32)+1)*0x1p-53 + float64(n)*0x1p-53
					if got := tier.expSum(x, m, s); !closeRel(got, want, tol, 0) {
						t.Errorf("%s s=%v: expSum = %v, want %v", ctx, s, got, want)
					}
					dst := make([]float64, n+4)
					for i := range dst {
						dst[i] = 42
					}
					if got := tier.expStoreSum(dst[:n], x, m, s); !closeRel(got, want, tol, 0) {
						t.Errorf("%s: expStoreSum = %v, want %v", ctx, got, want)
					}
					c := 1 / want
					for pass, fn := range []func(){
						func() {},
						func() { tier.expAffine(dst[:n], x, m, s, c, 0) },
					} {
						fn()
						k := 1.0
						if pass == 1 {
							k = c
						}
						for i, v := range x {
							w := k * math.Exp((v-m)*s)
							if w < 0x1p-1021 {
								continue
							}
							if !closeRel(dst[i], w, tol+4e-16, 0) {
								t.Fatalf("%s pass %d [%d]: %v, want %v", ctx, pass, i, dst[i], w)
							}
						}
						for i := n; i < len(dst); i++ {
							if dst[i] != 42 {
								t.Fatalf("%s: wrote past the end at %d", ctx, i)
							}
						}
					}
				}
				// Every tier returns the portable twin's bits.
				g := generic64
				for _, s := range []float64{1, 0.37} {
					sameBitsF64(t, ctx+" expSum", tier.expSum(x, m, s), g.expSum(x, m, s))
					d1, d2 := make([]float64, n), make([]float64, n)
					sameBitsF64(t, ctx+" expStoreSum", tier.expStoreSum(d1, x, m, s), g.expStoreSum(d2, x, m, s))
					for i := range d1 {
						sameBitsF64(t, ctx+" expStoreSum elem", d1[i], d2[i])
					}
					tier.expAffine(d1, x, m, s, 0.3, 0.01)
					g.expAffine(d2, x, m, s, 0.3, 0.01)
					for i := range d1 {
						sameBitsF64(t, ctx+" expAffine", d1[i], d2[i])
					}
					tier.exp(d1, x)
					g.exp(d2, x)
					for i := range d1 {
						if !(d1[i] != d1[i] && d2[i] != d2[i]) {
							sameBitsF64(t, ctx+" exp", d1[i], d2[i])
						}
					}
				}
				sameBitsF64(t, ctx+" sum", tier.sum(x), g.sum(x))
				ws := neumaier(x)
				if got := tier.sum(x); !closeRel(got, ws, 1e-12, float64(n)*0x1p-53*float64(absMax32(x32)+1)) {
					t.Errorf("%s: sum = %v, want %v", ctx, got, ws)
				}
				a, b := make([]float64, n), make([]float64, n)
				tier.scale(a, x, 0.3)
				scale64Go(b, x, 0.3)
				for i := range a {
					if a[i] != b[i] && !(a[i] != a[i] && b[i] != b[i]) {
						t.Fatalf("%s scale [%d]: %v vs %v", ctx, i, a[i], b[i])
					}
				}
				for i := range a {
					a[i], b[i] = float64(i%7)-3, float64(i%7)-3
				}
				tier.axpy(a, x, 0.37)
				axpy64Go(b, x, 0.37)
				for i := range a {
					if a[i] != b[i] && !(a[i] != a[i] && b[i] != b[i]) {
						t.Fatalf("%s axpy [%d]: %v vs %v", ctx, i, a[i], b[i])
					}
				}
				tier.shiftScale(a, x, m, 0.7, 1.25)
				shiftScale64Go(b, x, m, 0.7, 1.25)
				for i := range a {
					if a[i] != b[i] && !(a[i] != a[i] && b[i] != b[i]) {
						t.Fatalf("%s shiftScale [%d]: %v vs %v", ctx, i, a[i], b[i])
					}
				}
			}
		}
	}
}

// TestExp32Tails runs the general exponential over every tail length and
// checks the guard elements.
