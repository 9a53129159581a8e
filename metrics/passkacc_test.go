package metrics

import (
	"bytes"
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/xentlab/xent/internal/wire"
)

// passAtKRat is 1 − C(n−c, k)/C(n, k) in exact rationals.
func passAtKRat(n, c, k int) *big.Rat {
	if n-c < k {
		return big.NewRat(1, 1)
	}
	num := new(big.Int).Binomial(int64(n-c), int64(k))
	den := new(big.Int).Binomial(int64(n), int64(k))
	r := new(big.Rat).SetFrac(num, den)
	return r.Sub(big.NewRat(1, 1), r)
}

func TestPassKAccumulator(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 7))
	ks := []int{10, 1, 5}
	const problems = 300
	ns, cs := make([]int, problems), make([]int, problems)
	sums := make([]big.Rat, 3)
	for i := range ns {
		ns[i] = 10 + rng.IntN(200)
		cs[i] = rng.IntN(ns[i] + 1)
		if i%5 == 0 {
			cs[i] = rng.IntN(3)
		}
		for j, k := range []int{1, 5, 10} {
			sums[j].Add(&sums[j], passAtKRat(ns[i], cs[i], k))
		}
	}
	whole, err := NewPassKAccumulator(ks...)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ns {
		if err := whole.Add(ns[i], cs[i]); err != nil {
			t.Fatal(err)
		}
	}
	got, err := whole.PassAtK()
	if err != nil {
		t.Fatal(err)
	}
	for j := range got {
		want, _ := new(big.Rat).Quo(&sums[j], big.NewRat(problems, 1)).Float64()
		if math.Abs(got[j]-want) > 1e-13*want {
			t.Errorf("pass@%d = %v, want %v", whole.Ks()[j], got[j], want)
		}
	}
	// Random splits merged in random order, some through the binary form.
	wb, _ := whole.MarshalBinary()
	for trial := 0; trial < 20; trial++ {
		perm := rng.Perm(problems)
		parts := []*PassKAccumulator{}
		cur, _ := NewPassKAccumulator(ks...)
		for _, i := range perm {
			if rng.IntN(30) == 0 {
				parts = append(parts, cur)
				cur, _ = NewPassKAccumulator(ks...)
			}
			cur.Add(ns[i], cs[i])
		}
		parts = append(parts, cur)
		total, _ := NewPassKAccumulator(1, 5, 10)
		for _, p := range parts {
			b, _ := p.MarshalBinary()
			var q PassKAccumulator
			if err := q.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			if err := total.Merge(&q); err != nil {
				t.Fatal(err)
			}
		}
		tb, _ := total.MarshalBinary()
		if !bytes.Equal(tb, wb) {
			t.Fatalf("trial %d: binary forms differ", trial)
		}
	}
}

func TestPassKAccumulatorErrors(t *testing.T) {
	a, _ := NewPassKAccumulator(5)
	if err := a.Add(3, 1); !errors.Is(err, ErrValue) || a.Problems() != 0 {
		t.Errorf("n < k: %v, %d problems", err, a.Problems())
	}
	if _, err := a.PassAtK(); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty: %v", err)
	}
	b, _ := NewPassKAccumulator(1)
	if err := a.Merge(b); !errors.Is(err, ErrShape) {
		t.Errorf("merge of other k: %v", err)
	}
	for _, ks := range [][]int{nil, {0}, {-1, 2}} {
		if _, err := NewPassKAccumulator(ks...); err == nil {
			t.Errorf("k = %v accepted", ks)
		}
	}
	a.Add(10, 2)
	good, _ := a.MarshalBinary()
	for n := range good {
		if err := b.UnmarshalBinary(good[:n]); !errors.Is(err, ErrValue) {
			t.Errorf("cut at %d: %v", n, err)
		}
	}
}

func FuzzPassKAccumulatorPayload(f *testing.F) {
	a, _ := NewPassKAccumulator(1, 3)
	a.Add(5, 1)
	b, _ := a.MarshalBinary()
	f.Add(b[5 : len(b)-4])
	f.Fuzz(func(t *testing.T, payload []byte) {
		var a PassKAccumulator
		if err := a.UnmarshalBinary(wire.Seal(passKMagic, passKVersion, payload)); err != nil {
			if !errors.Is(err, ErrValue) {
				t.Fatal(err)
			}
			return
		}
		if a.Problems() > 0 {
			v, err := a.PassAtK()
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range v {
				if !(x >= 0 && x <= 1) {
					t.Fatalf("pass@k %v outside [0, 1]", x)
				}
			}
		}
	})
}
