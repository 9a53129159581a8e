//go:build unix

package lab

import (
	"errors"
	"syscall"
)

func syscallAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
