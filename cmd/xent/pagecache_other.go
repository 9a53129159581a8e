//go:build !linux

package main

import (
	"io"
	"os"
)

// recache reads the file once, so that the page cache holds it.
func recache(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(io.Discard, f)
	return err
}
