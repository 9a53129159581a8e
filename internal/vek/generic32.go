package vek

import (
	"math"
	"unsafe"
)

// The portable twins of the float32 kernels. They are not an
// approximation of the assembly: every element goes through the same
// float32 operations in the same order (fused multiply-adds through
// fma32, products kept unfused by explicit conversions), and every sum
// follows the reduction shape of the package (lanes32), so they return the
// same bits as the AVX2 and AVX-512 kernels on every input.

// The float32 constants of the exponentials (internal/asmgen/exp.go
// holds the same bit patterns).
var (
	f32log2e  = math.Float32frombits(0x3fb8aa3b)
	f32shift  = math.Float32frombits(0x4b400000)
	f32nln2hi = math.Float32frombits(0xbf317200)
	f32nln2lo = math.Float32frombits(0xb5bfbe8e)
	f32lo     = math.Float32frombits(0xc2aeac4f)
	f32hi     = math.Float32frombits(0x42b17217)
	f32p      = [6]float32{1, math.Float32frombits(0x3f7ffffb), math.Float32frombits(0x3efffee3),
		math.Float32frombits(0x3e2aad40), math.Float32frombits(0x3d2b9d0d), math.Float32frombits(0x3c07cfce)}
	f32c = [7]float32{1, 1, 0.5, math.Float32frombits(0x3e2aa9f4), math.Float32frombits(0x3d2aaa4f),
		math.Float32frombits(0x3c093eec), math.Float32frombits(0x3ab6c1b0)}
)

// reduce32 returns n = round(z·log₂e) and r = z − n·ln2 (lo, the low part
// of a two-part argument, folded in when given), as the kernels compute
// them.
func reduce32(z, lo float32, twoPart bool) (n, r float32) {
	t := float32(z*f32log2e) + f32shift
	n = t - f32shift
	r = fma32(n, f32nln2hi, z)
	if twoPart {
		lo = fma32(n, f32nln2lo, lo)
		return n, r + lo
	}
	return n, fma32(n, f32nln2lo, r)
}

// scale2n returns p·2ⁿ for a result in the normal range.
func scale2n(p, n float32) float32 {
	return math.Float32frombits(math.Float32bits(p) + uint32(int32(n))<<23)
}

// poly5 is the softmax kernels' polynomial.
func poly5(r float32) float32 {
	p := f32p[5]
	for i := 4; i >= 0; i-- {
		p = fma32(p, r, f32p[i])
	}
	return p
}

// expShift32 is the softmax exponential of z = x − c, given exactly.
func expShift32(z float32) float32 {
	if !(z >= f32lo) {
		return 0
	}
	n, r := reduce32(z, 0, false)
	return scale2n(poly5(r), n)
}

// twoSum32 returns a + b rounded and its rounding error.
func twoSum32(a, b float32) (s, e float32) {
	s = a + b
	av := s - b
	bv := s - av
	return s, (a - av) + (b - bv)
}

// expExact32 is exp(s·(x − m)) with x − m carried as an exact pair;
// negm = −m.
func expExact32(x, negm, s float32) float32 {
	z, lo := twoSum32(x, negm)
	if s != 1 {
		z, lo = z*s, lo*s
	}
	if !(z >= f32lo) {
		return 0
	}
	n, r := reduce32(z, lo, true)
	return scale2n(poly5(r), n)
}

// exp32 is the general exponential Exp32.
func exp32(x float32) float32 {
	if x != x {
		return x + x
	}
	if x > f32hi {
		return float32(math.Inf(1))
	}
	if !(x >= f32lo) {
		return 0
	}
	n, r := reduce32(x, 0, false)
	p := f32c[6]
	for i := 5; i >= 0; i-- {
		p = fma32(p, r, f32c[i])
	}
	return scale2n(p, n)
}

// lanes32 is the reduction shape of every float32 sum: 16 lanes, element
// i in lane i mod 16; blocks of 64 elements whose four terms per lane are
// added as (v0 + v1) + (v2 + v3) into a float32 lane accumulator; the
// float32 lanes are added into float64 lanes after every fourth whole
// block and at the end; the float64 lanes are then added pairwise, lane l
// with l+8, l+4, l+2, l+1.
type lanes32 struct {
	f      [16]float32
	d      [16]float64
	blocks int
}

// add adds a block (zeros past the end of the data).
func (a *lanes32) add(v *[64]float32, whole bool) {
	for l := 0; l < 16; l++ {
		a.f[l] += (v[l] + v[16+l]) + (v[32+l] + v[48+l])
	}
	if whole {
		a.blocks++
		if a.blocks%4 == 0 {
			a.flush()
		}
	}
}

func (a *lanes32) flush() {
	for l := range a.f {
		a.d[l] += float64(a.f[l])
		a.f[l] = 0
	}
}

func (a *lanes32) result() float64 {
	a.flush()
	d := a.d
	for l := 0; l < 8; l++ {
		d[l] += d[l+8]
	}
	for l := 0; l < 4; l++ {
		d[l] += d[l+4]
	}
	for l := 0; l < 2; l++ {
		d[l] += d[l+2]
	}
	return d[0] + d[1]
}

// reduce32Go sums f(i) over i < n in the reduction shape.
func reduce32Go(n int, f func(i int) float32) float64 {
	var a lanes32
	var v [64]float32
	for b := 0; b < n; b += 64 {
		for j := range v {
			v[j] = 0
			if b+j < n {
				v[j] = f(b + j)
			}
		}
		a.add(&v, b+64 <= n)
	}
	return a.result()
}

func maxNaN32Go(x []float32) (float32, bool) {
	m := float32(math.Inf(-1))
	nan := false
	for _, v := range x {
		if v > m {
			m = v
		} else if v != v {
			nan = true
		}
	}
	return m, nan
}

func sum32Go(x []float32) float64 {
	return reduce32Go(len(x), func(i int) float32 { return x[i] })
}

func expShiftSum32Go(x []float32, negc float32) float64 {
	return reduce32Go(len(x), func(i int) float32 { return expShift32(x[i] + negc) })
}

func expShiftStore32Go(dst, x []float32, negc float32) float64 {
	dst = dst[:len(x)]
	return reduce32Go(len(x), func(i int) float32 {
		e := expShift32(x[i] + negc)
		dst[i] = e
		return e
	})
}

func expSum32Go(x []float32, negm, s float32) float64 {
	return reduce32Go(len(x), func(i int) float32 { return expExact32(x[i], negm, s) })
}

func expStoreSum32Go(dst, x []float32, negm, s float32) float64 {
	dst = dst[:len(x)]
	return reduce32Go(len(x), func(i int) float32 {
		e := expExact32(x[i], negm, s)
		dst[i] = e
		return e
	})
}

func expAffine32Go(dst, x []float32, negm, s, a, b float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = fma32(a, expExact32(v, negm, s), -b)
	}
}

func exp32Go(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = exp32(v)
	}
}

func scale32Go(dst, x []float32, a float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = a * v
	}
}

func shiftScale32Go(dst, x []float32, m, s, b float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = float32((v-m)*s) - b // the conversion keeps the product unfused
	}
}

// sigmoidSum32Go is sigmoidSum32's twin: t = x + b, e = the softmax
// exponential of −|t|, then 1/(1 + e) or e/(1 + e) by t's sign bit, in
// float32, summed in the reduction shape.
func sigmoidSum32Go(dst, x []float32, b float32) float64 {
	dst = dst[:len(x)]
	return reduce32Go(len(x), func(i int) float32 {
		t := x[i] + b
		bits := math.Float32bits(t)
		e := expShift32(math.Float32frombits(bits | 1<<31))
		num := float32(1)
		if bits>>31 != 0 {
			num = e
		}
		w := num / (1 + e)
		if t != t {
			w = t + t
		}
		dst[i] = w
		return w
	})
}

func axpy32Go(dst, x []float32, a float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = fma32(a, v, dst[i])
	}
}

// dots432Go is dots4's twin: the same 16 lanes, fused products (zeros past
// the end of the row), the same pairwise tree.
func dots432Go(d0, d1, d2, d3, q0, q1, q2, q3, k *float32, n, d int, scale float32) {
	dst, q := [4]*float32{d0, d1, d2, d3}, [4]*float32{q0, q1, q2, q3}
	ks := unsafe.Slice(k, n*d)
	for j := range n {
		kj := ks[j*d : (j+1)*d]
		for r := range 4 {
			q := unsafe.Slice(q[r], d)
			var acc [16]float32
			for c := 0; c < d; c += 16 {
				for l := range 16 {
					var a, b float32
					if c+l < d {
						a, b = q[c+l], kj[c+l]
					}
					acc[l] = fma32(a, b, acc[l])
				}
			}
			for w := 8; w >= 1; w /= 2 {
				for l := range w {
					acc[l] += acc[l+w]
				}
			}
			unsafe.Slice(dst[r], n)[j] = acc[0] * scale
		}
	}
}

// axpy232Go is axpy2's twin.
func axpy232Go(o0, o1, p0, p1, v *float32, n, dv int) {
	os := [2][]float32{unsafe.Slice(o0, dv), unsafe.Slice(o1, dv)}
	ps := [2][]float32{unsafe.Slice(p0, n), unsafe.Slice(p1, n)}
	vs := unsafe.Slice(v, n*dv)
	for j := range n {
		vj := vs[j*dv : (j+1)*dv]
		for r := range 2 {
			if a := ps[r][j]; a != 0 {
				axpy32Go(os[r], vj, a)
			}
		}
	}
}

func step32Go(n int, e, x *float32, negc float32, out, src *float32, a, b float32, mode int, next *float32, _ int) (sum float64, m float32, nan bool) {
	if x != nil {
		xs := unsafe.Slice(x, n)
		if e != nil {
			sum = expShiftStore32Go(unsafe.Slice(e, n), xs, negc)
		} else {
			sum = expShiftSum32Go(xs, negc)
		}
	}
	if out != nil {
		o, s := unsafe.Slice(out, n), unsafe.Slice(src, n)
		switch mode & 3 {
		case stepShift:
			for i, v := range s {
				o[i] = (v - a) - b
			}
		case stepMulSub:
			shiftScale32Go(o, s, 0, a, b)
		default:
			scale32Go(o, s, a)
		}
	}
	m = float32(math.Inf(-1))
	if next != nil {
		m, nan = maxNaN32Go(unsafe.Slice(next, n))
	}
	return sum, m, nan
}
