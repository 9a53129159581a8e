package vek

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSigmoid32 checks every tier against σ computed in float64 from the
// exact x + b, within the documented bound, and the tiers against the
// portable twin bit for bit, on random, huge, tiny and special inputs and
// every tail length.
func TestSigmoid32(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()),
		88, -88, 87, -87, 89, -89, 104, -104, 1e-30, -1e-30, 3e38, -3e38, 16.5, -16.5}
	for _, b := range []float32{0, 0.5, -3, -float32(math.Log(2048)), 40} {
		for n := 0; n <= 100; n++ {
			x := make([]float32, n)
			for i := range x {
				switch rng.IntN(4) {
				case 0:
					x[i] = special[rng.IntN(len(special))]
				case 1:
					x[i] = float32(rng.NormFloat64() * 30)
				default:
					x[i] = float32(rng.NormFloat64() * 3)
				}
			}
			var first []float32
			for ti, tier := range tiers32 {
				got := make([]float32, n)
				withTier(tier, func() { Sigmoid32(got, x, b) })
				for i, v := range x {
					z := float64(v) + float64(b)
					want := 1 / (1 + math.Exp(-z))
					g := float64(got[i])
					switch {
					case math.IsNaN(z):
						if !math.IsNaN(g) {
							t.Fatalf("%s: σ(NaN) = %g", tier.name, g)
						}
						continue
					case want < 0x1p-126:
						if g != 0 {
							t.Fatalf("%s: σ(%g + %g) = %g, want about %g", tier.name, v, b, g, want)
						}
						continue
					}
					bound := ((1-want)*math.Abs(z)*0x1p-24 + 6*0x1p-24) * want
					if math.Abs(g-want) > bound {
						t.Fatalf("%s: σ(%g + %g) = %.9g, want %.9g (error %.3g, bound %.3g)", tier.name, v, b, g, want, math.Abs(g-want), bound)
					}
				}
				if ti == 0 {
					first = got
					continue
				}
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(first[i]) && !(got[i] != got[i] && first[i] != first[i]) {
						t.Fatalf("%s: σ(%g + %g) = %g, the portable twin gives %g", tier.name, x[i], b, got[i], first[i])
					}
				}
			}
		}
	}
}

// TestSigmoidSum32 checks that SigmoidSum32 writes Sigmoid32's weights
// and returns the bits of Sum32 over them, on every tier, for lengths
// that end inside a vector, inside a block and on a block boundary, and
// rows long enough for many partial sums, in place and not.
func TestSigmoidSum32(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	lengths := []int{0, 1, 15, 16, 17, 63, 64, 65, 127, 128, 129, 255, 256, 1000, 4099}
	for _, n := range lengths {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * 4)
			if rng.IntN(20) == 0 {
				x[i] = float32(math.Inf(-1)) // a masked key
			}
		}
		for _, b := range []float32{0, -float32(math.Log(2048))} {
			var first float64
			for ti, tier := range tiers32 {
				want := make([]float32, n)
				got := make([]float32, n)
				var sum, ref float64
				withTier(tier, func() {
					Sigmoid32(want, x, b)
					sum = SigmoidSum32(got, x, b)
					ref = Sum32(want)
				})
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s n=%d: weight %d is %g, Sigmoid32 gives %g", tier.name, n, i, got[i], want[i])
					}
				}
				if math.Float64bits(sum) != math.Float64bits(ref) {
					t.Fatalf("%s n=%d b=%g: sum %v, Sum32 of the weights %v", tier.name, n, b, sum, ref)
				}
				if ti == 0 {
					first = sum
				} else if math.Float64bits(sum) != math.Float64bits(first) {
					t.Fatalf("%s n=%d b=%g: sum %v, the portable twin %v", tier.name, n, b, sum, first)
				}
				// In place: the same weights and sum.
				y := append([]float32(nil), x...)
				var s2 float64
				withTier(tier, func() { s2 = SigmoidSum32(y, y, b) })
				if math.Float64bits(s2) != math.Float64bits(sum) {
					t.Fatalf("%s n=%d in place: sum %v, want %v", tier.name, n, s2, sum)
				}
				for i := range y {
					if math.Float32bits(y[i]) != math.Float32bits(got[i]) {
						t.Fatalf("%s n=%d in place: weight %d is %g, want %g", tier.name, n, i, y[i], got[i])
					}
				}
			}
		}
	}
}

// TestSigmoid32InPlace checks dst == x.
func TestSigmoid32InPlace(t *testing.T) {
	x := []float32{-2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17}
	want := make([]float32, len(x))
	Sigmoid32(want, x, 0.25)
	Sigmoid32(x, x, 0.25)
	for i := range x {
		if x[i] != want[i] {
			t.Fatalf("in place: element %d is %g, want %g", i, x[i], want[i])
		}
	}
}

func BenchmarkSigmoid32(b *testing.B) {
	x := make([]float32, 256)
	for i := range x {
		x[i] = float32(i%40) - 20
	}
	dst := make([]float32, len(x))
	b.SetBytes(4 * int64(len(x)))
	for b.Loop() {
		Sigmoid32(dst, x, -7.6)
	}
}
