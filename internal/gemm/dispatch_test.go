package gemm

import "testing"

// TestDispatch checks that the exported functions use the AVX-512 tier
// exactly when it is compiled in and the CPU (as golang.org/x/sys/cpu
// reports it, GODEBUG included) has AVX512F, AVX2 and FMA, else the AVX2
// tier exactly when the CPU has AVX2 and FMA.
func TestDispatch(t *testing.T) {
	want := tierGo
	switch {
	case hasAVX512:
		want = tierAVX512
	case hasAVX2:
		want = tierAVX2
	}
	if best != want {
		t.Fatalf("best tier = %s, want %s", best.name, want.name)
	}
	t.Logf("tier: %s", best.name)
}
