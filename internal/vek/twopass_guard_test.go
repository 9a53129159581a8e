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

// TestTwoPassStoreNoAccessOutside does the same for the stored form, with
// dst, x and refs each against guard pages.
func TestTwoPassStoreNoAccessOutside(t *testing.T) {
	for n := 0; n <= 70; n++ {
		for _, tier := range storeTiers() {
			_, xb := guarded(t, 4*n)
			_, db := guarded(t, 4*n)
			_, rb := guarded(t, 4*TwoPassRefs(n))
			x, dst, refs := f32s(xb), f32s(db), f32s(rb)
			for i := range x {
				x[i] = float32(i%5) - 2
			}
			if n == 0 {
				continue
			}
			m, e, ok := tier.sum(dst, x, refs)
			if !ok {
				t.Fatalf("%s n=%d: rejected", tier.name, n)
			}
			tier.rescale(dst, refs, float32(e), float32(1/m))
		}
	}
}
