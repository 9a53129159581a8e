//go:build linux && (amd64 || arm64)

package bigmem

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

// block is the size of the block of zeros mapped again and again: large
// enough that the mappings stay well below the kernel's default limit of
// 65 530 per process for slices of tens of GiB.
const block = 4 << 20

type mapping struct {
	base []byte // the whole reserved range
}

func float32s(n int) (*Slice, error) {
	size := (4*n + block - 1) / block * block
	// Reserve the address range, then map the block over it piece by
	// piece. MAP_POPULATE fills the page tables read-only up front: no
	// page fault per page when the test reads it.
	base, err := syscall.Mmap(-1, 0, size, syscall.PROT_NONE, syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	f, err := os.CreateTemp("", "bigmem-*")
	if err != nil {
		syscall.Munmap(base)
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	os.Remove(f.Name())
	defer f.Close()
	if err := f.Truncate(block); err != nil {
		syscall.Munmap(base)
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	// Write the zeros so that the pages exist in the page cache.
	if _, err := f.WriteAt(make([]byte, block), 0); err != nil {
		syscall.Munmap(base)
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(base)))
	for off := 0; off < size; off += block {
		_, _, e := syscall.Syscall6(syscall.SYS_MMAP, start+uintptr(off), block, syscall.PROT_READ,
			syscall.MAP_PRIVATE|syscall.MAP_FIXED|syscall.MAP_POPULATE, f.Fd(), 0)
		if e != 0 {
			syscall.Munmap(base)
			return nil, fmt.Errorf("%w: %v", ErrUnavailable, e)
		}
	}
	x := unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(base))), n)
	return &Slice{X: x, m: mapping{base}, free: func() { syscall.Munmap(base) }}, nil
}

func (s *Slice) set(i int, v float32) error {
	page := os.Getpagesize()
	addr := uintptr(unsafe.Pointer(&s.X[i]))
	p := addr &^ uintptr(page-1)
	off := int(p - uintptr(unsafe.Pointer(unsafe.SliceData(s.m.base))))
	if err := syscall.Mprotect(s.m.base[off:off+page], syscall.PROT_READ|syscall.PROT_WRITE); err != nil {
		return err
	}
	s.X[i] = v
	return nil
}
