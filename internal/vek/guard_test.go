//go:build linux

package vek

import (
	"syscall"
	"testing"
	"unsafe"
)

// guarded returns memory of n bytes whose first byte follows an
// inaccessible page and whose last byte precedes another, so a kernel that
// reads or writes outside its slice crashes the test.
func guarded(t *testing.T, n int) (lead, tail []byte) {
	t.Helper()
	page := syscall.Getpagesize()
	size := (n + page - 1) / page * page
	mem, err := syscall.Mmap(-1, 0, size+2*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Skip("mmap:", err)
	}
	t.Cleanup(func() { syscall.Munmap(mem) })
	if err := syscall.Mprotect(mem[:page], syscall.PROT_NONE); err != nil {
		t.Skip("mprotect:", err)
	}
	if err := syscall.Mprotect(mem[page+size:], syscall.PROT_NONE); err != nil {
		t.Skip("mprotect:", err)
	}
	return mem[page : page+n], mem[page+size-n : page+size]
}

func f32s(b []byte) []float32 {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4)
}

func f64s(b []byte) []float64 {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*float64)(unsafe.Pointer(&b[0])), len(b)/8)
}

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
