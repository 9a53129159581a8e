package main

import (
	"math"

	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The float64 kernels. The exponential, which the portable twin in
// internal/vek (exp64) repeats operation for operation:
//
//	n = round(z·log₂e)          z·log₂e rounded, then to an integer
//	r = (z − n·ln2hi) − n·ln2lo two fused multiply-adds
//	p = c11·r + c10, …, p·r + c0  eleven fused multiply-adds
//	e = p·2ⁿ, 0 where z < lo    lo = ln 2⁻¹⁰²²
//
// Sums have the float32 kernels' shape without the float32 stage: 16
// lanes (element i in lane i mod 16), blocks of 64 elements whose four
// terms per lane are added as (v0 + v1) + (v2 + v3) into float64 lane
// accumulators, and the fixed tree over the lanes at the end.

var exp64Poly = [12]float64{0.99999999999999999611, 0.9999999999999999997, 0.50000000000000224136,
	0.16666666666666683903, 0.041666666666457425822, 0.0083333333333172421768,
	0.0013888888960322004823, 0.00019841269896204482968, 0.000024801477081854494296,
	2.7557234458834413975e-6, 2.7635686502562534472e-7, 2.5112380558500830537e-8}

func (t *tier) declareExp64() {
	for _, c := range []struct {
		name string
		v    float64
	}{
		{"log2e", 1.4426950408889634074}, {"shift", 6755399441055744.0},
		{"nln2hi", -0.693147180369123816490}, {"nln2lo", -1.90821492927058770002e-10},
		{"lo", -708.3964185322641}, {"hi", 709.7827128933839}, {"inf", math.Inf(1)}, {"ninf", math.Inf(-1)},
	} {
		t.f64(c.name, math.Float64bits(c.v))
	}
	for i, c := range exp64Poly {
		t.f64(polyName(i), math.Float64bits(c))
	}
}

func polyName(i int) string { return "q" + string(rune('a'+i)) }

func genVek64(t *tier) {
	t.declareExp64()
	t.tailTable()
	genMaxNaN(t, true)
	genSum64(t)
	genExpSum64(t, false)
	genExpSum64(t, true)
	genExpAffine64(t)
	genExp64(t)
	genMap64(t, "scale64", "func(dst, x []float64, a float64)", "sets dst_i = a·x_i.", []string{"a"},
		func(v, x reg.VecPhysical, args []reg.VecPhysical) { t.VMULPD(args[0], x, v) })
	genMap64(t, "shiftScale64", "func(dst, x []float64, m, s, b float64)", "sets dst_i = ((x_i − m)·s) − b, each operation rounded.",
		[]string{"m", "s", "b"}, func(v, x reg.VecPhysical, args []reg.VecPhysical) {
			t.VSUBPD(args[0], x, v)
			t.VMULPD(args[1], v, v)
			t.VSUBPD(args[2], v, v)
		})
	genAxpy64(t)
}

// ev64 is one vector's registers in the float64 exponential.
type ev64 struct {
	z, n, p, ti reg.VecPhysical
	m           mask
	tail        *mask
}

func (t *tier) cmpGE64(b operand.Op, a reg.VecPhysical, m mask) {
	if t.avx512 {
		t.VCMPPD(operand.U8(0x1d), b, a, m.k)
	} else {
		t.VCMPPD(operand.U8(0x1d), b, a, m.v)
	}
}

// exp64v computes p = exp(z) (0 below lo and on the tail's masked lanes);
// z is destroyed.
func (t *tier) exp64v(v ev64) {
	t.cmpGE64(t.k("lo"), v.z, v.m)
	if t.avx512 {
		t.VMULPD(t.k("log2e"), v.z, v.n)
		t.VRNDSCALEPD(operand.U8(0), v.n, v.n)
	} else {
		t.VMULPD(t.k("log2e"), v.z, v.ti)
		t.VADDPD(t.k("shift"), v.ti, v.ti)
		t.VSUBPD(t.k("shift"), v.ti, v.n)
	}
	t.VFMADD231PD(t.k("nln2hi"), v.n, v.z)
	t.VFMADD231PD(t.k("nln2lo"), v.n, v.z)
	t.VMOVAPD(t.k(polyName(11)), v.p)
	for i := 10; i >= 0; i-- {
		t.VFMADD213PD(t.k(polyName(i)), v.z, v.p)
	}
	if v.tail != nil {
		t.andMask(v.m, *v.tail, v.m)
	}
	if t.avx512 {
		t.VSCALEFPD_Z(v.n, v.p, v.m.k, v.p)
		return
	}
	t.VPSLLQ(operand.U8(52), v.ti, v.ti)
	t.VPADDQ(v.ti, v.p, v.p)
	t.VANDPD(v.m.v, v.p, v.p)
}

func (t *tier) keep64s(r *regs, names ...string) {
	for _, name := range names {
		if r.next >= t.nvec {
			return
		}
		t.keep64(name, r.get())
	}
}

func (t *tier) expRegs64(r *regs) ev64 {
	v := ev64{z: r.get(), n: r.get()}
	if t.avx512 {
		v.p = r.get()
		v.m = mask{k: reg.K1}
	} else {
		v.ti = r.get()
		v.p = v.n // n is dead once r is reduced
		v.m = mask{v: r.get()}
	}
	return v
}

// exp64Consts are the float64 exponential's constants, most used first.
func exp64Consts() []string {
	names := []string{"log2e", "shift", "nln2hi", "nln2lo", "lo"}
	for i := 11; i >= 0; i-- {
		names = append(names, polyName(i))
	}
	return names
}

// The float64 group is 16 elements, 128 bytes: parts of one register each.
func (t *tier) parts64() int               { return 128 / t.vbytes }
func (t *tier) groupOffset64(g, h int) int { return 128*g + t.vbytes*h }

// blockTailMask64 sets m to the lanes of group g, part h, within the cnt
// remaining elements of a partial block.
func (t *tier) blockTailMask64(cnt, c1, c2 reg.GPPhysical, g, h int, m mask) {
	lanes := t.vbytes / 8
	t.clampCount(cnt, c1, c2, 16*g+h*lanes, lanes)
	t.tailMask(c1, c2, 8, m)
}

// hsum64 adds the 16 float64 lane accumulators (one register per part)
// in the fixed tree; the result is in the low lane of the returned X
// register.
func (t *tier) hsum64(acc []reg.VecPhysical, b reg.VecPhysical) reg.Register {
	x := acc[0]
	if t.avx512 {
		t.VADDPD(acc[1], x, x) // l + l+8
		t.VEXTRACTF64X4(operand.U8(1), x, b.AsY())
		t.VADDPD(b.AsY(), x.AsY(), x.AsY()) // l + l+4
	} else {
		t.VADDPD(acc[2], acc[0], acc[0]) // lanes 0–3 + 8–11
		t.VADDPD(acc[3], acc[1], acc[1]) // lanes 4–7 + 12–15
		t.VADDPD(acc[1], acc[0], acc[0]) // l + l+4
	}
	t.VEXTRACTF128(operand.U8(1), x.AsY(), b.AsX())
	t.VADDPD(b.AsX(), x.AsX(), x.AsX()) // l + l+2
	t.VPERMILPD(operand.U8(1), x.AsX(), b.AsX())
	t.VADDSD(b.AsX(), x.AsX(), x.AsX()) // l + l+1
	return x.AsX()
}

// reduceBlocks64 emits the block loop of a float64 reduction: body(masked)
// for each 64-element block (the partial last one masked).
func (t *tier) reduceBlocks64(cnt reg.GPPhysical, ptrs []reg.GPPhysical, body func(masked bool)) {
	t.reduceLoop(cnt, reg.RBX, ptrs, 8, body, func() {})
}

// addTree adds the four group values of one part in the fixed tree into
// the part's accumulator, as they come (one at a time): tA and tB are
// scratch.
type tree4 struct {
	t      *tier
	tA, tB reg.VecPhysical
}

func (q tree4) add(g int, v, acc reg.VecPhysical) {
	t := q.t
	switch g {
	case 0:
		t.VMOVAPD(v, q.tA)
	case 1:
		t.VADDPD(v, q.tA, q.tA) // v0 + v1
	case 2:
		t.VMOVAPD(v, q.tB)
	case 3:
		t.VADDPD(v, q.tB, q.tB)    // v2 + v3
		t.VADDPD(q.tB, q.tA, q.tA) // (v0 + v1) + (v2 + v3)
		t.VADDPD(q.tA, acc, acc)
	}
}

func (t *tier) load64(mem operand.Mem, m *mask, dst reg.VecPhysical) {
	if m != nil {
		t.loadMasked64(mem, *m, dst)
	} else {
		t.VMOVUPD(mem, dst)
	}
}

func (t *tier) store64(src reg.VecPhysical, m *mask, mem operand.Mem) {
	if m != nil {
		t.storeMasked64(src, *m, mem)
	} else {
		t.VMOVUPD(src, mem)
	}
}

// sumSetup64 allocates a float64 reduction's accumulators (zeroed), tree
// scratch and tail mask.
func (t *tier) sumSetup64(r *regs) (acc []reg.VecPhysical, q tree4, tm mask) {
	acc = r.getN(t.parts64())
	for _, a := range acc {
		t.VXORPD(a, a, a)
	}
	q = tree4{t: t, tA: r.get(), tB: r.get()}
	if t.avx512 {
		tm = mask{k: reg.K7}
	} else {
		tm = mask{v: r.get()}
	}
	return
}

func genSum64(t *tier) {
	t.begin("sum64", "func(x []float64) float64", "returns Σ x_i in the reduction shape of the package.")
	x := t.Load(t.Param("x").Base(), reg.RSI).(reg.GPPhysical)
	n := t.Load(t.Param("x").Len(), reg.RCX).(reg.GPPhysical)
	r := &regs{t: t}
	acc, q, tm := t.sumSetup64(r)
	v := r.get()
	t.reduceBlocks64(n, []reg.GPPhysical{x}, func(masked bool) {
		for h := 0; h < t.parts64(); h++ {
			for g := 0; g < 4; g++ {
				var mp *mask
				if masked {
					t.blockTailMask64(n, reg.RDX, reg.RAX, g, h, tm)
					mp = &tm
				}
				t.load64(at(x, t.groupOffset64(g, h)), mp, v)
				q.add(g, v, acc[h])
			}
		}
	})
	s := t.hsum64(acc, v)
	t.Store(s, t.ReturnIndex(0))
	t.end()
}

func genExpSum64(t *tier, store bool) {
	name, sig := "expSum64", "func(x []float64, m, s float64) float64"
	doc := "returns Σ exp((x_i − m)·s), the difference and the product rounded."
	if store {
		name, sig = "expStoreSum64", "func(dst, x []float64, m, s float64) float64"
		doc = "sets dst_i = exp((x_i − m)·s) and returns their sum."
	}
	t.begin(name, sig, doc)
	x := t.Load(t.Param("x").Base(), reg.RSI).(reg.GPPhysical)
	n := t.Load(t.Param("x").Len(), reg.RCX).(reg.GPPhysical)
	var dst reg.GPPhysical = reg.RDI
	if store {
		t.Load(t.Param("dst").Base(), dst)
	}
	r := &regs{t: t}
	mv, sv := r.get(), r.get()
	t.VBROADCASTSD(t.arg("m"), mv)
	t.VBROADCASTSD(t.arg("s"), sv)
	acc, q, tm := t.sumSetup64(r)
	v := t.expRegs64(r)
	t.keep64s(r, exp64Consts()...)
	ptrs := []reg.GPPhysical{x}
	if store {
		ptrs = append(ptrs, dst)
	}
	t.reduceBlocks64(n, ptrs, func(masked bool) {
		for h := 0; h < t.parts64(); h++ {
			for g := 0; g < 4; g++ {
				off := t.groupOffset64(g, h)
				vv := v
				var mp *mask
				if masked {
					t.blockTailMask64(n, reg.RDX, reg.RAX, g, h, tm)
					mp = &tm
					vv.tail = &tm
				}
				t.load64(at(x, off), mp, vv.z)
				t.VSUBPD(mv, vv.z, vv.z)
				t.VMULPD(sv, vv.z, vv.z)
				t.exp64v(vv)
				if store {
					t.store64(vv.p, mp, at(dst, off))
				}
				q.add(g, vv.p, acc[h])
			}
		}
	})
	s := t.hsum64(acc, v.z)
	t.Store(s, t.ReturnIndex(0))
	t.end()
}

func genExpAffine64(t *tier) {
	t.begin("expAffine64", "func(dst, x []float64, m, s, a, b float64)",
		"sets dst_i = a·exp((x_i − m)·s) − b (product and difference fused).")
	dst, x, n := t.dstX()
	r := &regs{t: t}
	mv, sv, av, bv := r.get(), r.get(), r.get(), r.get()
	t.VBROADCASTSD(t.arg("m"), mv)
	t.VBROADCASTSD(t.arg("s"), sv)
	t.VBROADCASTSD(t.arg("a"), av)
	t.VBROADCASTSD(t.arg("b"), bv)
	v := t.expRegs64(r)
	tm := t.tailMaskReg(r)
	t.keep64s(r, exp64Consts()...)
	t.mapLoop(n, reg.RDX, []reg.GPPhysical{dst, x}, 8, 1, tm, func(_, off int, m *mask) {
		t.load64(at(x, off), m, v.z)
		t.VSUBPD(mv, v.z, v.z)
		t.VMULPD(sv, v.z, v.z)
		t.exp64v(v)
		t.VFMSUB213PD(bv, av, v.p)
		t.store64(v.p, m, at(dst, off))
	})
	t.end()
}

func genExp64(t *tier) {
	t.begin("exp64", "func(dst, x []float64)",
		"sets dst_i = exp(x_i): NaN for NaN, +Inf above the largest float64 below 1024·ln2, 0 below ln 2⁻¹⁰²².")
	dst, x, n := t.dstX()
	r := &regs{t: t}
	xv := r.get()
	v := t.expRegs64(r)
	tm := t.tailMaskReg(r)
	var inf, hi reg.VecPhysical
	if t.avx512 {
		inf, hi = r.get(), r.get()
		t.VBROADCASTSD(t.data["inf"], inf)
		t.VBROADCASTSD(t.data["hi"], hi)
	}
	t.keep64s(r, exp64Consts()...)
	t.mapLoop(n, reg.RDX, []reg.GPPhysical{dst, x}, 8, 1, tm, func(_, off int, m *mask) {
		t.load64(at(x, off), m, xv)
		t.VMOVAPD(xv, v.z)
		t.exp64v(v)
		if t.avx512 {
			t.VCMPPD(operand.U8(0x1e), hi, xv, v.m.k)
			t.VMOVAPD(inf, v.m.k, v.p)
			t.VCMPPD(operand.U8(3), xv, xv, v.m.k)
			t.VADDPD(xv, xv, v.m.k, v.p)
		} else {
			t.VCMPPD(operand.U8(0x1e), t.data["hi"], xv, v.m.v)
			t.VMOVUPD(t.data["inf"], v.ti)
			t.VBLENDVPD(v.m.v, v.ti, v.p, v.p)
			t.VCMPPD(operand.U8(3), xv, xv, v.m.v)
			t.VADDPD(xv, xv, xv)
			t.VBLENDVPD(v.m.v, xv, v.p, v.p)
		}
		t.store64(v.p, m, at(dst, off))
	})
	t.end()
}

// genMap64 emits an elementwise float64 kernel over dst and x with
// broadcast scalar arguments.
func genMap64(t *tier, name, sig, doc string, args []string, op func(v, x reg.VecPhysical, args []reg.VecPhysical)) {
	t.begin(name, sig, doc)
	dst, x, n := t.dstX()
	r := &regs{t: t}
	av := r.getN(len(args))
	for i, a := range args {
		t.VBROADCASTSD(t.arg(a), av[i])
	}
	vs := r.getN(4)
	tm := t.tailMaskReg(r)
	t.mapLoop(n, reg.RDX, []reg.GPPhysical{dst, x}, 8, 4, tm, func(j, off int, m *mask) {
		t.load64(at(x, off), m, vs[j])
		op(vs[j], vs[j], av)
		t.store64(vs[j], m, at(dst, off))
	})
	t.end()
}

func genAxpy64(t *tier) {
	t.begin("axpy64", "func(dst, x []float64, a float64)", "sets dst_i = a·x_i + dst_i, fused.")
	dst, x, n := t.dstX()
	r := &regs{t: t}
	a := r.get()
	t.VBROADCASTSD(t.arg("a"), a)
	vs := r.getN(4)
	xs := r.getN(4)
	tm := t.tailMaskReg(r)
	t.mapLoop(n, reg.RDX, []reg.GPPhysical{dst, x}, 8, 4, tm, func(j, off int, m *mask) {
		t.load64(at(dst, off), m, vs[j])
		t.load64(at(x, off), m, xs[j])
		t.VFMADD231PD(xs[j], a, vs[j])
		t.store64(vs[j], m, at(dst, off))
	})
	t.end()
}
