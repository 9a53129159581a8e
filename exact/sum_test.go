package exact

import (
	"bytes"
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// ratSum is the reference: the sum in exact rationals, rounded by
// big.Rat (an implementation independent of Sum's big.Float path).
func ratSum(xs []float64) float64 {
	var pos, neg, nan bool
	var r big.Rat
	var t big.Rat
	for _, x := range xs {
		switch {
		case math.IsNaN(x):
			nan = true
		case math.IsInf(x, 1):
			pos = true
		case math.IsInf(x, -1):
			neg = true
		default:
			t.SetFloat64(x)
			r.Add(&r, &t)
		}
	}
	switch {
	case nan || pos && neg:
		return math.NaN()
	case pos:
		return math.Inf(1)
	case neg:
		return math.Inf(-1)
	}
	f, _ := r.Float64()
	return f
}

func same(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || math.IsNaN(a) && math.IsNaN(b)
}

// randFloat draws values of every magnitude, sign, subnormals included,
// with some exact ties and cancellations.
func randFloat(r *rand.Rand) float64 {
	switch r.IntN(8) {
	case 0:
		return math.Float64frombits(r.Uint64() &^ (0x7ff << 52)) // subnormal or zero
	case 1:
		return math.Ldexp(r.Float64()-0.5, r.IntN(2098)-1074) // any exponent
	case 2:
		return float64(r.IntN(7) - 3)
	case 3:
		return (r.Float64() - 0.5) * math.MaxFloat64
	default:
		return r.NormFloat64() * math.Ldexp(1, r.IntN(60)-30)
	}
}

func sumOf(xs []float64) *Sum {
	var s Sum
	s.AddSlice(xs)
	return &s
}

func TestSumAgainstRationals(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 80; trial++ {
		n := r.IntN(2000)
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = randFloat(r)
		}
		if got, want := sumOf(xs).Value(), ratSum(xs); !same(got, want) {
			t.Fatalf("trial %d (%d values): got %v (%#x), want %v (%#x)", trial, n, got, math.Float64bits(got), want, math.Float64bits(want))
		}
	}
}

func TestSumCases(t *testing.T) {
	tiny := math.SmallestNonzeroFloat64
	big := math.MaxFloat64
	cases := []struct {
		name string
		xs   []float64
		want float64
	}{
		{"empty", nil, 0},
		{"negative zeros", []float64{math.Copysign(0, -1), math.Copysign(0, -1)}, 0},
		{"one", []float64{-2.5}, -2.5},
		{"cancellation", []float64{1e308, 1, -1e308}, 1},
		{"no overflow in the middle", []float64{big, big, -big}, big},
		{"overflow", []float64{big, big}, math.Inf(1)},
		{"negative overflow", []float64{-big, -big / 2}, math.Inf(-1)},
		{"subnormals", []float64{tiny, tiny, tiny}, 3 * tiny},
		{"subnormal cancellation", []float64{1, tiny, -1}, tiny},
		{"tie to even", []float64{1, math.Ldexp(1, -53)}, 1},
		{"tie broken by a tiny term", []float64{1, math.Ldexp(1, -53), tiny}, math.Nextafter(1, 2)},
		{"tie to even, odd", []float64{math.Nextafter(1, 2), math.Ldexp(1, -53)}, math.Nextafter(math.Nextafter(1, 2), 2)},
		{"one NaN", []float64{1, math.NaN()}, math.NaN()},
		{"+Inf", []float64{1, math.Inf(1), -big}, math.Inf(1)},
		{"-Inf", []float64{math.Inf(-1), big}, math.Inf(-1)},
		{"+Inf and -Inf", []float64{math.Inf(1), math.Inf(-1)}, math.NaN()},
		{"negative total", []float64{-3, 1, math.Ldexp(1, -1074)}, -2 + math.Ldexp(1, -1074)},
	}
	for _, c := range cases {
		if got := sumOf(c.xs).Value(); !same(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
		if got := ratSum(c.xs); !same(got, c.want) {
			t.Errorf("%s: the reference gives %v, want %v", c.name, got, c.want)
		}
	}
}

// TestManyAddsCarry adds enough large values of one sign to run through
// many carry propagations, and checks against the count times the value.
func TestManyAddsCarry(t *testing.T) {
	for _, x := range []float64{math.MaxFloat64 / 4096, -math.MaxFloat64 / 4096, math.Nextafter(1, 2), -0.1, math.SmallestNonzeroFloat64} {
		const n = 5000
		var s Sum
		for range n {
			s.Add(x)
		}
		var r, xr big.Rat
		xr.SetFloat64(x)
		r.Mul(&xr, new(big.Rat).SetInt64(n))
		want, _ := r.Float64()
		if got := s.Value(); !same(got, want) {
			t.Errorf("%d × %v: got %v, want %v", n, x, got, want)
		}
	}
}

// TestSplitMergeSameBits splits random data into random parts (empty and
// one-value parts included), sums each, merges the parts in a random
// order and checks value and encoding against one pass.
func TestSplitMergeSameBits(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 200; trial++ {
		xs := make([]float64, r.IntN(5000))
		for i := range xs {
			xs[i] = randFloat(r)
		}
		whole := sumOf(xs)
		wantBytes, _ := whole.MarshalBinary()
		var parts []*Sum
		for lo := 0; lo <= len(xs); {
			n := 0
			switch r.IntN(4) {
			case 0: // empty
			case 1:
				n = 1
			default:
				n = r.IntN(len(xs)/3 + 2)
			}
			hi := min(lo+n, len(xs))
			parts = append(parts, sumOf(xs[lo:hi]))
			if hi == len(xs) {
				if r.IntN(2) == 0 {
					break
				}
				parts = append(parts, &Sum{})
				break
			}
			lo = hi
		}
		r.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
		// Merge as a random tree: pick two, merge, put back.
		for len(parts) > 1 {
			i, j := r.IntN(len(parts)), r.IntN(len(parts)-1)
			if j >= i {
				j++
			}
			parts[i].Merge(parts[j])
			parts = append(parts[:j], parts[j+1:]...)
		}
		got := parts[0]
		if !same(got.Value(), whole.Value()) {
			t.Fatalf("trial %d: merged %v, one pass %v", trial, got.Value(), whole.Value())
		}
		gotBytes, _ := got.MarshalBinary()
		if !bytes.Equal(gotBytes, wantBytes) {
			t.Fatalf("trial %d: encodings differ:\n%x\n%x", trial, gotBytes, wantBytes)
		}
	}
}

func TestAddProduct(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for trial := 0; trial < 100; trial++ {
		var s Sum
		var ref big.Rat
		for range r.IntN(500) {
			a := r.NormFloat64() * math.Ldexp(1, r.IntN(200)-100)
			b := r.NormFloat64() * math.Ldexp(1, r.IntN(200)-100)
			s.AddProduct(a, b)
			var ra, rb big.Rat
			ra.SetFloat64(a)
			rb.SetFloat64(b)
			ref.Add(&ref, ra.Mul(&ra, &rb))
		}
		want, _ := ref.Float64()
		if got := s.Value(); !same(got, want) {
			t.Fatalf("trial %d: Σ a·b = %v, want %v", trial, got, want)
		}
	}
}

func TestFloatExact(t *testing.T) {
	var s Sum
	s.Add(1e300)
	s.Add(1e-300)
	f, ok := s.Float(new(big.Float))
	if !ok {
		t.Fatal("not finite")
	}
	var want big.Float
	want.SetPrec(4000).SetFloat64(1e300)
	want.Add(&want, new(big.Float).SetFloat64(1e-300))
	if f.Cmp(&want) != 0 {
		t.Fatalf("got %v, want %v", f, &want)
	}
	s.Add(math.Inf(1))
	if _, ok := s.Float(new(big.Float)); ok {
		t.Fatal("ok with an infinity added")
	}
}

func TestIsZero(t *testing.T) {
	var s Sum
	if !s.IsZero() {
		t.Fatal("empty sum not zero")
	}
	s.Add(3)
	s.Add(-1)
	if s.IsZero() {
		t.Fatal("2 is zero")
	}
	s.Add(-2)
	if !s.IsZero() {
		t.Fatal("3 − 1 − 2 not zero")
	}
	s.Add(math.NaN())
	if s.IsZero() {
		t.Fatal("NaN is zero")
	}
}

func TestBinaryRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for trial := 0; trial < 200; trial++ {
		xs := make([]float64, r.IntN(100))
		for i := range xs {
			xs[i] = randFloat(r)
		}
		if r.IntN(10) == 0 {
			xs = append(xs, math.Inf(1-2*r.IntN(2)))
		}
		s := sumOf(xs)
		b, err := s.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var u Sum
		if err := u.UnmarshalBinary(b); err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		if !same(u.Value(), s.Value()) {
			t.Fatalf("trial %d: decoded %v, want %v", trial, u.Value(), s.Value())
		}
		// The decoded sum goes on summing exactly.
		u.Add(1.5)
		if want := ratSum(append(xs, 1.5)); !same(u.Value(), want) {
			t.Fatalf("trial %d: after one more add %v, want %v", trial, u.Value(), want)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	var one Sum
	one.Add(1)
	good, _ := one.MarshalBinary()
	var neg Sum
	neg.Add(-1)
	negative, _ := neg.MarshalBinary()
	bad := map[string][]byte{
		"empty":          {},
		"short":          {0, 0},
		"flags":          {8, 0, 0},
		"empty with idx": {0, 3, 0},
		"too many words": {0, 60, 10, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2},
		"truncated":      good[:len(good)-1],
		"trailing":       append(append([]byte{}, good...), 0),
		"zero end word":  {0, 5, 1, 0},
		"word too large": {0, 5, 1, 0x80, 0x80, 0x80, 0x80, 0x20},
		"negative word":  {0, 5, 1, 1},
		"top too large":  append(append([]byte{}, negative[:len(negative)-1]...), 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
	}
	for name, b := range bad {
		var s Sum
		s.Add(7)
		err := s.UnmarshalBinary(b)
		if !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err = %v, want ErrFormat", name, err)
		}
		if s.Value() != 7 {
			t.Errorf("%s: a failed decode changed the sum to %v", name, s.Value())
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, xs := range [][]float64{nil, {1}, {-1}, {1e308, 1e-308}, {math.NaN()}, {math.Inf(-1), 3}} {
		b, _ := sumOf(xs).MarshalBinary()
		f.Add(b)
	}
	f.Add([]byte{0, 66, 1, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		var s Sum
		n, err := s.Decode(data)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error not wrapping ErrFormat: %v", err)
			}
			return
		}
		if n > len(data) {
			t.Fatalf("used %d of %d bytes", n, len(data))
		}
		v := s.Value()
		b, _ := s.MarshalBinary()
		var u Sum
		if err := u.UnmarshalBinary(b); err != nil {
			t.Fatalf("re-encoding does not decode: %v", err)
		}
		if !same(u.Value(), v) {
			t.Fatalf("round trip %v → %v", v, u.Value())
		}
		b2, _ := u.MarshalBinary()
		if !bytes.Equal(b, b2) {
			t.Fatalf("encoding not canonical: %x vs %x", b, b2)
		}
		// Merging with a decoded sum works and stays exact.
		var w Sum
		w.Add(1)
		w.Merge(&s)
		w.Add(-1)
		if !same(w.Value(), v) {
			t.Fatalf("1 + s − 1 = %v, s = %v", w.Value(), v)
		}
	})
}

func BenchmarkAdd(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 10))
	xs := make([]float64, 4096)
	for i := range xs {
		xs[i] = r.NormFloat64()
	}
	var s Sum
	b.SetBytes(8 * int64(len(xs)))
	for b.Loop() {
		s.AddSlice(xs)
	}
	_ = s.Value()
}

func BenchmarkMerge(b *testing.B) {
	var s, o Sum
	o.Add(math.Pi)
	for b.Loop() {
		s.Merge(&o)
	}
}

func BenchmarkValue(b *testing.B) {
	var s Sum
	s.Add(math.Pi)
	s.Add(1e-300)
	for b.Loop() {
		_ = s.Value()
	}
}
