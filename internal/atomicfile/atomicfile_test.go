package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWriteReplaces(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.txt")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(p, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if string(b) != "new" {
		t.Fatalf("got %q", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}
}

func TestWriteFailureKeepsOld(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.txt")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(p, func(w io.Writer) error {
		io.WriteString(w, "partial")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	b, _ := os.ReadFile(p)
	if string(b) != "old" {
		t.Fatalf("destination changed to %q", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}
}

func TestWriteMissingDir(t *testing.T) {
	p := filepath.Join(t.TempDir(), "no", "such", "out.txt")
	if err := Write(p, func(w io.Writer) error { return nil }); err == nil {
		t.Fatal("no error for a missing directory")
	}
}

func writeString(s string) func(w io.Writer) error {
	return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
}

func readString(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestWriteKeepsMode: replacing a file keeps its permission bits (a
// private 0600 file must not come back readable by everyone).
func TestWriteKeepsMode(t *testing.T) {
	for _, mode := range []os.FileMode{0o600, 0o640, 0o755, 0o444} {
		p := filepath.Join(t.TempDir(), "out.txt")
		if err := os.WriteFile(p, []byte("old"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		if err := Write(p, writeString("new")); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != mode {
			t.Errorf("mode %v became %v", mode, st.Mode().Perm())
		}
		if got := readString(t, p); got != "new" {
			t.Errorf("content %q", got)
		}
	}
}

// TestWriteNewFileUmask: a new file gets 0666 less the umask, as any
// program's new file does.
func TestWriteNewFileUmask(t *testing.T) {
	p := filepath.Join(t.TempDir(), "new.txt")
	if err := Write(p, writeString("x")); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := os.FileMode(0o666) &^ umask(); st.Mode().Perm() != want {
		t.Errorf("new file mode %v, want %v", st.Mode().Perm(), want)
	}
}

// TestWriteFollowsSymlink: a link is followed, its target replaced, and
// the link itself stays a link.
func TestWriteFollowsSymlink(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(sub, "real.txt")
	if err := os.WriteFile(target, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.txt")
	if err := os.Symlink("sub/real.txt", link); err != nil {
		t.Fatal(err)
	}
	link2 := filepath.Join(dir, "link2.txt")
	if err := os.Symlink(link, link2); err != nil {
		t.Fatal(err)
	}
	if err := Write(link2, writeString("new")); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{link, link2} {
		st, err := os.Lstat(l)
		if err != nil || st.Mode()&os.ModeSymlink == 0 {
			t.Errorf("%s is no longer a symbolic link (%v, %v)", l, st.Mode(), err)
		}
	}
	if got := readString(t, target); got != "new" {
		t.Errorf("link target holds %q", got)
	}
	if st, _ := os.Stat(target); st.Mode().Perm() != 0o600 {
		t.Errorf("target mode %v", st.Mode().Perm())
	}
	if entries, _ := os.ReadDir(sub); len(entries) != 1 {
		t.Errorf("temporaries left in the target's directory: %v", entries)
	}

	// A dangling link: writing creates the file it names.
	dangling := filepath.Join(dir, "dangling.txt")
	if err := os.Symlink("sub/created.txt", dangling); err != nil {
		t.Fatal(err)
	}
	if err := Write(dangling, writeString("made")); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, filepath.Join(sub, "created.txt")); got != "made" {
		t.Errorf("created %q", got)
	}
	if st, _ := os.Lstat(dangling); st.Mode()&os.ModeSymlink == 0 {
		t.Error("dangling link replaced")
	}
}

// TestWriteCharDevice: a character device is written in place, never
// replaced by a regular file.
func TestWriteCharDevice(t *testing.T) {
	dev := nullDevice(t)
	if err := Write(dev, writeString("discarded")); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(dev)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("%s is now %v, not a character device", dev, st.Mode())
	}
}

// TestWriteFIFO: a named pipe is written through, and stays a pipe.
func TestWriteFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fifo")
	if err := mkfifo(p); err != nil {
		t.Skip("no named pipes here:", err)
	}
	got := make(chan string, 1)
	go func() {
		f, err := os.Open(p)
		if err != nil {
			got <- err.Error()
			return
		}
		defer f.Close()
		b, _ := io.ReadAll(f)
		got <- string(b)
	}()
	if err := Write(p, writeString("through the pipe")); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s != "through the pipe" {
			t.Errorf("reader got %q", s)
		}
	case <-time.After(20 * time.Second):
		t.Error("nothing was written into the pipe")
	}
	st, err := os.Lstat(p)
	if err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the pipe became %v (%v)", st.Mode(), err)
	}
}

func TestWriteDirectoryRefused(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "d")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Write(sub, writeString("x")); err == nil {
		t.Fatal("wrote over a directory")
	}
	if st, err := os.Stat(sub); err != nil || !st.IsDir() {
		t.Fatalf("directory changed: %v %v", st, err)
	}
}

// deadPID returns the id of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Skip("cannot start a process:", err)
	}
	pid := cmd.Process.Pid
	if processAlive(pid) {
		t.Skip("the process id was reused")
	}
	return pid
}

// TestCleanStale: a write removes the temporaries that killed writers
// left, and keeps those of live processes.
func TestCleanStale(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.npy")
	dead := deadPID(t)
	mk := func(name string, isDir bool, age time.Duration) string {
		q := filepath.Join(dir, name)
		var err error
		if isDir {
			err = os.Mkdir(q, 0o755)
			if err == nil {
				err = os.WriteFile(filepath.Join(q, "inner"), []byte("x"), 0o644)
			}
		} else {
			err = os.WriteFile(q, []byte("partial"), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
		if age > 0 {
			old := time.Now().Add(-age)
			os.Chtimes(q, old, old)
		}
		return q
	}
	deadTmp := mk(fmt.Sprintf(".out.npy.tmp-%d-abc", dead), false, 0)
	deadDir := mk(fmt.Sprintf(".out.npy.tmp-%d-xyz", dead), true, 0)
	liveTmp := mk(fmt.Sprintf(".out.npy.tmp-%d-abc", os.Getpid()), false, 0)
	oldForm := mk(".out.npy.tmp-123456", false, 2*time.Hour)
	newForm := mk(".out.npy.tmp-654321", false, 0)
	other := mk(fmt.Sprintf(".other.npy.tmp-%d-abc", dead), false, 0)
	notOurs := mk(fmt.Sprintf(".out.npy.tmp-%d", dead)+"-", false, 0)
	if err := Write(p, writeString("done")); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{deadTmp, deadDir, oldForm} {
		if _, err := os.Lstat(q); err == nil {
			t.Errorf("stale %s was not removed", filepath.Base(q))
		}
	}
	for _, q := range []string{liveTmp, newForm, other, notOurs} {
		if _, err := os.Lstat(q); err != nil {
			t.Errorf("%s was removed: %v", filepath.Base(q), err)
		}
	}
	if got := readString(t, p); got != "done" {
		t.Errorf("content %q", got)
	}
}

// TestCleanStaleKeepsOnlyCopy: a directory moved aside (.old-) is removed
// only while the path it was moved from exists again.
func TestCleanStaleKeepsOnlyCopy(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "report")
	dead := deadPID(t)
	old := filepath.Join(dir, fmt.Sprintf(".report.old-%d-abc", dead))
	if err := os.Mkdir(old, 0o755); err != nil {
		t.Fatal(err)
	}
	CleanStale(p)
	if _, err := os.Stat(old); err != nil {
		t.Fatal("removed the only copy of the report")
	}
	if err := os.Mkdir(p, 0o755); err != nil {
		t.Fatal(err)
	}
	CleanStale(p)
	if _, err := os.Stat(old); err == nil {
		t.Fatal("the stale copy was kept although the report exists")
	}
}

func TestTempNameRecognised(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.npy")
	for _, name := range []string{TempName(p), OldName(p)} {
		if filepath.Dir(name) != filepath.Dir(p) {
			t.Errorf("%s is not beside %s", name, p)
		}
		base := filepath.Base(name)
		if !strings.HasPrefix(base, ".x.npy.tmp-") && !strings.HasPrefix(base, ".x.npy.old-") {
			t.Errorf("name %s", base)
		}
		if !strings.Contains(base, fmt.Sprintf("-%d-", os.Getpid())) {
			t.Errorf("%s does not carry the process id", base)
		}
	}
}

// TestCheckDistinct: outputs are compared with inputs by device and
// inode, whatever the names.
func TestCheckDistinct(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "logits.npy")
	if err := os.WriteFile(in, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	hard := filepath.Join(dir, "hard.npy")
	if err := os.Link(in, hard); err != nil {
		t.Fatal(err)
	}
	sym := filepath.Join(dir, "sym.npy")
	if err := os.Symlink("logits.npy", sym); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.npy")
	if err := os.WriteFile(other, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	inputs := []Named{{"logits", in}, {"targets", ""}, {"weights", filepath.Join(dir, "missing.npy")}}
	fresh := filepath.Join(dir, "fresh.npy")
	cases := []struct {
		outputs []Named
		bad     string
	}{
		{[]Named{{"grad", in}}, "--logits"},
		{[]Named{{"grad", hard}}, "--logits"},
		{[]Named{{"grad", sym}}, "--logits"},
		{[]Named{{"grad", filepath.Join(dir, ".", "logits.npy")}}, "--logits"},
		{[]Named{{"grad", other}}, ""},
		{[]Named{{"grad", other}, {"lse", other}}, "--grad"},
		{[]Named{{"grad", fresh}, {"lse", fresh}}, "--grad"},
		{[]Named{{"grad", fresh}, {"lse", filepath.Join(dir, "fresh2.npy")}}, ""},
		{[]Named{{"grad", os.DevNull}, {"lse", os.DevNull}}, ""},
		{[]Named{{"grad", ""}, {"lse", ""}}, ""},
	}
	for _, c := range cases {
		err := CheckDistinct(inputs, c.outputs)
		switch {
		case c.bad == "" && err != nil:
			t.Errorf("%v: %v", c.outputs, err)
		case c.bad != "" && err == nil:
			t.Errorf("%v: no error", c.outputs)
		case c.bad != "" && !strings.Contains(err.Error(), c.bad):
			t.Errorf("%v: %v does not name %s", c.outputs, err, c.bad)
		}
	}
}
