//go:build linux

package evalacc

import (
	"os"

	"golang.org/x/sys/unix"
)

// recache drops a file from the page cache and reads it back, as a file
// read from disk is cached.
func recache(path string) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	f.Sync()
	unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
	buf := make([]byte, 1<<20)
	for {
		if _, err := f.Read(buf); err != nil {
			return
		}
	}
}
