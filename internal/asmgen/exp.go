package main

import (
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The float32 exponential of the softmax kernels, in the form the
// portable twin in internal/vek (expShift32, expExact32) repeats operation
// for operation:
//
//	n = round(z·log₂e)            z·log₂e rounded, then to an integer (ties to even)
//	r = (z − n·ln2hi) − n·ln2lo   two fused multiply-adds (Cody–Waite)
//	p = ((((p5·r + p4)·r + p3)·r + p2)·r + p1)·r + 1   five fused multiply-adds
//	e = p·2ⁿ                      exact (the exponent field is added)
//	e = 0 where z < lo            lo = ln 2⁻¹²⁶: results below the normal range are 0
//
// AVX-512 rounds with VRNDSCALEPS and scales with VSCALEFPS; AVX2 rounds
// with VROUNDPS and adds n, converted to an integer, to the exponent bits;
// the twin adds and subtracts 1.5·2²³. All give the same bits: the
// rounding is the same round-to-nearest-even of the same product wherever
// the result is kept (there |z·log₂e| < 2²², where the shifter is exact),
// and p·2ⁿ is exact there.

// Float32 bit patterns of the constants.
const (
	bLog2e  = 0x3fb8aa3b // log₂e
	bShift  = 0x4b400000 // 1.5·2²³
	bNln2hi = 0xbf317200 // −ln2, high part: 0x3f317200 has few bits, so n·ln2hi is exact
	bNln2lo = 0xb5bfbe8e // −(ln2 − ln2hi)
	bLo     = 0xc2aeac4f // the smallest z with exp(z) ≥ 2⁻¹²⁶, −87.33654
	bHi     = 0x42b17217 // the largest float32 below 128·ln2
	bOne    = 0x3f800000
	bInf    = 0x7f800000
	bNinf   = 0xff800000
	// The degree-5 polynomial of the softmax kernels: a minimax fit of
	// exp on [−ln2/2, ln2/2] with p0 = 1 (the coefficients of the
	// two-pass paper's p5).
	bP1 = 0x3f7ffffb
	bP2 = 0x3efffee3
	bP3 = 0x3e2aad40
	bP4 = 0x3d2b9d0d
	bP5 = 0x3c07cfce
	// The degree-6 polynomial of the general exponential Exp32, c0 = c1 = 1.
	bC2 = 0x3f000000
	bC3 = 0x3e2aa9f4
	bC4 = 0x3d2aaa4f
	bC5 = 0x3c093eec
	bC6 = 0x3ab6c1b0
)

// declareExp32 declares the constants of the float32 exponentials.
func (t *tier) declareExp32() {
	for _, c := range []struct {
		name string
		bits uint32
	}{
		{"log2e", bLog2e}, {"nln2hi", bNln2hi}, {"nln2lo", bNln2lo},
		{"lo", bLo}, {"hi", bHi}, {"one", bOne}, {"inf", bInf}, {"ninf", bNinf},
		{"p1", bP1}, {"p2", bP2}, {"p3", bP3}, {"p4", bP4}, {"p5", bP5},
		{"c2", bC2}, {"c3", bC3}, {"c4", bC4}, {"c5", bC5}, {"c6", bC6},
	} {
		t.f32(c.name, c.bits)
	}
}

// ev is one vector's registers in an exponential: z (the argument, then
// the reduced argument r), lo (the low part of a two-part argument, or
// nil), n (the rounded multiple of ln2), p (the result), ti (AVX2: z·log₂e,
// then n as an integer), m (the lanes whose result is kept) and keep
// (a value the caller needs after the exponential; the exponential does
// not touch it).
type ev struct {
	z, lo, n, p, ti reg.VecPhysical
	m               mask
	tail            *mask           // lanes past the end of the data: their result is 0
	keep            reg.VecPhysical // a caller's register beside the exponential (or nil)
}

// each emits f for every vector in turn: the operations of several
// vectors are interleaved, one step at a time, for instruction-level
// parallelism.
func each(vs []ev, f func(v ev)) {
	for _, v := range vs {
		f(v)
	}
}

// expReduce computes the keep-mask from z and n = round(z·log₂e), then
// z ← r = z − n·ln2 (with the low part lo folded in when present).
func (t *tier) expReduce(vs []ev) {
	each(vs, func(v ev) { t.cmpGE(t.k("lo"), v.z, v.m) })
	if t.avx512 {
		each(vs, func(v ev) { t.VMULPS(t.k("log2e"), v.z, v.n) })
		each(vs, func(v ev) { t.VRNDSCALEPS(operand.U8(0), v.n, v.n) })
	} else {
		// VROUNDPS gives n three cycles sooner than adding and
		// subtracting the shifter (one operation on the chain instead of
		// two), and the integer n for the scaling comes off the chain.
		each(vs, func(v ev) { t.VMULPS(t.k("log2e"), v.z, v.ti) })
		each(vs, func(v ev) { t.VROUNDPS(operand.U8(0), v.ti, v.n) })
		each(vs, func(v ev) { t.VCVTPS2DQ(v.n, v.ti) })
	}
	each(vs, func(v ev) { t.VFMADD231PS(t.k("nln2hi"), v.n, v.z) })
	if vs[0].lo != nil {
		each(vs, func(v ev) { t.VFMADD231PS(t.k("nln2lo"), v.n, v.lo) })
		each(vs, func(v ev) { t.VADDPS(v.lo, v.z, v.z) })
	} else {
		each(vs, func(v ev) { t.VFMADD231PS(t.k("nln2lo"), v.n, v.z) })
	}
}

// movConst sets r to a constant (a register copy or a load).
func (t *tier) movConst(name string, r reg.VecPhysical) {
	t.VMOVAPS(t.k(name), r)
}

// expPoly5 evaluates p = P5(r) into p.
func (t *tier) expPoly5(vs []ev) {
	each(vs, func(v ev) { t.movConst("p5", v.p) })
	for _, c := range []string{"p4", "p3", "p2", "p1", "one"} {
		each(vs, func(v ev) { t.VFMADD213PS(t.k(c), v.z, v.p) })
	}
}

// expPoly6 evaluates the general exponential's degree-6 polynomial.
func (t *tier) expPoly6(vs []ev) {
	each(vs, func(v ev) { t.movConst("c6", v.p) })
	for _, c := range []string{"c5", "c4", "c3", "c2", "one", "one"} {
		each(vs, func(v ev) { t.VFMADD213PS(t.k(c), v.z, v.p) })
	}
}

// expScale sets p ← p·2ⁿ on the kept lanes and 0 elsewhere (also on the
// tail lanes when a tail mask is given).
func (t *tier) expScale(vs []ev) {
	each(vs, func(v ev) {
		if v.tail != nil {
			t.andMask(v.m, *v.tail, v.m)
		}
	})
	if t.avx512 {
		each(vs, func(v ev) { t.VSCALEFPS_Z(v.n, v.p, v.m.k, v.p) })
		return
	}
	each(vs, func(v ev) { t.VPSLLD(operand.U8(23), v.ti, v.ti) })
	each(vs, func(v ev) { t.VPADDD(v.ti, v.p, v.p) })
	each(vs, func(v ev) { t.VANDPS(v.m.v, v.p, v.p) })
}

// exp5 is the whole softmax exponential of z (and lo) into p.
func (t *tier) exp5(vs []ev) {
	t.expReduce(vs)
	t.expPoly5(vs)
	t.expScale(vs)
}

// twoSum splits x + negm exactly: z = the rounded sum, lo = its error
// (Knuth's branch-free two-sum). x is destroyed (it holds a scratch value
// after), tmp is scratch.
func (t *tier) twoSum(negm operand.Op, x, z, lo, tmp reg.VecPhysical) {
	t.VADDPS(negm, x, z)     // z = x + b
	t.VSUBPS(negm, z, lo)    // av = z − b
	t.VSUBPS(lo, z, tmp)     // bv = z − av
	t.VSUBPS(lo, x, lo)      // ar = x − av
	t.VSUBPS(tmp, negm, tmp) // br = b − bv  (negm − tmp: Go order is src, src2 → dst = src2 − src)
	t.VADDPS(tmp, lo, lo)    // lo = ar + br
}
