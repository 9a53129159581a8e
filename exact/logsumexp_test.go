package exact

import (
	"bytes"
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// refLSE is max + log Σ exp(x − max), the sum taken exactly in big.Float.
func refLSE(xs []float64) float64 {
	m := math.Inf(-1)
	for _, x := range xs {
		m = math.Max(m, x)
	}
	if math.IsInf(m, -1) {
		return m
	}
	var s big.Float
	s.SetPrec(2000)
	for _, x := range xs {
		s.Add(&s, new(big.Float).SetFloat64(math.Exp(x-m)))
	}
	v, _ := s.Float64()
	return m + math.Log(v)
}

func lseOf(t testing.TB, xs []float64) *LogSumExp {
	var l LogSumExp
	for _, x := range xs {
		if err := l.Add(x); err != nil {
			t.Fatal(err)
		}
	}
	return &l
}

func TestLogSumExpAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for trial := 0; trial < 200; trial++ {
		n := 1 + r.IntN(3000)
		scale := math.Ldexp(1, r.IntN(24)-4)
		shift := (r.Float64() - 0.5) * math.Ldexp(1, r.IntN(40))
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = r.NormFloat64()*scale + shift
			if r.IntN(50) == 0 {
				xs[i] = math.Inf(-1)
			}
		}
		got, want := lseOf(t, xs).Value(), refLSE(xs)
		if math.Abs(got-want) > 4e-16*math.Max(1, math.Abs(want))+1e-15 && !(math.IsInf(want, -1) && math.IsInf(got, -1)) {
			t.Fatalf("trial %d: %v, want %v (diff %g)", trial, got, want, got-want)
		}
	}
}

func TestLogSumExpCases(t *testing.T) {
	cases := []struct {
		name string
		xs   []float64
		want float64
	}{
		{"empty", nil, math.Inf(-1)},
		{"all masked", []float64{math.Inf(-1), math.Inf(-1)}, math.Inf(-1)},
		{"one", []float64{2.5}, 2.5},
		{"two equal", []float64{0, 0}, math.Ln2},
		{"wide spread", []float64{1000, -1000, math.Inf(-1)}, 1000},
		{"large", []float64{1e17, 1e17 - 1e3}, 1e17},
		{"+Inf", []float64{1, math.Inf(1)}, math.Inf(1)},
		{"NaN", []float64{math.NaN(), math.Inf(1)}, math.NaN()},
	}
	for _, c := range cases {
		got := lseOf(t, c.xs).Value()
		if !(got == c.want || math.IsNaN(got) && math.IsNaN(c.want) || math.Abs(got-c.want) <= 4e-16*math.Abs(c.want)) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	var l LogSumExp
	if err := l.Add(math.Ldexp(1, 60)); err == nil {
		t.Error("2⁶⁰ accepted")
	}
	if l.Len() != 0 {
		t.Error("a rejected term was counted")
	}
}

func TestLogSumExpSplitsSameBits(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for trial := 0; trial < 100; trial++ {
		xs := make([]float64, r.IntN(4000))
		for i := range xs {
			xs[i] = r.NormFloat64() * math.Ldexp(1, r.IntN(12))
		}
		whole := lseOf(t, xs)
		wb, _ := whole.MarshalBinary()
		var parts []*LogSumExp
		for lo := 0; lo < len(xs) || len(parts) == 0; {
			hi := min(len(xs), lo+r.IntN(len(xs)/4+2))
			if r.IntN(5) == 0 {
				hi = lo
			}
			parts = append(parts, lseOf(t, xs[lo:hi]))
			lo = hi
		}
		r.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
		for len(parts) > 1 {
			o := parts[1]
			if r.IntN(2) == 0 {
				b, _ := o.MarshalBinary()
				o = &LogSumExp{}
				if err := o.UnmarshalBinary(b); err != nil {
					t.Fatal(err)
				}
			}
			parts[0].Merge(o)
			parts = append(parts[:1], parts[2:]...)
		}
		if got, want := parts[0].Value(), whole.Value(); math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("trial %d: merged %v, one pass %v", trial, got, want)
		}
		mb, _ := parts[0].MarshalBinary()
		if !bytes.Equal(mb, wb) {
			t.Fatalf("trial %d: binary forms differ", trial)
		}
	}
}

func TestLogSumExpDecodeErrors(t *testing.T) {
	good, _ := lseOf(t, []float64{1, 2, -3}).MarshalBinary()
	for n := 0; n < len(good); n++ {
		var l LogSumExp
		if err := l.UnmarshalBinary(good[:n]); !errors.Is(err, ErrFormat) {
			t.Errorf("cut at %d: %v", n, err)
		}
	}
	for _, b := range [][]byte{{2, 0, 0, 0}, {1, 8, 0, 0}, {1, 0, 1, 0}, {1, 0, 0, 1, 0, 0}, append(append([]byte{}, good...), 0)} {
		var l LogSumExp
		if err := l.UnmarshalBinary(b); !errors.Is(err, ErrFormat) {
			t.Errorf("%x: %v", b, err)
		}
	}
}

func FuzzLogSumExpDecode(f *testing.F) {
	for _, xs := range [][]float64{nil, {0}, {1, 2, 3}, {1e10, -1e10}, {math.Inf(1)}} {
		b, _ := lseOf(f, xs).MarshalBinary()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var l LogSumExp
		if err := l.UnmarshalBinary(data); err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatal(err)
			}
			return
		}
		v := l.Value()
		b, _ := l.MarshalBinary()
		var u LogSumExp
		if err := u.UnmarshalBinary(b); err != nil {
			t.Fatalf("re-encoding rejected: %v", err)
		}
		if w := u.Value(); math.Float64bits(w) != math.Float64bits(v) && !(math.IsNaN(v) && math.IsNaN(w)) {
			t.Fatalf("round trip %v → %v", v, w)
		}
		u.Merge(&l)
		u.Value()
	})
}
