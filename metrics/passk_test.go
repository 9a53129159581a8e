package metrics

import (
	"errors"
	"math"
	"math/big"
	"math/bits"
	"testing"
	"time"
)

// TestPassAtKEnumeration compares the estimator with the fraction of all
// k-subsets of n samples (c correct) holding a correct one.
func TestPassAtKEnumeration(t *testing.T) {
	for n := 1; n <= 12; n++ {
		for c := 0; c <= n; c++ {
			correct := uint32(1)<<c - 1 // the first c samples are correct
			for k := 1; k <= n; k++ {
				var subsets, hit int
				for s := uint32(0); s < 1<<n; s++ {
					if bits.OnesCount32(s) != k {
						continue
					}
					subsets++
					if s&correct != 0 {
						hit++
					}
				}
				want := float64(hit) / float64(subsets)
				got, err := PassAtK(n, c, k)
				if err != nil || !closeTo(got, want, 1e-14, 1e-15) {
					t.Fatalf("PassAtK(%d, %d, %d) = %v, %v; want %v", n, c, k, got, err, want)
				}
			}
		}
	}
}

func TestPassAtKLarge(t *testing.T) {
	// 1 − C(n−1, k)/C(n, k) = k/n exactly for c = 1.
	got, _ := PassAtK(1000000, 1, 3)
	if !closeTo(got, 3e-6, 1e-12, 0) {
		t.Errorf("PassAtK(1e6, 1, 3) = %v, want 3e-6", got)
	}
	got, _ = PassAtK(200, 10, 100)
	// Π_{i=191}^{200} (1 − 100/i), evaluated term by term in float64.
	p := 1.0
	for i := 191; i <= 200; i++ {
		p *= 1 - 100/float64(i)
	}
	if !closeTo(got, 1-p, 1e-14, 0) {
		t.Errorf("PassAtK(200, 10, 100) = %v, want %v", got, 1-p)
	}
	m, err := MeanPassAtK([]int{10, 10}, []int{0, 10}, 1)
	if err != nil || m != 0.5 {
		t.Errorf("MeanPassAtK = %v, %v", m, err)
	}
	for _, bad := range [][3]int{{0, 0, 1}, {5, 6, 1}, {5, -1, 1}, {5, 2, 0}, {5, 2, 6}} {
		if _, err := PassAtK(bad[0], bad[1], bad[2]); !errors.Is(err, ErrValue) {
			t.Errorf("PassAtK%v: err = %v", bad, err)
		}
	}
	if _, err := MeanPassAtK([]int{1}, nil, 1); !errors.Is(err, ErrShape) {
		t.Errorf("mismatched: %v", err)
	}
	if _, err := MeanPassAtK(nil, nil, 1); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty: %v", err)
	}
}

// TestPassAtN uses the table of catalog A8 (computed there in float64).
func TestPassAtN(t *testing.T) {
	for _, c := range []struct {
		logp, n, coverage, loss float64
	}{
		{-2, 1, 0.135335283, 2},
		{-2, 4, 0.441026846, 0.818649531},
		{-2, 16, 0.902374381, 0.102725789},
		{-0.05, 4, 0.999994342, 5.65760666e-06},
		{-0.05, 16, 1, 1.02453332e-21},
		{-30, 4, 3.74e-13, 28.6137056},
	} {
		got, err := PassAtN(math.Exp(c.logp), c.n)
		if err != nil || !closeTo(got, c.coverage, 3e-3, 0) {
			t.Errorf("PassAtN(e^%v, %v) = %v, %v; want %v", c.logp, c.n, got, err, c.coverage)
		}
		lg, err := LogPassAtN(c.logp, c.n)
		if err != nil || !closeTo(-lg, c.loss, 1e-8, 0) {
			t.Errorf("LogPassAtN(%v, %v) = %v, %v; want %v", c.logp, c.n, lg, err, -c.loss)
		}
	}
	// Tiny p: 1 − (1 − p)^N ≈ N·p, which the naive form loses.
	if got, _ := PassAtN(1e-20, 8); !closeTo(got, 8e-20, 1e-14, 0) {
		t.Errorf("PassAtN(1e-20, 8) = %v", got)
	}
	if got, _ := PassAtN(1, 3); got != 1 {
		t.Errorf("PassAtN(1, 3) = %v", got)
	}
	if got, _ := LogPassAtN(0, 3); got != 0 {
		t.Errorf("LogPassAtN(0, 3) = %v", got)
	}
	if m, _ := MeanPassAtN([]float64{0, 1}, 2); m != 0.5 {
		t.Errorf("MeanPassAtN = %v", m)
	}
	for _, bad := range [][2]float64{{-0.1, 1}, {1.1, 1}, {math.NaN(), 1}, {0.5, 0}, {0.5, math.Inf(1)}} {
		if _, err := PassAtN(bad[0], bad[1]); !errors.Is(err, ErrValue) {
			t.Errorf("PassAtN%v: err = %v", bad, err)
		}
	}
	if _, err := LogPassAtN(0.1, 2); !errors.Is(err, ErrValue) {
		t.Errorf("LogPassAtN(0.1): err = %v", err)
	}
}

// TestPassAtKHuge: the largest n, and counts in the billions, return at
// once with the right value (the loop once ran to n and overflowed).
func TestPassAtKHuge(t *testing.T) {
	type tc struct {
		n, c, k int
		want    float64
	}
	cases := []tc{
		// c = 1 or k = 1: pass@k = c·k/n exactly.
		{math.MaxInt, 0, 1, 0},
		{math.MaxInt, 3, 1, 3 / float64(math.MaxInt)},
		{math.MaxInt, 1, 1 << 40, float64(1<<40) / float64(math.MaxInt)},
		{math.MaxInt, 1 << 40, 1, float64(1<<40) / float64(math.MaxInt)},
		// c·k/n ≫ 40: the product is below e^−40, pass@k rounds to 1.
		{1 << 50, 1 << 40, 1 << 40, 1},
		{math.MaxInt, math.MaxInt / 2, math.MaxInt / 4, 1},
		// n − c < k.
		{math.MaxInt, math.MaxInt - 5, 6, 1},
	}
	// A mid-size case against the definition C(n−c, k)/C(n, k) =
	// Π_{i<k} (n−c−i)/(n−i) in 256-bit floating point.
	n, c, k := 1<<40, 1000, 3000
	p := new(big.Float).SetPrec(256).SetInt64(1)
	for i := 0; i < k; i++ {
		f := new(big.Float).SetPrec(256).SetInt64(int64(n - c - i))
		p.Mul(p, f.Quo(f, new(big.Float).SetPrec(256).SetInt64(int64(n-i))))
	}
	ref, _ := new(big.Float).Sub(big.NewFloat(1).SetPrec(256), p).Float64()
	cases = append(cases, tc{n, c, k, ref})
	for _, cs := range cases {
		done := make(chan struct{})
		var got float64
		var err error
		go func() {
			got, err = PassAtK(cs.n, cs.c, cs.k)
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("PassAtK(%d, %d, %d) did not return", cs.n, cs.c, cs.k)
		}
		if err != nil || !closeTo(got, cs.want, 1e-12, 0) {
			t.Errorf("PassAtK(%d, %d, %d) = %v, %v; want %v", cs.n, cs.c, cs.k, got, err, cs.want)
		}
	}
}
