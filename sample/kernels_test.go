package sample

import (
	"math"
	"math/rand/v2"
	"testing"
)

// kernelInputs returns keys with ties, −Inf entries and a spread of
// magnitudes, and non-negative masses, of length n.
func kernelInputs(n int, seed uint64) (key, e []float32) {
	r := rand.New(rand.NewPCG(seed, 7))
	key = make([]float32, n)
	e = make([]float32, n)
	for i := range key {
		switch r.IntN(8) {
		case 0:
			key[i] = float32(math.Inf(-1))
		case 1:
			key[i] = float32(r.IntN(4)) // ties
		default:
			key[i] = float32(r.NormFloat64() * 5)
		}
		e[i] = float32(math.Exp(float64(key[i]) - 20))
		if r.IntN(16) == 0 {
			e[i] = float32(r.Float64() * 1e30)
		}
	}
	return key, e
}

func naiveSum(x []float32) float64 {
	s := 0.0
	for _, v := range x {
		s += float64(v)
	}
	return s
}

// TestKernelsMatchPortable checks every kernel against its portable twin
// bit for bit, and the sums against a plain float64 loop.
func TestKernelsMatchPortable(t *testing.T) {
	if !hasAVX512 {
		t.Log("no AVX-512 kernels on this machine; checking the portable code against plain loops only")
	}
	lens := []int{0, 1, 2, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 255, 256, 257, 1000, 4099}
	for _, n := range lens {
		key, e := kernelInputs(n, uint64(n))
		got, want := sum64(e), sum64Go(e)
		if math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("sum64 n=%d: %v, portable %v", n, got, want)
		}
		if ref := naiveSum(e); math.Abs(got-ref) > 1e-12*math.Abs(ref) {
			t.Errorf("sum64 n=%d: %v, plain loop %v", n, got, ref)
		}
		thr := [8]float32{float32(math.Inf(-1)), -3, -1, 0, 0.5, 1, 3, float32(math.Inf(1))}
		var a, b [8]float64
		massAbove(key, e, &thr, &a)
		massAboveGo(key, e, &thr, &b)
		for j := range 8 {
			if math.Float64bits(a[j]) != math.Float64bits(b[j]) {
				t.Errorf("massAbove n=%d j=%d: %v, portable %v", n, j, a[j], b[j])
			}
			ref := 0.0
			for i, k := range key {
				if k >= thr[j] {
					ref += float64(e[i])
				}
			}
			if math.Abs(a[j]-ref) > 1e-12*math.Abs(ref) {
				t.Errorf("massAbove n=%d j=%d: %v, plain loop %v", n, j, a[j], ref)
			}
		}
		ids := make([]int32, n)
		for i := range ids {
			ids[i] = int32(3*i + 1)
		}
		for _, r := range [][2]float32{{-1, 1}, {0, 0}, {0, 1}, {float32(math.Inf(-1)), float32(math.Inf(1))}, {-math.MaxFloat32, float32(math.Inf(1))}, {2, 1}} {
			for _, id := range [][]int32{nil, ids} {
				o1 := [3][]float32{make([]float32, n+kernelPad), make([]float32, n+kernelPad)}
				i1 := make([]int32, n+kernelPad)
				o2 := [3][]float32{make([]float32, n+kernelPad), make([]float32, n+kernelPad)}
				i2 := make([]int32, n+kernelPad)
				c1 := compress(key, e, id, 5, r[0], r[1], i1, o1[0], o1[1])
				c2 := compressGo(key, e, id, 5, r[0], r[1], i2, o2[0], o2[1])
				// The reference, written out.
				var wi []int32
				var wk, wa []float32
				for i, k := range key {
					if k >= r[0] && k < r[1] {
						x := int32(5 + i)
						if id != nil {
							x = id[i]
						}
						wi, wk, wa = append(wi, x), append(wk, k), append(wa, e[i])
					}
				}
				if c1 != len(wi) || c2 != len(wi) {
					t.Fatalf("compress n=%d range %v: counts %d (kernel), %d (portable), want %d", n, r, c1, c2, len(wi))
				}
				for i := range wi {
					if i1[i] != wi[i] || i2[i] != wi[i] || o1[0][i] != wk[i] || o2[0][i] != wk[i] ||
						math.Float32bits(o1[1][i]) != math.Float32bits(wa[i]) || math.Float32bits(o2[1][i]) != math.Float32bits(wa[i]) {
						t.Fatalf("compress n=%d range %v: element %d differs", n, r, i)
					}
				}
			}
		}
		for _, th := range []float32{float32(math.Inf(-1)), -1, 0, 2, float32(math.Inf(1))} {
			s1, c1 := sumAbove(key, e, th)
			s2, c2 := sumAboveGo(key, e, th)
			if math.Float64bits(s1) != math.Float64bits(s2) || c1 != c2 {
				t.Errorf("sumAbove n=%d thr=%v: (%v, %d), portable (%v, %d)", n, th, s1, c1, s2, c2)
			}
			ref, rc := 0.0, 0
			for i, k := range key {
				if k >= th {
					ref += float64(e[i])
					rc++
				}
			}
			if c1 != rc || math.Abs(s1-ref) > 1e-12*ref {
				t.Errorf("sumAbove n=%d thr=%v: (%v, %d), plain loop (%v, %d)", n, th, s1, c1, ref, rc)
			}
		}
		for _, r := range [][2]float32{{-1, 1}, {0, 0}, {0, 3}, {float32(math.Inf(-1)), 2}, {-math.MaxFloat32, float32(math.Inf(1))}, {2, 1}} {
			for _, id := range [][]int32{nil, ids} {
				o1, o2 := make([]int32, n+kernelPad), make([]int32, n+kernelPad)
				n1, t1, ab1, c1 := split(key, e, id, 9, r[0], r[1], o1)
				n2, t2, ab2, c2 := splitGo(key, e, id, 9, r[0], r[1], o2)
				if n1 != n2 || c1 != c2 || math.Float64bits(t1) != math.Float64bits(t2) || math.Float64bits(ab1) != math.Float64bits(ab2) {
					t.Fatalf("split n=%d range %v: (%d %v %v), portable (%d %v %v)", n, r, n1, t1, ab1, n2, t2, ab2)
				}
				// The reference, written out.
				w, tot, abv, nab := 0, 0.0, 0.0, 0
				for i, k := range key {
					tot += float64(e[i])
					x := int32(9 + i)
					if id != nil {
						x = id[i]
					}
					if k >= r[1] {
						abv += float64(e[i])
						nab++
					} else if k >= r[0] {
						if o1[w] != x {
							t.Fatalf("split n=%d range %v: entry %d is %d, want %d", n, r, w, o1[w], x)
						}
						w++
					}
				}
				if w != n1 || nab != c1 || math.Abs(t1-tot) > 1e-12*tot || math.Abs(ab1-abv) > 1e-12*abv {
					t.Fatalf("split n=%d range %v: count or sums differ from the plain loop", n, r)
				}
			}
		}
	}
}
