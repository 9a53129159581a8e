//go:build !unix

package atomicfile

import (
	"errors"
	"os"
	"testing"
)

func umask() os.FileMode { return 0 }

func mkfifo(string) error { return errors.New("no named pipes") }

func nullDevice(t *testing.T) string {
	t.Skip("no character devices to test with")
	return ""
}
