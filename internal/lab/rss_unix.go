//go:build unix

package lab

import (
	"runtime"
	"syscall"
)

// maxRSS returns the peak resident memory of the process in bytes, from
// getrusage (0 if it fails).
func maxRSS() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return int64(ru.Maxrss) // bytes there, kilobytes elsewhere
	}
	return int64(ru.Maxrss) * 1024
}
