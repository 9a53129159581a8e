//go:build !linux

package main

// physicalMemory returns a generous default where the memory size is not
// read.
func physicalMemory() int64 { return defaultMemory }
