// Package guardmem gives the kernels' tests memory fenced by inaccessible
// pages, so that a kernel that reads or writes one byte outside its slices
// crashes the test instead of passing by luck.
package guardmem

import (
	"errors"
	"testing"
	"unsafe"
)

// ErrUnavailable is returned where guard pages cannot be made (not Linux,
// or mmap/mprotect refused).
var ErrUnavailable = errors.New("guardmem: guard pages are not available here")

// Fenced returns two views of n bytes: lead starts right after an
// inaccessible page, tail ends right before one. free unmaps them.
func Fenced(n int) (lead, tail []byte, free func(), err error) {
	return fenced(n)
}

// Bytes is Fenced for a test: it skips tb where guard pages are not
// available and unmaps the memory when tb ends.
func Bytes(tb testing.TB, n int) (lead, tail []byte) {
	tb.Helper()
	lead, tail, free, err := fenced(n)
	if err != nil {
		tb.Skip(err)
	}
	tb.Cleanup(free)
	return lead, tail
}

// Float32 views b as float32s.
func Float32(b []byte) []float32 { return cast[float32](b) }

// Float64 views b as float64s.
func Float64(b []byte) []float64 { return cast[float64](b) }

// Int32 views b as int32s.
func Int32(b []byte) []int32 { return cast[int32](b) }

func cast[T any](b []byte) []T {
	if len(b) == 0 {
		return nil
	}
	var z T
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), len(b)/int(unsafe.Sizeof(z)))
}
