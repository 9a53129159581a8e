//go:build linux

package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// recache drops a file's pages from the page cache and reads it back, so
// that the cache holds it as it holds a file read from disk (in the large
// folios of read-ahead, not the small pages a fresh write leaves).
func recache(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return err
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for {
		if _, err := f.Read(buf); err != nil {
			return nil
		}
	}
}
