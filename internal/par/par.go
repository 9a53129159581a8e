// Package par runs loops on several goroutines without giving up
// determinism: work is cut into blocks whose boundaries depend only on the
// problem size, never on the number of threads, so a caller that combines
// per-block results in block order gets the same bits for any thread
// count. The goroutines beyond the caller's are helpers that outlive a
// call (Workers): they spin a few hundred microseconds after a job before
// they sleep, so that a short parallel call does not wait for an
// operating-system thread to wake.
package par

import (
	"runtime"
	"sync/atomic"
)

// Threads returns n if n ≥ 1, else runtime.GOMAXPROCS(0).
func Threads(n int) int {
	if n >= 1 {
		return n
	}
	return runtime.GOMAXPROCS(0)
}

// Blocks returns the number of blocks For cuts [0, n) into.
func Blocks(n, grain int) int {
	if n <= 0 {
		return 0
	}
	grain = max(grain, 1)
	return (n + grain - 1) / grain
}

// For calls fn(b, lo, hi) for every block b of [0, n) cut into pieces of
// grain elements (the last may be shorter), using up to threads goroutines
// (the caller's among them, the others from Workers). Blocks are handed out in order but may run
// concurrently, so fn must only write state owned by its block. With
// threads ≤ 1 or a single block everything runs on the calling goroutine.
func For(n, grain, threads int, fn func(b, lo, hi int)) {
	nb := Blocks(n, grain)
	if nb == 0 {
		return
	}
	grain = max(grain, 1)
	workers := min(threads, nb)
	if workers <= 1 {
		for b := 0; b < nb; b++ {
			fn(b, b*grain, min(n, (b+1)*grain))
		}
		return
	}
	var next atomic.Int64
	Workers(workers, func(int) {
		for {
			b := int(next.Add(1) - 1)
			if b >= nb {
				return
			}
			fn(b, b*grain, min(n, (b+1)*grain))
		}
	})
}
