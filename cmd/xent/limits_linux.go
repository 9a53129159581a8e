package main

import "syscall"

// physicalMemory returns the machine's physical memory in bytes.
func physicalMemory() int64 {
	var si syscall.Sysinfo_t
	if syscall.Sysinfo(&si) != nil || si.Totalram == 0 {
		return defaultMemory
	}
	return int64(si.Totalram) * int64(si.Unit)
}
