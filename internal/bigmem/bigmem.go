// Package bigmem gives tests slices longer than 2³¹ elements without the
// memory they would take: one small block of zeros (a memory file) is
// mapped again and again, read-only, side by side, so a 16 GiB slice
// costs its page tables and the block. Set writes an element through a
// private copy of its page only.
package bigmem

import "errors"

// ErrUnavailable is returned where such mappings cannot be made.
var ErrUnavailable = errors.New("bigmem: repeated mappings are not available here")

// A Slice is a long []float32 of zeros, read-only but for the elements
// written with Set.
type Slice struct {
	X    []float32
	m    mapping
	free func()
}

// Float32 returns a Slice of n zeros.
func Float32(n int) (*Slice, error) { return float32s(n) }

// Set writes v at index i (its page becomes a private, writable copy).
func (s *Slice) Set(i int, v float32) error { return s.set(i, v) }

// Free unmaps the slice; s.X must not be used after.
func (s *Slice) Free() { s.free() }
