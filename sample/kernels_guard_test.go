//go:build linux

package sample

import (
	"testing"

	"github.com/xentlab/xent/internal/guardmem"
)

// guarded returns n bytes starting right after an inaccessible page and
// n bytes ending right before one.
func guarded(t *testing.T, n int) (lead, tail []byte) { return guardmem.Bytes(t, n) }

func asF32(b []byte) []float32 { return guardmem.Float32(b) }

func asI32(b []byte) []int32 { return guardmem.Int32(b) }

// TestKernelsNoAccessOutside runs the kernels on inputs that touch a
// guard page at either end, for every tail length.
func TestKernelsNoAccessOutside(t *testing.T) {
	for n := 0; n <= 70; n++ {
		for side := range 2 {
			pick := func() []byte {
				a, b := guarded(t, 4*n)
				if side == 0 {
					return a
				}
				return b
			}
			key, e, ids := asF32(pick()), asF32(pick()), asI32(pick())
			for i := range key {
				key[i], e[i], ids[i] = float32(i%7)-3, float32(i), int32(i)
			}
			sum64(e)
			sumAbove(key, e, 0)
			thr := [8]float32{-3, -2, -1, 0, 1, 2, 3, 4}
			var out [8]float64
			massAbove(key, e, &thr, &out)
			oi := make([]int32, n+kernelPad)
			ok, oa := make([]float32, n+kernelPad), make([]float32, n+kernelPad)
			compress(key, e, nil, 0, -1, 2, oi, ok, oa)
			compress(key, e, ids, 0, -1, 2, oi, ok, oa)
			split(key, e, nil, 0, -1, 1, oi)
			split(key, e, ids, 0, -1, 1, oi)
		}
	}
}
