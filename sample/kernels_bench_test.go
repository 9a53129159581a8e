package sample

import "testing"

func BenchmarkKernels(b *testing.B) {
	const n = 262144
	key, e := kernelInputs(n, 1)
	oi := make([]int32, n+kernelPad)
	ok, oa := make([]float32, n+kernelPad), make([]float32, n+kernelPad)
	b.Run("sum64", func(b *testing.B) {
		for b.Loop() {
			sum64(e)
		}
	})
	b.Run("massAbove", func(b *testing.B) {
		thr := [8]float32{-3, -2, -1, 0, 1, 2, 3, 4}
		var out [8]float64
		for b.Loop() {
			massAbove(key, e, &thr, &out)
		}
	})
	b.Run("compress10pct", func(b *testing.B) {
		for b.Loop() {
			compress(key, e, nil, 0, 6, 1e30, oi, ok, oa)
		}
	})
	b.Run("compress50pct", func(b *testing.B) {
		for b.Loop() {
			compress(key, e, nil, 0, 0, 1e30, oi, ok, oa)
		}
	})
}
