//go:build !unix

package atomicfile

import (
	"io/fs"
	"os"
)

// processAlive cannot tell here: a temporary is presumed in use.
func processAlive(pid int) bool { return true }

// keepOwner does nothing where file ownership is not Unix's.
func keepOwner(f *os.File, old fs.FileInfo) {}
