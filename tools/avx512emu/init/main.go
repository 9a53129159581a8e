//go:build linux

// Command init is the /init of the initramfs booted by tools/avx512emu/run.sh
// inside the Bochs emulator.
//
// It mounts the pseudo file systems, brings up the loopback interface,
// reports the AVX-512 support detected by golang.org/x/sys/cpu, runs /test
// with the arguments listed (NUL-separated) in /args and the environment
// listed in /env, prints "AVX512EMU-EXIT <code>" and powers the machine off.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"golang.org/x/sys/cpu"
	"golang.org/x/sys/unix"
)

const (
	testPath = "/test"
	argsPath = "/args"
	envPath  = "/env"
	workDir  = "/work"
)

func main() {
	code := run()
	fmt.Printf("\nAVX512EMU-EXIT %d\n", code)
	// Wait until the serial port has sent everything (tcdrain), so that the
	// marker is not cut off by the power-off.
	_ = unix.IoctlSetInt(1, unix.TCSBRK, 1)
	unix.Sync()
	_ = unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	// Reboot only returns on failure; init must never exit (that panics the kernel).
	for {
		_ = unix.Pause()
	}
}

func run() int {
	mounts := []struct{ src, dst, fstype string }{
		{"proc", "/proc", "proc"},
		{"sysfs", "/sys", "sysfs"},
		{"devtmpfs", "/dev", "devtmpfs"},
		{"tmpfs", "/tmp", "tmpfs"},
	}
	for _, m := range mounts {
		if err := os.MkdirAll(m.dst, 0o755); err != nil {
			warnf("mkdir %s: %v", m.dst, err)
			continue
		}
		if err := unix.Mount(m.src, m.dst, m.fstype, 0, ""); err != nil && !errors.Is(err, unix.EBUSY) {
			warnf("mount %s: %v", m.dst, err)
		}
	}
	if err := loopbackUp(); err != nil {
		warnf("loopback: %v", err)
	}

	fmt.Printf("AVX512EMU-CPU avx512f=%t avx512bw=%t avx512dq=%t avx512vl=%t avx512cd=%t avx2=%t fma=%t other-avx512=%s\n",
		cpu.X86.HasAVX512F, cpu.X86.HasAVX512BW, cpu.X86.HasAVX512DQ, cpu.X86.HasAVX512VL,
		cpu.X86.HasAVX512CD, cpu.X86.HasAVX2, cpu.X86.HasFMA, otherAVX512())

	args, err := readList(argsPath)
	if err != nil {
		warnf("%v", err)
		return 125
	}
	env, err := readList(envPath)
	if err != nil {
		warnf("%v", err)
		return 125
	}

	cmd := exec.Command(testPath, args...)
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stdout
	cmd.Env = append([]string{"PATH=/", "HOME=/tmp", "TMPDIR=/tmp", "TERM=dumb"}, env...)
	cmd.Dir = "/tmp"
	if st, err := os.Stat(workDir); err == nil && st.IsDir() {
		cmd.Dir = workDir
	}
	err = cmd.Run()
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			fmt.Printf("avx512emu: test killed by signal %v\n", ws.Signal())
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	warnf("running %s: %v", testPath, err)
	return 126
}

// otherAVX512 lists the AVX-512 extensions beyond F, CD, BW, DQ and VL that
// golang.org/x/sys/cpu reports.
func otherAVX512() string {
	exts := []struct {
		name string
		has  bool
	}{
		{"ifma", cpu.X86.HasAVX512IFMA},
		{"vbmi", cpu.X86.HasAVX512VBMI},
		{"vbmi2", cpu.X86.HasAVX512VBMI2},
		{"vnni", cpu.X86.HasAVX512VNNI},
		{"bitalg", cpu.X86.HasAVX512BITALG},
		{"vpopcntdq", cpu.X86.HasAVX512VPOPCNTDQ},
		{"gfni", cpu.X86.HasAVX512GFNI},
		{"vaes", cpu.X86.HasAVX512VAES},
		{"vpclmulqdq", cpu.X86.HasAVX512VPCLMULQDQ},
		{"bf16", cpu.X86.HasAVX512BF16},
	}
	var names []string
	for _, e := range exts {
		if e.has {
			names = append(names, e.name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ",")
}

// readList returns the NUL-separated entries of the file at path (none if
// the file does not exist).
func readList(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var list []string
	for _, b := range bytes.Split(data, []byte{0}) {
		if len(b) > 0 {
			list = append(list, string(b))
		}
	}
	return list, nil
}

// loopbackUp sets IFF_UP on "lo", which also gives it 127.0.0.1 and ::1.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

func warnf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "avx512emu: "+format+"\n", args...)
}
