package vek

import (
	"math"
	"math/rand/v2"
	"testing"
)

// withTier runs f with k32 set to tier k.
func withTier(k *kernels32, f func()) {
	saved := k32
	k32 = k
	defer func() { k32 = saved }()
	f()
}

// dotsInput fills q (m rows) and k (n rows) of d elements; kind selects
// ordinary, huge, tiny or cancelling values.
func dotsInput(rng *rand.Rand, m, n, d, kind int) (q, k []float32) {
	q, k = make([]float32, m*d), make([]float32, n*d)
	for _, x := range [][]float32{q, k} {
		for i := range x {
			v := float32(rng.NormFloat64())
			switch kind {
			case 1:
				v *= 1e18 // products overflow in some rows
			case 2:
				v *= 1e-21 // products underflow
			case 3:
				if i%2 == 1 {
					v = -x[i-1] // exact cancellation in pairs
				}
			}
			x[i] = v
		}
	}
	return q, k
}

// TestDotRows32 checks every tier against a float64 reference within the
// documented bound, the tiers against each other bit for bit, and that
// the rows past dst's written entries are left alone.
func TestDotRows32(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, d := range []int{1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 128, 129, 256} {
		for _, m := range []int{1, 2, 3, 4, 5, 8, 9} {
			for _, n := range []int{1, 2, 7, 33} {
				for kind := range 4 {
					q, k := dotsInput(rng, m, n, d, kind)
					scale := float32(1 / math.Sqrt(float64(d)))
					ldd := n + 3
					var first []float32
					for ti, tier := range tiers32 {
						dst := make([]float32, m*ldd)
						for i := range dst {
							dst[i] = -7
						}
						withTier(tier, func() { DotRows32(dst, ldd, q, k, d, scale) })
						for r := range m {
							for j := n; j < ldd && (r+1)*ldd <= len(dst); j++ {
								if dst[r*ldd+j] != -7 {
									t.Fatalf("%s d=%d m=%d n=%d: dst[%d,%d] written", tier.name, d, m, n, r, j)
								}
							}
							for j := range n {
								var want, mag float64
								for i := range d {
									p := float64(q[r*d+i]) * float64(k[j*d+i])
									want += p
									mag += math.Abs(p)
								}
								want *= float64(scale)
								bound := (float64((d+15)/16)+4)*0x1p-24*mag*float64(scale) + 0x1p-24*math.Abs(want) + float64((d+15)/16+6)*0x1p-149
								got := float64(dst[r*ldd+j])
								if math.IsInf(want, 0) || math.Abs(want) > math.MaxFloat32 || mag*float64(scale) > math.MaxFloat32/2 {
									continue // overflow: checked bit for bit between tiers only
								}
								if math.Abs(got-want) > bound {
									t.Fatalf("%s d=%d m=%d n=%d kind=%d [%d,%d]: got %g want %g (bound %g)", tier.name, d, m, n, kind, r, j, got, want, bound)
								}
							}
						}
						if ti == 0 {
							first = dst
							continue
						}
						for i := range dst {
							if math.Float32bits(dst[i]) != math.Float32bits(first[i]) {
								t.Fatalf("%s d=%d m=%d n=%d kind=%d: element %d is %g, the portable twin gives %g", tier.name, d, m, n, kind, i, dst[i], first[i])
							}
						}
					}
				}
			}
		}
	}
}

// TestAxpyRows32 checks every tier against a sequence of Axpy32 calls on
// the portable tier (which the documentation promises, bit for bit),
// with zero weights of both signs, odd row counts and column counts that
// are not a multiple of any vector width.
func TestAxpyRows32(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, dv := range []int{1, 5, 8, 15, 16, 17, 33, 64, 65, 80, 100, 128, 129, 200} {
		for _, m := range []int{1, 2, 3, 4, 5, 8} {
			for _, n := range []int{1, 2, 9, 40, 1500} {
				if n == 1500 && dv > 16 {
					continue
				}
				v := make([]float32, n*dv)
				for i := range v {
					v[i] = float32(rng.NormFloat64())
				}
				ldp, ldo := n+1, dv+2
				p := make([]float32, m*ldp)
				for i := range p {
					switch rng.IntN(5) {
					case 0:
						p[i] = 0
					case 1:
						p[i] = float32(math.Copysign(0, -1))
					default:
						p[i] = rng.Float32()
					}
				}
				o0 := make([]float32, m*ldo)
				for i := range o0 {
					o0[i] = float32(rng.NormFloat64())
				}
				want := append([]float32(nil), o0...)
				withTier(generic32, func() {
					for r := range m {
						for j := range n {
							if a := p[r*ldp+j]; a != 0 {
								Axpy32(want[r*ldo:r*ldo+dv], v[j*dv:(j+1)*dv], a)
							}
						}
					}
				})
				for _, tier := range tiers32 {
					got := append([]float32(nil), o0...)
					withTier(tier, func() { AxpyRows32(got, ldo, p, ldp, m, v, dv) })
					for i := range got {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%s dv=%d m=%d n=%d: element %d is %g, want %g", tier.name, dv, m, n, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}

// TestRowsNoAccessOutside runs the two row kernels on operands that end
// right before an inaccessible page, for every tail length.
func TestRowsNoAccessOutside(t *testing.T) {
	for d := 1; d <= 40; d++ {
		for _, tier := range tiers32 {
			_, qb := guarded(t, 4*2*d)
			_, kb := guarded(t, 4*3*d)
			_, db := guarded(t, 4*2*3)
			q, k, dst := f32s(qb), f32s(kb), f32s(db)
			for i := range q {
				q[i] = float32(i%3) - 1
			}
			for i := range k {
				k[i] = float32(i%5) - 2
			}
			withTier(tier, func() {
				DotRows32(dst, 3, q, k, d, 0.5)
				// q as 2 rows of d: o is 2 rows of d (stride d), p 2 rows of 3 keys.
				AxpyRows32(q, d, dst, 3, 2, k, d)
				AxpyRows32(q[d:], d, dst[3:], 3, 1, k, d)
			})
		}
	}
}

func BenchmarkDotRows32(b *testing.B) {
	const m, n, d = 4, 256, 128
	q, k := dotsInput(rand.New(rand.NewPCG(1, 1)), m, n, d, 0)
	dst := make([]float32, m*n)
	b.SetBytes(int64(4 * n * d))
	for b.Loop() {
		DotRows32(dst, n, q, k, d, 0.1)
	}
}

func BenchmarkAxpyRows32(b *testing.B) {
	const m, n, dv = 4, 256, 128
	rng := rand.New(rand.NewPCG(1, 2))
	v, _ := dotsInput(rng, n, 1, dv, 0)
	p := make([]float32, m*n)
	for i := range p {
		p[i] = rng.Float32()
	}
	o := make([]float32, m*dv)
	b.SetBytes(int64(4 * n * dv))
	for b.Loop() {
		AxpyRows32(o, dv, p, n, m, v, dv)
	}
}
