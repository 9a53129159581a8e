package sample

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"testing"
	"unsafe"

	"github.com/xentlab/xent/softmax"
)

func threadCPU() float64 {
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 3 /* CLOCK_THREAD_CPUTIME_ID */, uintptr(unsafe.Pointer(&ts)), 0)
	return float64(ts.Nano()) / 1e9
}

func cpuPerOp(n int, f func()) float64 {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	f()
	best := 1e9
	for range 2 {
		t0 := threadCPU()
		for range n {
			f()
		}
		best = min(best, (threadCPU()-t0)/float64(n))
	}
	return best
}

func TestDevCPU(t *testing.T) {
	if os.Getenv("DEVCPU") == "" {
		t.Skip()
	}
	V := 262144
	for _, kind := range []string{"peaked", "flat"} {
		x := benchLogits(kind, V, 1)
		in := Input{Logits: x, History: benchHistory(V)}
		full, _ := New([]Stage{Penalties(64, 1.1, 0, 0), TopK(40), TopP(0.95), MinP(0.05), Temp(0.8)}, 1)
		tp, _ := New([]Stage{TopP(0.95)}, 1)
		dst := make([]float32, V)
		a, b, c := 1e9, 1e9, 1e9
		for range 15 {
			a = min(a, cpuPerOp(20, func() { full.Sample(in) }))
			b = min(b, cpuPerOp(10, func() { tp.Sample(in) }))
			c = min(c, cpuPerOp(10, func() { softmax.Softmax(dst, x, V) }))
		}
		fmt.Printf("%s: chain %.1f µs, top_p %.1f µs, softmax %.1f µs, ratio %.2f\n", kind, a*1e6, b*1e6, c*1e6, b/c)
	}
}
