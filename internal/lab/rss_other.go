//go:build !unix

package lab

// maxRSS returns 0: the peak resident memory is not read on this system.
func maxRSS() int64 { return 0 }
