//go:build unix

package lab

import "syscall"

// cpuSeconds returns the CPU time (user + system) the process has used:
// on a machine shared with other work it measures the benchmark's own
// cost, which wall time does not.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}
