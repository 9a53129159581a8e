//go:build linux

package vek

import (
	"testing"

	"github.com/xentlab/xent/internal/guardmem"
)

// guarded returns n bytes starting right after an inaccessible page and
// n bytes ending right before one.
func guarded(t *testing.T, n int) (lead, tail []byte) { return guardmem.Bytes(t, n) }

func f32s(b []byte) []float32 { return guardmem.Float32(b) }

func f64s(b []byte) []float64 { return guardmem.Float64(b) }

// TestNoAccessOutside runs every kernel on slices that start right after
// and end right before an inaccessible page, for every tail length.
func TestNoAccessOutside(t *testing.T) {
	for n := 0; n <= 70; n++ {
		for _, tier := range tiers32 {
			for _, buf := range func() [][]byte { a, b := guarded(t, 4*n); return [][]byte{a, b} }() {
				x := f32s(buf)
				for i := range x {
					x[i] = float32(i%5) - 2
				}
				if n > 0 {
					m, _ := tier.maxNaN(x)
					tier.expSum(x, -m, 1)
					tier.expSum(x, -m, 0.5)
					tier.expShiftSum(x, 0)
					tier.expShiftStore(x, x, 0)
					tier.expStoreSum(x, x, -m, 1)
					tier.expAffine(x, x, -m, 1, 0.5, 0.1)
					tier.axpy(x, x, 0.5)
					tier.shiftScale(x, x, m, 1, 0.5)
				}
				tier.sum(x)
				tier.scale(x, x, 2)
				tier.exp(x, x)
				// Every part of a pipeline step over the same guarded slice.
				if n > 0 {
					p := &x[0]
					for _, mode := range []int{stepScale, stepShift, stepScale | stepNT} {
						tier.step(n, p, p, 0, p, p, 0.5, 0.25, mode, p, 0)
					}
				}
			}
		}
		for _, tier := range tiers64 {
			for _, buf := range func() [][]byte { a, b := guarded(t, 8*n); return [][]byte{a, b} }() {
				x := f64s(buf)
				for i := range x {
					x[i] = float64(i%5) - 2
				}
				if n > 0 {
					m, _ := tier.maxNaN(x)
					tier.expSum(x, m, 1)
					tier.expStoreSum(x, x, m, 1)
					tier.expAffine(x, x, m, 1, 0.5, 0.1)
					tier.axpy(x, x, 0.5)
					tier.shiftScale(x, x, m, 1, 0.5)
				}
				tier.sum(x)
				tier.scale(x, x, 2)
				tier.exp(x, x)
			}
		}
	}
}
