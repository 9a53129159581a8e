//go:build !purego

package gemm

import (
	"testing"

	"golang.org/x/sys/cpu"
)

func TestDispatchCPU(t *testing.T) {
	if want := cpu.X86.HasAVX2 && cpu.X86.HasFMA; hasAVX2 != want {
		t.Fatalf("hasAVX2 = %v, want %v", hasAVX2, want)
	}
	if want := cpu.X86.HasAVX512F && cpu.X86.HasAVX2 && cpu.X86.HasFMA; hasAVX512 != want {
		t.Fatalf("hasAVX512 = %v, want %v", hasAVX512, want)
	}
}
