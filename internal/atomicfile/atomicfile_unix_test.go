//go:build unix

package atomicfile

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func umask() os.FileMode {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return os.FileMode(m)
}

func mkfifo(p string) error { return syscall.Mkfifo(p, 0o600) }

// nullDevice returns a character device that discards what is written:
// as root, a private copy of /dev/null made in a temporary directory (so
// that a faulty Write cannot damage the system's); otherwise /dev/null
// itself, which an ordinary user cannot replace.
func nullDevice(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		return os.DevNull
	}
	p := filepath.Join(t.TempDir(), "null")
	if err := syscall.Mknod(p, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Skip("cannot make a device node:", err)
	}
	return p
}
