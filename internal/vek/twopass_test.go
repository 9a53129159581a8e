package vek

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// twoPassTier is one implementation of the two-pass float32 kernels.
type twoPassTier struct {
	name  string
	sum   func(x []float32) (m, e float64, ok bool)
	scale func(dst, x []float32, e, c float32)
}

func twoPassTiers() []twoPassTier {
	var t []twoPassTier
	for _, k := range tiersTP {
		t = append(t, twoPassTier{k.name, func(x []float32) (float64, float64, bool) {
			if len(x) == 0 {
				return 0, 0, false
			}
			var lm [16]float64
			var le [16]float32
			k.sum(x, &lm, &le)
			m, e := mergeLanes(lm[:], le[:])
			return m, e, accept(m, e)
		}, k.scale})
	}
	return t
}

// refSoftmax returns the float64 log-sum-exp and softmax of x (max-shifted).
func refSoftmax(x []float32) (float64, []float64) {
	m := math.Inf(-1)
	for _, v := range x {
		m = max(m, float64(v))
	}
	var s float64
	for _, v := range x {
		s += math.Exp(float64(v) - m)
	}
	p := make([]float64, len(x))
	for i, v := range x {
		p[i] = math.Exp(float64(v)-m) / s
	}
	return m + math.Log(s), p
}

// TestTwoPassCatalog checks the test vectors of catalog A14, recomputed
// independently in 30-digit arithmetic: (M, E), the softmax and the LSE.
func TestTwoPassCatalog(t *testing.T) {
	cases := []struct {
		x    []float32
		m, e float64
		y    []float64
		lse  float64
	}{
		{[]float32{1000, 1001, 999}, 1.65380259, 1444, []float64{0.244728471, 0.665240956, 0.0900305732}, 1001.40760596},
		{[]float32{-1000, -1001, -999.5}, 1.86332956, -1442, []float64{0.33149896, 0.121951652, 0.546549387}, -998.895869395},
		{[]float32{1, 2, 3}, 1.88705468, 4, []float64{0.0900305732, 0.244728471, 0.665240956}, 3.40760596444},
	}
	for _, tier := range twoPassTiers() {
		for _, c := range cases {
			m, e, ok := tier.sum(c.x)
			if !ok || e != c.e || math.Abs(m-c.m) > 2e-7*c.m {
				t.Errorf("%s %v: (M, E) = (%.9g, %v, ok %v), want (%.9g, %v)", tier.name, c.x, m, e, ok, c.m, c.e)
			}
			if lse := math.Log(m) + e*math.Ln2; math.Abs(lse-c.lse) > 2e-7*math.Abs(c.lse) {
				t.Errorf("%s %v: LSE %.12g, want %.12g", tier.name, c.x, lse, c.lse)
			}
			y := make([]float32, len(c.x))
			tier.scale(y, c.x, float32(e), float32(1/m))
			for i := range y {
				if math.Abs(float64(y[i])-c.y[i]) > 1e-6*c.y[i] {
					t.Errorf("%s %v: y = %v, want %v", tier.name, c.x, y, c.y)
					break
				}
			}
		}
	}
}

func twoPassInputs(rng *rand.Rand, n int) map[string][]float32 {
	out := map[string][]float32{}
	for _, scale := range []float64{1e-3, 1, 30, 300} {
		for _, off := range []float64{0, -3e4, 3e4, -1e6} {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(rng.NormFloat64()*scale + off)
			}
			out[fmt.Sprintf("scale%g_off%g", scale, off)] = x
		}
	}
	masked := make([]float32, n)
	for i := range masked {
		masked[i] = float32(rng.NormFloat64() * 5)
		if i%3 == 1 {
			masked[i] = float32(math.Inf(-1))
		}
	}
	out["masked"] = masked
	ties := make([]float32, n)
	for i := range ties {
		ties[i] = float32(i % 4)
	}
	out["ties"] = ties
	return out
}

func TestTwoPassAgainstFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var lens []int
	for n := 1; n <= 70; n++ {
		lens = append(lens, n)
	}
	lens = append(lens, 127, 128, 129, 1000, 4099, 65537)
	for _, tier := range twoPassTiers() {
		for _, n := range lens {
			for name, x := range twoPassInputs(rng, n) {
				ctx := fmt.Sprintf("%s/n=%d/%s", tier.name, n, name)
				m, e, ok := tier.sum(x)
				lse, p := refSoftmax(x)
				if !ok {
					t.Fatalf("%s: rejected", ctx)
				}
				// Σ = M·2ᴱ within 12·2⁻²⁴ relative: compare log-sum-exps.
				got := math.Log(m) + e*math.Ln2
				if math.Abs(got-lse) > 12*0x1p-24+1e-15*math.Abs(lse) {
					t.Fatalf("%s: LSE %.10g, want %.10g", ctx, got, lse)
				}
				dst := make([]float32, n+8)
				for i := range dst {
					dst[i] = 42
				}
				tier.scale(dst[:n], x, float32(e), float32(1/m))
				for i := range p {
					if p[i] < 0x1p-125 {
						if dst[i] != 0 && math.Abs(float64(dst[i])-p[i]) > 0x1p-125 {
							t.Fatalf("%s: y[%d] = %g, want %g", ctx, i, dst[i], p[i])
						}
						continue
					}
					if math.Abs(float64(dst[i])-p[i]) > 16*0x1p-24*p[i] {
						t.Fatalf("%s: y[%d] = %.9g, want %.9g (rel %.3g)", ctx, i, dst[i], p[i], math.Abs(float64(dst[i])-p[i])/p[i])
					}
				}
				for i := n; i < len(dst); i++ {
					if dst[i] != 42 {
						t.Fatalf("%s: wrote past the end at %d", ctx, i)
					}
				}
			}
		}
	}
}

// TestTwoPassTwin requires the portable twin's bits from every tier: the
// pass-1 state and the pass-2 outputs.
func TestTwoPassTwin(t *testing.T) {
	tiers := twoPassTiers()
	if len(tiers) < 2 {
		t.Skip("no assembly tier")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for n := 1; n <= 300; n += 7 {
		for name, x := range twoPassInputs(rng, n) {
			m0, e0, ok0 := tiers[0].sum(x)
			for _, tier := range tiers[1:] {
				m1, e1, ok1 := tier.sum(x)
				if ok0 != ok1 || ok0 && (math.Float64bits(m0) != math.Float64bits(m1) || e0 != e1) {
					t.Fatalf("%s n=%d %s: (%v, %v, %v) vs generic (%v, %v, %v)", tier.name, n, name, m1, e1, ok1, m0, e0, ok0)
				}
				if !ok0 {
					continue
				}
				a, b := make([]float32, n), make([]float32, n)
				tiers[0].scale(a, x, float32(e0), float32(1/m0))
				tier.scale(b, x, float32(e0), float32(1/m0))
				sameBits32(t, fmt.Sprintf("%s n=%d %s", tier.name, n, name), b, a)
			}
		}
	}
}

func TestTwoPassDomain(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	for _, tier := range twoPassTiers() {
		for _, c := range []struct {
			x  []float32
			ok bool
		}{
			{[]float32{1, nan, 2}, false},
			{[]float32{1, inf, 2}, false},
			{[]float32{1, 3e6, 2}, false},
			{[]float32{-inf, -inf, -inf}, false},
			{[]float32{-3e6, -2.5e6}, false},
			{[]float32{-2e6, -inf, -2.5e6}, true},
			{[]float32{TwoPassLimit, 0}, true},
			{[]float32{-inf, 5, -inf, -inf, -inf, -inf, -inf, -inf, -inf, -inf}, true},
			{[]float32{1, 3e38, 2}, false},
			{[]float32{-3e38, 1}, true},
			{[]float32{2.5e6, 1}, false},
			{[]float32{0, 1, 2, 3, 4, 5, 6, 7, nan}, false},
			{[]float32{0, 1, 2, 3, 4, 5, 6, 7, inf}, false},
			{append(make([]float32, 64), nan, 1), false},
			{append(make([]float32, 70), -inf), true},
		} {
			m, e, ok := tier.sum(c.x)
			if ok != c.ok {
				t.Errorf("%s %v: ok = %v, want %v", tier.name, c.x, ok, c.ok)
				continue
			}
			if ok {
				lse, _ := refSoftmax(c.x)
				if got := math.Log(m) + e*math.Ln2; math.Abs(got-lse) > 1e-6*math.Max(1, math.Abs(lse)) {
					t.Errorf("%s %v: LSE %v, want %v", tier.name, c.x, got, lse)
				}
			}
		}
	}
	if _, _, ok := ExtExpSum32(nil); ok {
		t.Error("empty row accepted")
	}
}

func TestTwoPass64(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{1, 2, 3, 17, 1000} {
		x := make([]float64, n)
		x32 := make([]float32, n)
		for i := range x {
			x32[i] = float32(rng.NormFloat64()*50 + 700)
			x[i] = float64(x32[i])
		}
		m, e, ok := ExtExpSum64(x)
		lse, p := refSoftmax(x32)
		if !ok || math.Abs(math.Log(m)+e*math.Ln2-lse) > 1e-13*lse {
			t.Fatalf("n=%d: LSE %v, want %v", n, math.Log(m)+e*math.Ln2, lse)
		}
		y := make([]float64, n)
		ExtExpScale64(y, x, e, 1/m)
		for i := range y {
			if p[i] > 1e-300 && math.Abs(y[i]-p[i]) > 1e-13*p[i] {
				t.Fatalf("n=%d: y[%d] = %v, want %v", n, i, y[i], p[i])
			}
		}
	}
}

// storeTier is one implementation of the stored two-pass form.
type storeTier struct {
	name    string
	sum     func(dst, x, refs []float32) (m, e float64, ok bool)
	rescale func(dst, refs []float32, e, c float32)
}

func storeTiers() []storeTier {
	var t []storeTier
	for _, k := range tiersTP {
		t = append(t, storeTier{k.name, func(dst, x, refs []float32) (float64, float64, bool) {
			if len(x) == 0 {
				return 0, 0, false
			}
			var lm [16]float64
			var le [16]float32
			k.sumStore(dst, x, &lm, &le, &refs[0])
			m, e := mergeLanes(lm[:], le[:])
			return m, e, accept(m, e)
		}, func(dst, refs []float32, e, c float32) {
			if len(dst) > 0 {
				k.rescale(dst, &refs[0], e, c)
			}
		}})
	}
	return t
}

func TestTwoPassStoreAgainstFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	var lens []int
	for n := 1; n <= 70; n++ {
		lens = append(lens, n)
	}
	lens = append(lens, 127, 128, 129, 1000, 4099, 65537)
	for _, tier := range storeTiers() {
		for _, n := range lens {
			for name, x := range twoPassInputs(rng, n) {
				ctx := fmt.Sprintf("%s/n=%d/%s", tier.name, n, name)
				dst := make([]float32, n+8)
				for i := range dst {
					dst[i] = 42
				}
				refs := make([]float32, TwoPassRefs(n)+8)
				for i := range refs {
					refs[i] = 42
				}
				m, e, ok := tier.sum(dst[:n], x, refs)
				lse, p := refSoftmax(x)
				if !ok {
					t.Fatalf("%s: rejected", ctx)
				}
				if got := math.Log(m) + e*math.Ln2; math.Abs(got-lse) > 12*0x1p-24+1e-15*math.Abs(lse) {
					t.Fatalf("%s: LSE %.10g, want %.10g", ctx, got, lse)
				}
				for i := TwoPassRefs(n); i < len(refs); i++ {
					if refs[i] != 42 {
						t.Fatalf("%s: wrote refs past the end", ctx)
					}
				}
				tier.rescale(dst[:n], refs, float32(e), float32(1/m))
				for i := range p {
					if p[i] < 0x1p-125 {
						if math.Abs(float64(dst[i])-p[i]) > 0x1p-125 {
							t.Fatalf("%s: y[%d] = %g, want %g", ctx, i, dst[i], p[i])
						}
						continue
					}
					if math.Abs(float64(dst[i])-p[i]) > 16*0x1p-24*p[i] {
						t.Fatalf("%s: y[%d] = %.9g, want %.9g (rel %.3g)", ctx, i, dst[i], p[i], math.Abs(float64(dst[i])-p[i])/p[i])
					}
				}
				for i := n; i < len(dst); i++ {
					if dst[i] != 42 {
						t.Fatalf("%s: wrote past the end at %d", ctx, i)
					}
				}
			}
		}
	}
}

// TestTwoPassStoreTwin requires the portable twin's bits from every tier
// in the stored form: state, stored values, references, outputs; and the
// same state as the plain pass 1.
func TestTwoPassStoreTwin(t *testing.T) {
	tiers := storeTiers()
	plain := twoPassTiers()
	rng := rand.New(rand.NewPCG(17, 18))
	for n := 1; n <= 300; n += 7 {
		for name, x := range twoPassInputs(rng, n) {
			a, ra := make([]float32, n), make([]float32, TwoPassRefs(n))
			m0, e0, ok0 := tiers[0].sum(a, x, ra)
			for k, tier := range tiers {
				ctx := fmt.Sprintf("%s n=%d %s", tier.name, n, name)
				b, rb := make([]float32, n), make([]float32, TwoPassRefs(n))
				m1, e1, ok1 := tier.sum(b, x, rb)
				mp, ep, okp := plain[k].sum(x)
				if ok0 != ok1 || ok1 != okp || ok0 && (math.Float64bits(m0) != math.Float64bits(m1) || e0 != e1 || m1 != mp || e1 != ep) {
					t.Fatalf("%s: (%v, %v, %v), plain (%v, %v, %v), generic (%v, %v, %v)", ctx, m1, e1, ok1, mp, ep, okp, m0, e0, ok0)
				}
				if !ok0 {
					continue
				}
				sameBits32(t, ctx+" refs", rb, ra)
				sameBits32(t, ctx+" stored", b, a)
				c := append([]float32(nil), a...)
				tiers[0].rescale(c, ra, float32(e0), float32(1/m0))
				tier.rescale(b, rb, float32(e0), float32(1/m0))
				sameBits32(t, ctx+" rescaled", b, c)
			}
		}
	}
}

func TestTwoPassRefs(t *testing.T) {
	for _, c := range []struct{ n, want int }{{0, 0}, {1, 16}, {8, 16}, {63, 16}, {64, 16}, {65, 32}, {128, 32}, {129, 48}} {
		if got := TwoPassRefs(c.n); got != c.want {
			t.Errorf("TwoPassRefs(%d) = %d, want %d", c.n, got, c.want)
		}
	}
}
