package vek

import (
	"math"
	"math/big"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
)

// ulpErr32 is |got − want| in units of the float32 ulp at want (want a
// positive float64 in the float32 normal range).
func ulpErr32(got float32, want float64) float64 {
	e := int(math.Float64bits(want)>>52) & 0x7ff
	inv := math.Float64frombits(uint64(1023+23+1023-e) << 52) // 1/ulp32(want)
	return math.Abs(float64(got)-want) * inv
}

// ulpErr64 is |got − want| in units of the float64 ulp at want (want given
// as a big.Float, positive and normal).
func ulpErr64(got float64, want *big.Float) float64 {
	w, _ := want.Float64()
	_, e := math.Frexp(w) // w = f·2^e, f in [0.5, 1): ulp = 2^(e−53)
	d := new(big.Float).SetPrec(300).Sub(new(big.Float).SetFloat64(got), want)
	df, _ := d.Float64()
	return math.Abs(math.Ldexp(df, 53-e))
}

// bigExp returns exp(x) to about 250 bits: exp(x/2¹⁶) by its Taylor series,
// squared sixteen times.
func bigExp(x float64) *big.Float {
	const prec = 320
	y := new(big.Float).SetPrec(prec).SetFloat64(x)
	y.SetMantExp(y, -16)
	sum := new(big.Float).SetPrec(prec).SetInt64(1)
	term := new(big.Float).SetPrec(prec).SetInt64(1)
	for k := 1; k < 40; k++ {
		term.Mul(term, y)
		term.Quo(term, new(big.Float).SetPrec(prec).SetInt64(int64(k)))
		sum.Add(sum, term)
	}
	for i := 0; i < 16; i++ {
		sum.Mul(sum, sum)
	}
	return sum
}

type expTier struct {
	name string
	f32  func(dst, x []float32)
	f64  func(dst, x []float64)
}

func expTiers() []expTier {
	var t []expTier
	for i, k := range tiers32 {
		t = append(t, expTier{name: k.name, f32: k.exp, f64: tiers64[i].exp})
	}
	return t
}

// TestExp64Accuracy checks the float64 exponential of every tier against
// a 250-bit reference on random and boundary inputs: within 2 ulp wherever
// the result is normal. (It is the reference of the exhaustive float32 test.)
func TestExp64Accuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var xs []float64
	for i := 0; i < 3000; i++ {
		xs = append(xs, (rng.Float64()*2-1)*709)
	}
	for i := 0; i < 1000; i++ {
		xs = append(xs, (rng.Float64()*2-1)*0.5, (rng.Float64()*2-1)*1e-9)
	}
	for _, b := range []float64{expLo64, expHi64, 0, math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64, 1, -1} {
		xs = append(xs, b, math.Nextafter(b, 1000), math.Nextafter(b, -1000))
	}
	for k := -1021; k <= 1023; k++ { // near every n·ln2, where the reduction switches
		v := float64(k) * math.Ln2
		xs = append(xs, v, math.Nextafter(v, 1000), math.Nextafter(v, -1000))
	}
	refs := make([]*big.Float, len(xs))
	for i, x := range xs {
		if x >= expLo64 && x <= expHi64 {
			refs[i] = bigExp(x)
		}
	}
	for _, tier := range expTiers() {
		got := make([]float64, len(xs))
		tier.f64(got, xs)
		worst := 0.0
		for i, x := range xs {
			if refs[i] == nil {
				continue
			}
			e := ulpErr64(got[i], refs[i])
			worst = max(worst, e)
			if e > 2 {
				t.Errorf("%s: exp(%v) = %v, %.3f ulp from the exact value", tier.name, x, got[i], e)
			}
		}
		t.Logf("%s: worst float64 error %.3f ulp over %d inputs", tier.name, worst, len(xs))
	}
}

// TestExp64Special checks the defined results outside the normal range.
func TestExp64Special(t *testing.T) {
	xs := []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.Nextafter(expLo64, -1000), -745, -1e300,
		math.Nextafter(expHi64, 1000), 710, 1e300, -math.MaxFloat64, math.MaxFloat64}
	want := []float64{math.NaN(), math.Inf(1), 0, 0, 0, 0, math.Inf(1), math.Inf(1), math.Inf(1), 0, math.Inf(1)}
	for _, tier := range expTiers() {
		got := make([]float64, len(xs))
		tier.f64(got, xs)
		for i := range xs {
			if !(got[i] == want[i] || math.IsNaN(got[i]) && math.IsNaN(want[i])) {
				t.Errorf("%s: exp(%v) = %v, want %v", tier.name, xs[i], got[i], want[i])
			}
		}
	}
}

// TestExp32Exhaustive runs every float32 whose exponential is a normal
// number through the kernel of each tier and checks it is within 1.1 ulp of
// the exact value (the float64 kernel, itself within 2 float64 ulp, is the
// reference). Every input below the normal range must give exactly 0,
// every input above it +Inf, every NaN a NaN. Under -short or the race
// detector it checks every 101st input instead of all; the portable twin
// is checked on every 7th input.
func TestExp32Exhaustive(t *testing.T) {
	stride := uint32(1)
	if testing.Short() || raceEnabled {
		stride = 101
	}
	lo, hi := math.Float32bits(expLo32), math.Float32bits(expHi32)
	normal := []span{{0, hi}, {0x80000000, lo}}
	zero := []span{{lo + 1, 0xff800000}}
	inf := []span{{hi + 1, 0x7f800000}}
	nan := []span{{0x7f800001, 0x7fffffff}, {0xff800001, 0xffffffff}}
	for _, tier := range expTiers() {
		t.Run(tier.name, func(t *testing.T) {
			stride := stride
			if tier.name == "generic" {
				// The portable twin computes the same bits as the
				// assembly (TestTiers32SameBits); every 7th input keeps
				// its run short without SIMD.
				stride = max(stride, 7)
			}
			worst, bad := scan32(tier, normal, stride, checkULP)
			t.Logf("worst error %.4f ulp (stride %d)", worst, stride)
			if worst > 1.1 {
				t.Errorf("exp(%v): %.4f ulp > 1.1", *bad, worst)
			}
			for _, c := range []struct {
				name  string
				spans []span
				mode  int
			}{{"underflow", zero, checkZero}, {"overflow", inf, checkInf}, {"NaN", nan, checkNaN}} {
				if _, bad := scan32(tier, c.spans, stride, c.mode); bad != nil {
					t.Errorf("%s region: exp(%v) wrong", c.name, *bad)
				}
			}
		})
	}
}

// span is an inclusive range of float32 bit patterns.
type span struct{ from, to uint32 }

// What scan32 measures: the ulp error, or 1 for a result that is not
// exactly +0, +Inf or NaN as the mode requires.
const (
	checkULP = iota
	checkZero
	checkInf
	checkNaN
)

// scan32 evaluates the tier's float32 exp over the bit ranges (every
// stride-th pattern) in parallel and returns the worst measure and the
// input that produced it (nil if the worst is 0).
func scan32(tier expTier, spans []span, stride uint32, mode int) (float64, *float32) {
	const chunk = 1 << 16
	type job struct{ from, to uint64 }
	jobs := make(chan job, 64)
	go func() {
		for _, s := range spans {
			from, to := uint64(s.from), uint64(s.to)
			if from > to {
				from, to = to, from
			}
			for a := from; a <= to; a += chunk * uint64(stride) {
				jobs <- job{a, min(to, a+chunk*uint64(stride)-1)}
			}
		}
		close(jobs)
	}()
	var mu sync.Mutex
	worst := 0.0
	var worstX *float32
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := make([]float32, 0, chunk)
			x64 := make([]float64, chunk)
			got := make([]float32, chunk)
			ref := make([]float64, chunk)
			lw, lx := 0.0, float32(0)
			for j := range jobs {
				x = x[:0]
				for b := j.from; b <= j.to; b += uint64(stride) {
					x = append(x, math.Float32frombits(uint32(b)))
				}
				n := len(x)
				tier.f32(got[:n], x)
				switch mode {
				case checkULP:
					for i, v := range x {
						x64[i] = float64(v)
					}
					Exp64(ref[:n], x64[:n])
					for i, g := range got[:n] {
						if e := ulpErr32(g, ref[i]); e > lw {
							lw, lx = e, x[i]
						}
					}
				default:
					for i, g := range got[:n] {
						ok := mode == checkZero && math.Float32bits(g) == 0 ||
							mode == checkInf && math.IsInf(float64(g), 1) ||
							mode == checkNaN && g != g
						if !ok && lw == 0 {
							lw, lx = 1, x[i]
						}
					}
				}
			}
			mu.Lock()
			if lw > worst {
				worst, worstX = lw, &lx
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return worst, worstX
}
