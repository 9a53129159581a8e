package par

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestWorkers checks that Workers runs every worker exactly once,
// all at the same time (they meet at a rendezvous that would never
// complete if any ran after another had returned), for many calls in a
// row and from several callers at once, more than there are helpers.
func TestWorkers(t *testing.T) {
	call := func(n int) {
		ran := make([]atomic.Int32, n)
		var arrived atomic.Int32
		Workers(n, func(w int) {
			ran[w].Add(1)
			arrived.Add(1)
			deadline := time.Now().Add(10 * time.Second)
			for arrived.Load() < int32(n) {
				if time.Now().After(deadline) {
					return
				}
			}
		})
		for w := range ran {
			if got := ran[w].Load(); got != 1 {
				t.Errorf("n=%d: worker %d ran %d times", n, w, got)
			}
		}
		if arrived.Load() != int32(n) {
			t.Errorf("n=%d: %d workers arrived", n, arrived.Load())
		}
	}
	for n := 1; n <= 5; n++ {
		for range 20 {
			call(n)
		}
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 1; n <= 3; n++ {
				call(n)
			}
		}()
	}
	wg.Wait()
	// After the helpers have gone to sleep, a call wakes them.
	time.Sleep(2 * spinTime)
	call(3)
}
