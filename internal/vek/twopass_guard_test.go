//go:build linux

package vek

import (
	"math"
	"testing"
)

// TestTwoPassNoAccessOutside runs the two-pass kernels on slices that
// start right after and end right before an inaccessible page, for every
// tail length 0..70.
func TestTwoPassNoAccessOutside(t *testing.T) {
	for n := 0; n <= 70; n++ {
		for _, tier := range twoPassTiers() {
			a, b := guarded(t, 4*n)
			for _, buf := range [][]byte{a, b} {
				x := f32s(buf)
				for i := range x {
					x[i] = float32(i%5) - 2
				}
				if n == 0 {
					tier.scale(x, x, 0, 1)
					continue
				}
				m, e, ok := tier.sum(x)
				if !ok || math.IsNaN(m) {
					t.Fatalf("%s n=%d: rejected", tier.name, n)
				}
				tier.scale(x, x, float32(e), float32(1/m))
			}
		}
	}
}
