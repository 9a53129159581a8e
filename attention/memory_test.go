package attention

import (
	"runtime"
	"runtime/debug"
	"testing"
)

// measureAlloc returns the bytes f allocates, with sync.Pools emptied
// first (two collections) so that scratch buffers are counted.
func measureAlloc(f func()) int64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.GC()
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return int64(b.TotalAlloc - a.TotalAlloc)
}

// TestMemory: the scratch memory of Forward and Backward does not grow
// with the number of keys (prefill), and grows by far less than the
// scores would take on the split (decoding) path.
func TestMemory(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	measure := func(sh Shape, backward bool) int64 {
		in := benchInput(sh)
		d := sh.resolveOrPanic()
		out := Output[float32]{Out: make([]float32, d.B*d.H*d.S*d.Dv), LSE: make([]float32, d.B*d.H*d.S)}
		cfg := Config{Causal: true, Threads: 1}
		if !backward {
			var err error
			n := measureAlloc(func() { err = Forward(cfg, in, out) })
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if err := Forward(cfg, in, out); err != nil {
			t.Fatal(err)
		}
		g := Grad[float32]{DQ: make([]float32, len(in.Q)), DK: make([]float32, len(in.K)), DV: make([]float32, len(in.V))}
		var err error
		n := measureAlloc(func() { err = Backward(cfg, in, out, out.Out, &g) })
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, c := range []struct {
		name         string
		small, large Shape
		backward     bool
		slack        int64
	}{
		{"prefill forward", Shape{Batch: 1, Heads: 2, Queries: 256, Keys: 1024, Dim: 32}, Shape{Batch: 1, Heads: 2, Queries: 256, Keys: 8192, Dim: 32}, false, 4096},
		{"prefill backward", Shape{Batch: 1, Heads: 2, Queries: 256, Keys: 1024, Dim: 32}, Shape{Batch: 1, Heads: 2, Queries: 256, Keys: 8192, Dim: 32}, true, 4096},
		{"decoding", Shape{Batch: 1, Heads: 8, KVHeads: 2, Queries: 1, Keys: 4096, Dim: 32}, Shape{Batch: 1, Heads: 8, KVHeads: 2, Queries: 1, Keys: 32768, Dim: 32}, false, 64 << 10},
	} {
		small, large := measure(c.small, c.backward), measure(c.large, c.backward)
		extraScores := int64(4 * c.large.Heads * c.large.Queries * (c.large.Keys - c.small.Keys))
		if large-small > c.slack {
			t.Errorf("%s: scratch grew from %d to %d bytes with T (the extra scores: %d bytes)", c.name, small, large, extraScores)
		}
		t.Logf("%s: %d bytes at T=%d, %d at T=%d", c.name, small, c.small.Keys, large, c.large.Keys)
	}
}
