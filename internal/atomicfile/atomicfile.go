// Package atomicfile writes output files safely.
//
// A regular file (or a new one) is written to a temporary file in the
// same directory, synced, and renamed over the destination only when
// everything succeeded, so a reader sees either the old file or the
// complete new one, never a half-written file. A symbolic link is
// followed: the file it points to is replaced, not the link. An existing
// file keeps its permission bits (and, where the process may set it, its
// owner). Character devices (/dev/null, a terminal) and named pipes
// cannot be replaced: they are written in place. Anything else (a
// directory, a socket, a block device) is refused.
//
// Temporaries are named .NAME.tmp-PID-RANDOM. A process killed while
// writing leaves its temporary behind; the next write to the same path
// removes every temporary of that path whose process is gone (see
// CleanStale).
//
// CheckDistinct refuses an output that is the same file as an input (or
// as another output), compared by device and inode, not by name.
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Write creates or replaces the file at path with what fill writes, as
// the package documentation describes. If fill or any file operation
// fails, a regular file at path is left untouched and the temporary file
// is removed; a device or pipe may have received part of the data.
func Write(path string, fill func(w io.Writer) error) error {
	if isProcPath(path) {
		// /dev/stdout, /dev/fd/N, /proc/self/fd/N: whatever the
		// descriptor is (a redirected file, a pipe, a terminal), write
		// through it rather than renaming over what it points to.
		return direct(path, fill)
	}
	target, err := Resolve(path)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	st, err := os.Stat(target)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return replace(path, target, nil, fill)
	case err != nil:
		return fmt.Errorf("write %s: %w", path, err)
	case st.Mode().IsRegular():
		return replace(path, target, st, fill)
	case st.Mode()&(fs.ModeCharDevice|fs.ModeNamedPipe) != 0:
		return direct(target, fill)
	case st.IsDir():
		return fmt.Errorf("write %s: is a directory", path)
	}
	return fmt.Errorf("write %s: not a regular file, character device or pipe (%s)", path, st.Mode().Type())
}

// isProcPath reports whether path names a descriptor through /dev or
// /proc (/dev/stdout, /dev/fd/1, /proc/self/fd/1).
func isProcPath(path string) bool {
	p := filepath.ToSlash(filepath.Clean(path))
	return p == "/dev/stdout" || p == "/dev/stderr" || strings.HasPrefix(p, "/dev/fd/") || strings.HasPrefix(p, "/proc/")
}

// maxLinks bounds the symbolic links Resolve follows (as Linux does).
const maxLinks = 40

// Resolve returns the path that symbolic links at path lead to: path
// itself when it is not a link (or does not exist), else the end of the
// chain of links, which need not exist (a dangling link names the file
// that writing it creates). Links in the directories of path are left
// as they are: they do not change which file the path names.
func Resolve(path string) (string, error) {
	p := path
	for range maxLinks {
		st, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return p, nil
		}
		if err != nil {
			return "", err
		}
		if st.Mode()&fs.ModeSymlink == 0 {
			return p, nil
		}
		t, err := os.Readlink(p)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(t) {
			t = filepath.Join(filepath.Dir(p), t)
		}
		p = t
	}
	return "", fmt.Errorf("more than %d symbolic links", maxLinks)
}

// direct writes fill's output straight into the existing file at path (a
// device or a pipe), which cannot be replaced.
func direct(path string, fill func(w io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := fill(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// replace writes a temporary beside target and renames it over target;
// old is target's current state (nil: it does not exist).
func replace(path, target string, old fs.FileInfo, fill func(w io.Writer) error) (err error) {
	CleanStale(target)
	perm := fs.FileMode(0o666) // less the umask, applied by the system
	if old != nil {
		perm = old.Mode().Perm()
	}
	f, tmp, err := createTemp(target, perm)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = fill(f); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if old != nil {
		// Created with perm less the umask: set the old bits exactly,
		// and the old owner where this process may.
		if err = f.Chmod(perm); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		keepOwner(f, old)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(tmp, target); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// tmpTag and oldTag mark the package's temporaries: .NAME.tmp-PID-RANDOM
// for data being written, .NAME.old-PID-RANDOM for a directory moved
// aside while its replacement is renamed into place.
const (
	tmpTag = ".tmp-"
	oldTag = ".old-"
)

// TempName returns a new name for a temporary of path in path's
// directory: .NAME.tmp-PID-RANDOM, which CleanStale recognises.
func TempName(path string) string {
	return tagName(path, tmpTag)
}

// OldName returns a new name, in path's directory, for moving an
// existing directory at path aside while a replacement is renamed into
// place: .NAME.old-PID-RANDOM. CleanStale removes such a directory only
// while path exists (otherwise it may be the only copy left).
func OldName(path string) string {
	return tagName(path, oldTag)
}

func tagName(path, tag string) string {
	dir, base := filepath.Split(filepath.Clean(path))
	return filepath.Join(dir, "."+base+tag+strconv.Itoa(os.Getpid())+"-"+strconv.FormatUint(rand.Uint64()>>16, 36))
}

// createTemp creates a new temporary file for target with permission
// bits perm (less the umask).
func createTemp(target string, perm fs.FileMode) (*os.File, string, error) {
	for range 100 {
		name := TempName(target)
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, name, err
	}
	return nil, "", errors.New("no unused temporary name")
}

// legacyAge is how old a temporary of the older naming (.NAME.tmp-DIGITS,
// with no process id) must be before CleanStale removes it.
const legacyAge = time.Hour

// CleanStale removes the temporaries of path (files or directories named
// .NAME.tmp-PID-RANDOM, as TempName makes) left by processes that no
// longer run, and directories .NAME.old-PID-RANDOM of such processes
// when path itself exists. Temporaries of the older form .NAME.tmp-DIGITS
// are removed once they are an hour old. Errors are ignored: cleaning is
// a courtesy, never a reason to fail a write.
func CleanStale(path string) {
	dir, base := filepath.Split(filepath.Clean(path))
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	_, errPath := os.Lstat(path)
	for _, e := range entries {
		name := e.Name()
		var rest string
		var ok, isOld bool
		if rest, ok = strings.CutPrefix(name, "."+base+tmpTag); !ok {
			if rest, ok = strings.CutPrefix(name, "."+base+oldTag); !ok {
				continue
			}
			isOld = true
		}
		if isOld && errPath != nil {
			continue // path is missing: this may be the only copy
		}
		if !staleTemp(rest, e, isOld) {
			continue
		}
		os.RemoveAll(filepath.Join(dir, name))
	}
}

// staleTemp decides whether a temporary whose name ends in rest (after
// the tag) was left by a process that is gone.
func staleTemp(rest string, e fs.DirEntry, isOld bool) bool {
	pidText, random, ok := strings.Cut(rest, "-")
	if !ok {
		// The older form: CreateTemp's decimal suffix, no process id.
		if isOld || rest == "" || strings.Trim(rest, "0123456789") != "" {
			return false
		}
		info, err := e.Info()
		return err == nil && time.Since(info.ModTime()) > legacyAge
	}
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 0 || random == "" {
		return false
	}
	return pid != os.Getpid() && !processAlive(pid)
}

// A Named is a file named on a command line: the flag and its path.
type Named struct {
	Flag string // the flag's name, without dashes
	Path string
}

func (n Named) String() string { return "--" + n.Flag + " " + n.Path }

// CheckDistinct returns an error if an output would overwrite an input
// or another output: an output that exists as a regular file and is the
// same file (same device and inode, whatever the names or links) as an
// input or as another output, or two outputs that would create the same
// new file. Empty paths are skipped; inputs that do not exist are left to
// their readers; devices and pipes may be shared (two outputs to
// /dev/null are fine).
func CheckDistinct(inputs, outputs []Named) error {
	type stat struct {
		n  Named
		fi fs.FileInfo
	}
	var in []stat
	for _, n := range inputs {
		if n.Path == "" {
			continue
		}
		if fi, err := os.Stat(n.Path); err == nil {
			in = append(in, stat{n, fi})
		}
	}
	var out []stat
	created := map[string]Named{} // outputs not there yet, by resolved absolute path
	for _, o := range outputs {
		if o.Path == "" {
			continue
		}
		fi, err := os.Stat(o.Path)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				continue // left to the writer to report
			}
			key := o.Path
			if t, err := Resolve(o.Path); err == nil {
				key = t
			}
			if abs, err := filepath.Abs(key); err == nil {
				key = abs
			}
			if prev, dup := created[key]; dup {
				return fmt.Errorf("%s and %s name the same output file", prev, o)
			}
			created[key] = o
			continue
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		for _, i := range in {
			if os.SameFile(fi, i.fi) {
				return fmt.Errorf("%s is the same file as the input %s: refusing to overwrite an input", o, i.n)
			}
		}
		for _, p := range out {
			if os.SameFile(fi, p.fi) {
				return fmt.Errorf("%s and %s name the same output file", p.n, o)
			}
		}
		out = append(out, stat{o, fi})
	}
	return nil
}
