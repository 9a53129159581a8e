//go:build linux

package sample

import (
	"syscall"
	"testing"
	"unsafe"
)

// guarded returns n bytes that start right after an inaccessible page, and
// n bytes that end right before one, so that a kernel reading or writing
// outside its slices crashes the test.
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

func asF32(b []byte) []float32 {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4)
}

func asI32(b []byte) []int32 {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*int32)(unsafe.Pointer(&b[0])), len(b)/4)
}

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
