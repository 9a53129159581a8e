//go:build linux

package guardmem

import "syscall"

func fenced(n int) (lead, tail []byte, free func(), err error) {
	page := syscall.Getpagesize()
	size := (n + page - 1) / page * page
	mem, err := syscall.Mmap(-1, 0, size+2*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil, nil, func() {}, ErrUnavailable
	}
	free = func() { syscall.Munmap(mem) }
	if syscall.Mprotect(mem[:page], syscall.PROT_NONE) != nil || syscall.Mprotect(mem[page+size:], syscall.PROT_NONE) != nil {
		free()
		return nil, nil, func() {}, ErrUnavailable
	}
	return mem[page : page+n], mem[page+size-n : page+size], free, nil
}
