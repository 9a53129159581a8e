package par

import (
	"math"
	"sync/atomic"
	"testing"
)

func TestForCoversEveryIndexOnce(t *testing.T) {
	for _, n := range []int{0, 1, 7, 64, 1000} {
		for _, grain := range []int{0, 1, 3, 64, 5000} {
			for _, threads := range []int{1, 2, 3, 8} {
				hits := make([]atomic.Int32, n)
				blocks := make([]atomic.Int32, Blocks(n, grain))
				For(n, grain, threads, func(b, lo, hi int) {
					blocks[b].Add(1)
					if lo >= hi {
						t.Errorf("empty block %d [%d,%d)", b, lo, hi)
					}
					for i := lo; i < hi; i++ {
						hits[i].Add(1)
					}
				})
				for i := range hits {
					if hits[i].Load() != 1 {
						t.Fatalf("n=%d grain=%d threads=%d: index %d visited %d times", n, grain, threads, i, hits[i].Load())
					}
				}
				for b := range blocks {
					if blocks[b].Load() != 1 {
						t.Fatalf("block %d ran %d times", b, blocks[b].Load())
					}
				}
			}
		}
	}
}

// TestForDeterministic sums per block and combines in block order: the
// result must not depend on the thread count.
func TestForDeterministic(t *testing.T) {
	x := make([]float64, 100003)
	for i := range x {
		x[i] = math.Sin(float64(i)) * math.Exp(float64(i%37))
	}
	sum := func(threads int) float64 {
		part := make([]float64, Blocks(len(x), 1000))
		For(len(x), 1000, threads, func(b, lo, hi int) {
			for _, v := range x[lo:hi] {
				part[b] += v
			}
		})
		var s float64
		for _, p := range part {
			s += p
		}
		return s
	}
	want := sum(1)
	for _, th := range []int{2, 3, 4, 16} {
		if got := sum(th); math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("threads=%d: %v, want %v", th, got, want)
		}
	}
}

func TestThreads(t *testing.T) {
	if Threads(3) != 3 || Threads(0) < 1 || Threads(-1) < 1 {
		t.Fatal("Threads")
	}
}
