package sample

// The sampler's own kernels: a float64 sum of float32 values in a fixed
// order, the masses above eight thresholds in one pass, and an
// order-preserving compaction of the elements whose key lies in a range.
// On amd64 with AVX-512 they run in assembly (kernels_amd64.s); everywhere
// else the portable twins below run. Both give the same bits: the sums
// are accumulated in sixteen float64 lanes (element i in lane i mod 16, in
// increasing i) and the lanes combined in the same fixed tree, so a token
// drawn on one machine is the token drawn on any other with the same
// exponentials (see the package comment).

// kernelPad is the slack the compaction needs after the last element it
// writes: the assembly stores whole vectors of 16 values.
const kernelPad = 16

// sum64 returns Σ float64(x_i) in the fixed lane order.
func sum64(x []float32) float64 {
	if hasAVX512 && len(x) >= 16 {
		return sum64AVX512(x)
	}
	return sum64Go(x)
}

// massAbove sets out[j] = Σ_{key_i ≥ thr[j]} float64(e_i) for j = 0..7,
// in the fixed lane order. len(e) ≥ len(key).
func massAbove(key, e []float32, thr *[8]float32, out *[8]float64) {
	e = e[:len(key)]
	if hasAVX512 && len(key) >= 16 {
		massAboveAVX512(key, e, thr, out)
		return
	}
	massAboveGo(key, e, thr, out)
}

// compress writes, in order, every element i with lo ≤ key_i < hi:
// its id (ids_i, or base+i when ids is nil) to oIds, key_i to oKey and
// a_i to oA, and returns how many it wrote. The outputs must hold the
// count plus kernelPad elements (len(key)+kernelPad is always enough); a
// and the outputs may not overlap the inputs, but oKey may be oA's twin
// of a different slice only.
func compress(key, a []float32, ids []int32, base int32, lo, hi float32, oIds []int32, oKey, oA []float32) int {
	n := len(key)
	a = a[:n]
	if ids != nil {
		ids = ids[:n]
	}
	if hasAVX512 && n >= 16 {
		return compressAVX512(key, a, ids, base, lo, hi, oIds, oKey, oA)
	}
	return compressGo(key, a, ids, base, lo, hi, oIds, oKey, oA)
}

// reduce16 combines the sixteen lane sums as the assembly does: lanes
// k and k+8, then k and k+4, k and k+2, and the last two.
func reduce16(a *[16]float64) float64 {
	var t [8]float64
	for k := range t {
		t[k] = a[k] + a[k+8]
	}
	u0, u1, u2, u3 := t[0]+t[4], t[1]+t[5], t[2]+t[6], t[3]+t[7]
	return (u0 + u2) + (u1 + u3)
}

func sum64Go(x []float32) float64 {
	var acc [16]float64
	for len(x) >= 16 {
		for l := range 16 {
			acc[l] += float64(x[l])
		}
		x = x[16:]
	}
	for l, v := range x {
		acc[l] += float64(v)
	}
	return reduce16(&acc)
}

func massAboveGo(key, e []float32, thr *[8]float32, out *[8]float64) {
	var acc [8][16]float64
	e = e[:len(key)]
	for i, k := range key {
		l := i & 15
		v := float64(e[i])
		for j := range 8 {
			if k >= thr[j] {
				acc[j][l] += v
			}
		}
	}
	for j := range 8 {
		out[j] = reduce16(&acc[j])
	}
}

func compressGo(key, a []float32, ids []int32, base int32, lo, hi float32, oIds []int32, oKey, oA []float32) int {
	c := 0
	a = a[:len(key)]
	for i, k := range key {
		if k >= lo && k < hi {
			id := base + int32(i)
			if ids != nil {
				id = ids[i]
			}
			oIds[c], oKey[c], oA[c] = id, k, a[i]
			c++
		}
	}
	return c
}

// split scans the entries (key, e, ids; ids nil: base+i): it writes the
// ids of those with lo ≤ key < hi to out and returns their count, the
// sum of every e, the sum of the e of the entries with key ≥ hi (in the
// fixed lane order) and how many those are. out must hold len(key) +
// kernelPad ids.
func split(key, e []float32, ids []int32, base int32, lo, hi float32, out []int32) (int, float64, float64, int) {
	n := len(key)
	e = e[:n]
	if ids != nil {
		ids = ids[:n]
	}
	out = out[:n+kernelPad]
	if hasAVX512 && n >= 16 {
		return splitAVX512(key, e, ids, base, lo, hi, out)
	}
	return splitGo(key, e, ids, base, lo, hi, out)
}

func splitGo(key, e []float32, ids []int32, base int32, lo, hi float32, out []int32) (int, float64, float64, int) {
	var tot, abv [16]float64
	c, na := 0, 0
	for i, k := range key {
		x := e[i]
		tot[i&15] += float64(x)
		switch {
		case k >= hi:
			abv[i&15] += float64(x)
			na++
		case k >= lo:
			id := base + int32(i)
			if ids != nil {
				id = ids[i]
			}
			out[c] = id
			c++
		}
	}
	return c, reduce16(&tot), reduce16(&abv), na
}

// sumAbove returns the sum of e_i over key_i ≥ thr, in the fixed lane
// order, and how many there are.
func sumAbove(key, e []float32, thr float32) (float64, int) {
	e = e[:len(key)]
	if hasAVX512 && len(key) >= 16 {
		return sumAboveAVX512(key, e, thr)
	}
	return sumAboveGo(key, e, thr)
}

func sumAboveGo(key, e []float32, thr float32) (float64, int) {
	var acc [16]float64
	n := 0
	for i, k := range key {
		if k >= thr {
			acc[i&15] += float64(e[i])
			n++
		}
	}
	return reduce16(&acc), n
}
