package vek

import "testing"

// In-cache rows: pass 1 of the two-pass algorithm against the max and
// exp-sum passes it replaces, and pass 2 against ExpStoreSum32 + Scale32.
func BenchmarkExtExpSum32(b *testing.B) {
	x := benchInput(4096)
	b.SetBytes(int64(4 * len(x)))
	for b.Loop() {
		ExtExpSum32(x)
	}
}

func BenchmarkMaxThenExpSum32(b *testing.B) {
	x := benchInput(4096)
	b.SetBytes(int64(4 * len(x)))
	for b.Loop() {
		m, _ := MaxNaN32(x)
		ExpSum32(x, m, 1)
	}
}

func BenchmarkExtExpScale32(b *testing.B) {
	x := benchInput(4096)
	dst := make([]float32, len(x))
	m, e, _ := ExtExpSum32(x)
	b.SetBytes(int64(4 * len(x)))
	for b.Loop() {
		ExtExpScale32(dst, x, float32(e), float32(1/m))
	}
}
