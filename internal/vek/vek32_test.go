package vek

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// sameBitsF64 fails unless a and b are the same float64 bits.
func sameBitsF64(t *testing.T, ctx string, got, want float64) {
	t.Helper()
	if math.Float64bits(got) != math.Float64bits(want) {
		t.Fatalf("%s: %v (%#x) vs generic %v (%#x)", ctx, got, math.Float64bits(got), want, math.Float64bits(want))
	}
}

// misaligned returns a copy of x that starts off elements into a fresh
// buffer, so the kernels see every alignment.
func misaligned(x []float32, off int) []float32 {
	b := make([]float32, len(x)+off+16)
	y := b[off : off+len(x)]
	copy(y, x)
	return y
}

// TestTiers32SameBits runs every float32 kernel of every tier on random
// and adversarial rows of every tail length, at several alignments, and
// requires the bits of the portable twin: elementwise results and sums.
func TestTiers32SameBits(t *testing.T) {
	if len(tiers32) == 1 {
		t.Skip("no assembly tier on this machine")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	g := generic32
	for _, n := range lengths() {
		if testing.Short() && n > 5000 {
			continue
		}
		for name, x0 := range inputs32(rng, n) {
			for _, off := range []int{0, 1, 7} {
				x := misaligned(x0, off)
				wm, wnan := g.maxNaN(x)
				var c float32
				cok := false
				if n > 0 && !math.IsInf(float64(wm), 0) {
					c, cok = Shift32(wm)
				}
				for _, k := range tiers32[1:] {
					ctx := fmt.Sprintf("%s/n=%d/%s/off=%d", k.name, n, name, off)
					if n > 0 {
						m, nan := k.maxNaN(x)
						if m != wm || nan != wnan {
							t.Fatalf("%s: maxNaN = %v, %v; generic %v, %v", ctx, m, nan, wm, wnan)
						}
					}
					sameBitsF64(t, ctx+" sum", k.sum(x), g.sum(x))
					a, b := make([]float32, n), make([]float32, n)
					k.scale(a, x, 0.3)
					g.scale(b, x, 0.3)
					sameBits32(t, ctx+" scale", a, b)
					k.exp(a, x)
					g.exp(b, x)
					sameBits32(t, ctx+" exp", a, b)
					if n == 0 || math.IsInf(float64(wm), 0) {
						continue
					}
					k.shiftScale(a, x, wm, 0.7, 1.25)
					g.shiftScale(b, x, wm, 0.7, 1.25)
					sameBits32(t, ctx+" shiftScale", a, b)
					for i := range a {
						a[i], b[i] = float32(i%7)-3, float32(i%7)-3
					}
					k.axpy(a, x, 0.37)
					g.axpy(b, x, 0.37)
					sameBits32(t, ctx+" axpy", a, b)
					if cok {
						sameBitsF64(t, ctx+" expShiftSum", k.expShiftSum(x, -c), g.expShiftSum(x, -c))
						sameBitsF64(t, ctx+" expShiftStore", k.expShiftStore(a, x, -c), g.expShiftStore(b, x, -c))
						sameBits32(t, ctx+" expShiftStore", a, b)
					}
					for _, s := range []float32{1, 0.37, 2.5} {
						cs := fmt.Sprintf("%s s=%v", ctx, s)
						sameBitsF64(t, cs+" expSum", k.expSum(x, -wm, s), g.expSum(x, -wm, s))
						sameBitsF64(t, cs+" expStoreSum", k.expStoreSum(a, x, -wm, s), g.expStoreSum(b, x, -wm, s))
						sameBits32(t, cs+" expStoreSum", a, b)
						k.expAffine(a, x, -wm, s, 0.3, 0.01)
						g.expAffine(b, x, -wm, s, 0.3, 0.01)
						sameBits32(t, cs+" expAffine", a, b)
					}
				}
			}
		}
	}
}

// TestStep32 checks every combination of a pipeline step's parts against
// the separate kernels, bit for bit, on every tier (the non-temporal
// stores at every alignment of the output).
func TestStep32(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, k := range tiers32 {
		for _, n := range []int{1, 15, 16, 17, 63, 64, 65, 255, 256, 257, 1000, 4103} {
			x := make([]float32, n)
			src := make([]float32, n)
			next := make([]float32, n)
			for i := range x {
				x[i] = float32(rng.NormFloat64() * 4)
				src[i] = float32(rng.NormFloat64())
				next[i] = float32(rng.NormFloat64() * 9)
			}
			wantMax, _ := generic32.maxNaN(next)
			m, _ := MaxNaN32(x)
			c, ok := Shift32(m)
			if !ok {
				t.Fatal("no shift for a small row")
			}
			wantE := make([]float32, n)
			wantSum := generic32.expShiftStore(wantE, x, -c)
			wantScale := make([]float32, n)
			generic32.scale(wantScale, src, 0.125)
			wantShift := make([]float32, n)
			for i, v := range src {
				wantShift[i] = (v - 0.5) - 0.25
			}
			wantMulSub := make([]float32, n)
			generic32.shiftScale(wantMulSub, src, 0, 0.125, 0.75)
			for _, parts := range []int{1, 2, 3, 4, 5, 6, 7} {
				for _, omode := range []int{stepScale, stepShift, stepMulSub} {
					for _, nt := range []bool{false, true} {
						for _, off := range []int{0, 3} {
							ctx := fmt.Sprintf("%s n=%d parts=%b mode=%v nt=%v off=%d", k.name, n, parts, omode, nt, off)
							e := misaligned(make([]float32, n), off)
							out := misaligned(make([]float32, n), off)
							var ep, xp, op, sp, np *float32
							if parts&1 != 0 {
								xp, ep = &x[0], &e[0]
							}
							if parts&2 != 0 {
								op, sp = &out[0], &src[0]
							}
							if parts&4 != 0 {
								np = &next[0]
							}
							mode := omode
							a, b := float32(0.125), float32(0)
							switch omode {
							case stepShift:
								a, b = 0.5, 0.25
							case stepMulSub:
								b = 0.75
							}
							if nt {
								mode |= stepNT
							}
							sum, nm, nan := k.step(n, ep, xp, -c, op, sp, a, b, mode, np, 256)
							k.fence()
							if parts&1 != 0 {
								sameBitsF64(t, ctx+" sum", sum, wantSum)
								sameBits32(t, ctx+" e", e, wantE)
							} else if sum != 0 {
								t.Fatalf("%s: sum %v without the exp part", ctx, sum)
							}
							if parts&2 != 0 {
								switch omode {
								case stepShift:
									sameBits32(t, ctx+" out", out, wantShift)
								case stepMulSub:
									sameBits32(t, ctx+" out", out, wantMulSub)
								default:
									sameBits32(t, ctx+" out", out, wantScale)
								}
							}
							if parts&4 != 0 {
								if nm != wantMax || nan {
									t.Fatalf("%s: next max %v, %v", ctx, nm, nan)
								}
							} else if !math.IsInf(float64(nm), -1) || nan {
								t.Fatalf("%s: next max %v, %v without next", ctx, nm, nan)
							}
						}
					}
				}
			}
			// Next = X, as the row pipeline's one-read step passes them
			// (the assembly then finds the maximum in the exponential
			// part): the same bits as with Next a copy of X, with and
			// without a NaN in the row.
			for _, withNaN := range []bool{false, true} {
				xx := append([]float32(nil), x...)
				if withNaN {
					xx[n/3] = float32(math.NaN())
				}
				cp := append([]float32(nil), xx...)
				e1, e2 := make([]float32, n), make([]float32, n)
				o1, o2 := make([]float32, n), make([]float32, n)
				s1, m1, nan1 := k.step(n, &e1[0], &xx[0], -c, &o1[0], &src[0], 0.125, 0, stepScale, &xx[0], 256)
				s2, m2, nan2 := k.step(n, &e2[0], &xx[0], -c, &o2[0], &src[0], 0.125, 0, stepScale, &cp[0], 256)
				ctx := fmt.Sprintf("%s n=%d next=x nan=%v", k.name, n, withNaN)
				sameBitsF64(t, ctx+" sum", s1, s2)
				sameBits32(t, ctx+" e", e1, e2)
				sameBits32(t, ctx+" out", o1, o2)
				wm, _ := generic32.maxNaN(xx)
				if m1 != m2 || nan1 != nan2 || m1 != wm || nan1 != withNaN {
					t.Fatalf("%s: max %v %v, with a copy %v %v, want %v %v", ctx, m1, nan1, m2, nan2, wm, withNaN)
				}
			}
			// A NaN in next is reported, and the maximum ignores it.
			next[n/2] = float32(math.NaN())
			_, nm, nan := k.step(n, nil, nil, 0, nil, nil, 0, 0, 0, &next[0], 0)
			wm, _ := generic32.maxNaN(next)
			if !nan || nm != wm {
				t.Fatalf("%s n=%d: step next with NaN: %v %v, want %v true", k.name, n, nm, nan, wm)
			}
		}
	}
}

// TestStep32API checks the exported Step against the separate exported
// kernels on one row.
func TestStep32API(t *testing.T) {
	x := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17}
	next := []float32{-1, 30, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	prev := []float32{0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7, 7.5, 8, 8.5}
	e := make([]float32, len(x))
	out := make([]float32, len(x))
	p := Step32{E: e, X: x, C: 0, Out: out, Src: prev, A: 2, Next: next, Prefetch: 64}
	sum, m, nan := p.Step()
	we := make([]float32, len(x))
	if ws := ExpShiftStore32(we, x, 0); sum != ws {
		t.Fatalf("sum %v, want %v", sum, ws)
	}
	sameBits32(t, "e", e, we)
	wo := make([]float32, len(x))
	Scale32(wo, prev, 2)
	sameBits32(t, "out", out, wo)
	if m != 30 || nan {
		t.Fatalf("next max %v %v", m, nan)
	}
	if s, m, nan := (&Step32{}).Step(); s != 0 || !math.IsInf(float64(m), -1) || nan {
		t.Fatalf("empty step: %v %v %v", s, m, nan)
	}
}

// TestShift32Exact checks Shift32's promise on maxima from every binade
// of its two ranges (and their edges): for every x in [m − 69.1, m], x − c
// is exact, exp(x − c) does not overflow, and an element within 69 of the
// maximum does not underflow.
func TestShift32Exact(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	var ms []float32
	for _, e := range []float64{-16, -9.7, -1, -1e-3, -1e-30, 0, 1e-30, 1e-6, 0.5, 1, 7.25, 31.9, 63, 64, 84.999, 85,
		138, 138.5, 255.9, 256, 1e4, 3e38, -69, -69.5, -128, -1e6, -3e38} {
		ms = append(ms, float32(e))
	}
	for i := 0; i < 2000; i++ {
		switch i % 3 {
		case 0:
			ms = append(ms, float32(rng.Float64()*101-16))
		case 1:
			ms = append(ms, float32(138*math.Exp(rng.Float64()*10)))
		case 2:
			ms = append(ms, float32(-69*math.Exp(rng.Float64()*10)))
		}
	}
	for _, m := range ms {
		c, ok := Shift32(m)
		if !ok {
			t.Fatalf("Shift32(%v) not ok", m)
		}
		lo := float64(m) - 69.1
		check := func(x float32) {
			if !(float64(x) <= float64(m) && float64(x) >= lo) {
				return
			}
			d := x - c
			if float64(d) != float64(x)-float64(c) {
				t.Fatalf("m=%v c=%v: %v − c = %v is not exact", m, c, x, d)
			}
			if d > 85 {
				t.Fatalf("m=%v c=%v: x − c = %v may overflow", m, c, d)
			}
			if float64(x)-float64(m) >= -69 && d < f32lo {
				t.Fatalf("m=%v c=%v: x = %v underflows", m, c, x)
			}
		}
		// The edges, their neighbours, and random points in between,
		// including the smallest magnitudes around zero.
		for _, x := range []float32{m, float32(lo), math.Nextafter32(float32(lo), m), 0, float32(math.Copysign(1e-38, float64(m))), 1e-30, -1e-30} {
			check(x)
		}
		for i := 0; i < 200; i++ {
			check(float32(lo + rng.Float64()*69.1))
			check(math.Float32frombits(math.Float32bits(m) - uint32(rng.IntN(1<<20))))
		}
	}
	for _, m := range []float32{85.5, 100, 137.9, -16.5, -68.9, float32(math.Inf(1)), float32(math.Inf(-1))} {
		if _, ok := Shift32(m); ok {
			t.Errorf("Shift32(%v) ok, want the exact kernels", m)
		}
	}
}

// expRelErr returns the relative error of got against exp(z) computed in
// float64 (z exact).
func expRelErr(got float32, z float64) float64 {
	w := math.Exp(z)
	return math.Abs(float64(got)-w) / w
}

// TestExpShiftAccuracy scans the softmax exponential over every 17th
// float32 argument of its domain [ln 2⁻¹²⁶, 85] and requires each result
// within 2e-7 of exp(z) (the polynomial, the reduction and the final
// rounding), exactly 0 below the domain.
func TestExpShiftAccuracy(t *testing.T) {
	stride := uint32(17)
	if testing.Short() {
		stride = 1009
	}
	worst, worstZ := 0.0, float32(0)
	x := make([]float32, 0, 1<<16)
	got := make([]float32, 1<<16)
	flush := func() {
		k32.expShiftStore(got[:len(x)], x, 0)
		for i, z := range x {
			if e := expRelErr(got[i], float64(z)); e > worst {
				worst, worstZ = e, z
			}
		}
		x = x[:0]
	}
	scan := func(from, to uint32) {
		for b := from; b <= to; b += stride {
			x = append(x, math.Float32frombits(b))
			if len(x) == cap(x) {
				flush()
			}
		}
	}
	scan(0, math.Float32bits(85))
	scan(0x80000000, math.Float32bits(f32lo))
	flush()
	t.Logf("worst relative error %.3g at z = %v", worst, worstZ)
	if worst > 2e-7 {
		t.Errorf("exp(%v): relative error %.3g > 2e-7", worstZ, worst)
	}
	below := []float32{math.Nextafter32(f32lo, -1000), -88, -100, -1e30, float32(math.Inf(-1))}
	out := make([]float32, len(below))
	for _, k := range tiers32 {
		k.expShiftStore(out, below, 0)
		for i, v := range out {
			if math.Float32bits(v) != 0 {
				t.Errorf("%s: exp(%v) = %v, want 0", k.name, below[i], v)
			}
		}
	}
}

// TestExpExactAccuracy checks the exact-pair kernels (ExpSum32,
// ExpStoreSum32, ExpAffine32) against float64 on the adversarial rows:
// each element within 4e-7 plus the rounding of s·(x − m), the sums
// within the same bound plus the summation error.
func TestExpExactAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 17, 64, 129, 1000, 4099} {
		for name, x := range inputs32(rng, n) {
			m, _ := MaxNaN32(x)
			if math.IsInf(float64(m), 0) {
				continue
			}
			for _, s := range []float32{1, 0.37, 2.5} {
				ctx := fmt.Sprintf("n=%d/%s/s=%v", n, name, s)
				dst := make([]float32, n)
				got := ExpStoreSum32(dst, x, m, s)
				var terms []float64
				for i, v := range x {
					z := (float64(v) - float64(m)) * float64(s)
					w := math.Exp(z)
					terms = append(terms, w)
					tol := 2e-7 + math.Abs(z)*0x1p-24*float64(b2f(s != 1))
					if w < 0x1p-126 {
						if float64(dst[i]) > 0x1p-125 {
							t.Fatalf("%s [%d]: %v, want ~%v", ctx, i, dst[i], w)
						}
						continue
					}
					if math.Abs(float64(dst[i])-w) > tol*w {
						t.Fatalf("%s [%d]: exp = %v, want %v (rel %.3g)", ctx, i, dst[i], w, math.Abs(float64(dst[i])-w)/w)
					}
				}
				want := neumaier(terms)
				tol := 4e-7 + 5*0x1p-24
				if s != 1 {
					tol += float64(s) * float64(m-minFinite32(x)) * 0x1p-24
				}
				if !closeRel(got, want, tol, 0) || !closeRel(ExpSum32(x, m, s), want, tol, 0) {
					t.Fatalf("%s: sums %v %v, want %v", ctx, got, ExpSum32(x, m, s), want)
				}
				a, b := float32(1/want), float32(0.25/want)
				ExpAffine32(dst, x, m, s, a, b)
				for i, v := range x {
					z := (float64(v) - float64(m)) * float64(s)
					e := math.Exp(z)
					if e < 0x1p-120 {
						continue
					}
					w := float64(a)*e - float64(b)
					tol := float64(a)*e*(4e-7+math.Abs(z)*0x1p-24) + math.Abs(w)*0x1p-24
					if math.Abs(float64(dst[i])-w) > tol {
						t.Fatalf("%s expAffine [%d]: %v, want %v", ctx, i, dst[i], w)
					}
				}
			}
		}
	}
}

func b2f(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestSum32 checks the float32 sum against compensated summation and the
// empty and single-element cases.
func TestSum32(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	if Sum32(nil) != 0 || Sum32([]float32{-2.5}) != -2.5 {
		t.Fatal("Sum32 of 0 or 1 element")
	}
	for _, n := range lengths() {
		for name, x := range inputs32(rng, n) {
			if math.IsInf(float64(minFinite32(x)), 0) || hasInf(x) {
				continue
			}
			x64 := make([]float64, n)
			abs := 0.0
			for i, v := range x {
				x64[i] = float64(v)
				abs += math.Abs(float64(v))
			}
			want := neumaier(x64)
			if got := Sum32(x); math.Abs(got-want) > abs*(5*0x1p-24+float64(n)*0x1p-53) {
				t.Fatalf("n=%d/%s: Sum32 = %v, want %v", n, name, got, want)
			}
		}
	}
}

func hasInf(x []float32) bool {
	for _, v := range x {
		if math.IsInf(float64(v), 0) {
			return true
		}
	}
	return false
}

// TestMaxNaN32 places NaNs and the maximum at every position of every
// length, on every tier.
func TestMaxNaN32(t *testing.T) {
	for _, k := range tiers32 {
		for n := 1; n <= 70; n++ {
			for pos := 0; pos < n; pos++ {
				x := make([]float32, n)
				for i := range x {
					x[i] = float32(-i)
				}
				x[pos] = float32(math.NaN())
				if _, nan := k.maxNaN(x); !nan {
					t.Fatalf("%s n=%d: NaN at %d not seen", k.name, n, pos)
				}
				if q := (8*pos + 3) % n; q != pos {
					x[q] = 5
					if m, nan := k.maxNaN(x); m != 5 || !nan {
						t.Fatalf("%s n=%d: NaN at %d, max at %d: got %v, %v", k.name, n, pos, q, m, nan)
					}
					x[q] = float32(-q)
				}
				x[pos] = 5
				if m, nan := k.maxNaN(x); m != 5 || nan {
					t.Fatalf("%s n=%d: max at %d: got %v, %v", k.name, n, pos, m, nan)
				}
			}
			allNeg := make([]float32, n)
			for i := range allNeg {
				allNeg[i] = float32(math.Inf(-1))
			}
			if m, _ := k.maxNaN(allNeg); !math.IsInf(float64(m), -1) {
				t.Fatalf("%s n=%d: max of −Inf row = %v", k.name, n, m)
			}
		}
	}
	// Zeros of both signs give +0 whatever the order.
	x := []float32{float32(math.Copysign(0, -1)), 0, -1}
	for i := 0; i < 3; i++ {
		if m, _ := MaxNaN32(x); math.Float32bits(m) != 0 {
			t.Fatalf("MaxNaN32(%v) = %v", x, m)
		}
		x[0], x[1], x[2] = x[1], x[2], x[0]
	}
}

// TestFMA32 checks the portable fused multiply-add against exact rounding
// (big.Float) on random operands and on constructed halfway cases, where
// rounding through float64 alone would be wrong.
func TestFMA32(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	exact := func(a, b, c float32) float32 {
		x := new(big.Float).SetPrec(200).SetFloat64(float64(a))
		x.Mul(x, new(big.Float).SetPrec(200).SetFloat64(float64(b)))
		x.Add(x, new(big.Float).SetPrec(200).SetFloat64(float64(c)))
		f, _ := x.Float32()
		return f
	}
	check := func(a, b, c float32) {
		if got, want := fma32(a, b, c), exact(a, b, c); math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("fma32(%v, %v, %v) = %v, want %v", a, b, c, got, want)
		}
	}
	for i := 0; i < 200000; i++ {
		a := float32(rng.NormFloat64() * math.Exp(rng.NormFloat64()*5))
		b := float32(rng.NormFloat64() * math.Exp(rng.NormFloat64()*5))
		c := float32(rng.NormFloat64() * math.Exp(rng.NormFloat64()*5))
		check(a, b, c)
		check(a, b, -float32(float64(a)*float64(b))) // cancellation
	}
	// a·b = 1 + 2⁻²⁴ (halfway between 1 and the next float32) and a tiny
	// c: the exact sum is just above or below the halfway point.
	a := float32(1 + 0x1p-12)
	b := float32(1 + 0x1p-12)
	// a·b = 1 + 2⁻¹¹ + 2⁻²⁴: halfway between two float32s.
	for _, c := range []float32{0x1p-60, -0x1p-60, 0x1p-100, 0, 1, -0x1p-70} {
		check(a, b, c)
		check(-a, b, -c)
	}
	// Subnormal and overflowing results.
	check(0x1p-100, 0x1p-40, 0x1p-149)
	check(0x1p-75, 0x1p-75, -0x1p-149)
	check(0x1p100, 0x1p100, 0)
	check(3e38, 2, -3e38)
}
