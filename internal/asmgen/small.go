package main

import (
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// Two small kernel families outside the softmax core: the counting
// kernels of package metrics and the Adam update of package lab.

// genCount emits countGT32 and countGT64: #{i : t < x_i}, by comparing a
// vector (predicate LT_OS), moving the lane mask to a general register and
// counting its bits. Exact for any length (a 64-bit count).
func genCount(t *tier) {
	for _, wide := range []bool{false, true} {
		name, sig, elem := "countGT32", "func(x []float32, t float32) int", 4
		if wide {
			name, sig, elem = "countGT64", "func(x []float64, t float64) int", 8
		}
		t.begin(name, sig, "returns the number of elements of x greater than t (x holds no NaN).")
		x := t.Load(t.Param("x").Base(), reg.RSI).(reg.GPPhysical)
		n := t.Load(t.Param("x").Len(), reg.RCX).(reg.GPPhysical)
		r := &regs{t: t}
		tv := r.get()
		if wide {
			t.VBROADCASTSD(t.arg("t"), tv)
		} else {
			t.VBROADCASTSS(t.arg("t"), tv)
		}
		cv := r.getN(4)
		total := reg.R9
		t.XORQ(total, total)
		var km []reg.OpmaskPhysical
		if t.avx512 {
			km = []reg.OpmaskPhysical{reg.K1, reg.K2, reg.K3, reg.K4}
		}
		var tm mask
		if t.avx512 {
			tm = mask{k: reg.K5}
		} else {
			tm = mask{v: r.get()}
		}
		cmp := func(j int, src operand.Op, m *mask) {
			if t.avx512 {
				k := km[j]
				switch {
				case m != nil && wide:
					t.VCMPPD(operand.U8(1), src, tv, m.k, k)
				case m != nil:
					t.VCMPPS(operand.U8(1), src, tv, m.k, k)
				case wide:
					t.VCMPPD(operand.U8(1), src, tv, k)
				default:
					t.VCMPPS(operand.U8(1), src, tv, k)
				}
				t.KMOVW(k, reg.EAX)
			} else {
				if wide {
					t.VCMPPD(operand.U8(1), src, tv, cv[j])
				} else {
					t.VCMPPS(operand.U8(1), src, tv, cv[j])
				}
				if m != nil {
					t.VANDPS(m.v, cv[j], cv[j])
				}
				if wide {
					t.VMOVMSKPD(cv[j], reg.EAX)
				} else {
					t.VMOVMSKPS(cv[j], reg.EAX)
				}
			}
			t.POPCNTL(reg.EAX, reg.EAX)
			t.ADDQ(reg.RAX, total)
		}
		t.mapLoop(n, reg.RDX, []reg.GPPhysical{x}, elem, 4, tm, func(j, off int, m *mask) {
			if m != nil {
				// The masked lanes read nothing and count nothing.
				v := cv[j]
				if wide {
					t.loadMasked64(at(x, off), *m, v)
				} else {
					t.loadMasked(at(x, off), *m, v)
				}
				cmp(j, v, m)
				return
			}
			cmp(j, at(x, off), nil)
		})
		t.Store(total, t.ReturnIndex(0))
		t.end()
	}
}

// genAdam emits the Adam update: for each element, with k = {b1, c1, b2,
// c2, step, eps, keep} (float32 each):
//
//	m = b1·m + c1·g
//	v = b2·v + c2·(g·g)
//	p = keep·p − (step·m)/(√v + eps)
//
// every product and sum rounded on its own (no fused multiply-add), as
// the portable twin computes it.
func genAdam(t *tier) {
	t.begin("adam", "func(p, grad, m, v *float32, n int, k *[7]float32)",
		"applies one Adam update to n elements; k holds adamConsts (see adamGeneric).")
	p := t.Load(t.Param("p"), reg.RDI).(reg.GPPhysical)
	g := t.Load(t.Param("grad"), reg.RSI).(reg.GPPhysical)
	m := t.Load(t.Param("m"), reg.R8).(reg.GPPhysical)
	v := t.Load(t.Param("v"), reg.R9).(reg.GPPhysical)
	n := t.Load(t.Param("n"), reg.RCX).(reg.GPPhysical)
	k := t.Load(t.Param("k"), reg.R10).(reg.GPPhysical)
	r := &regs{t: t}
	kc := r.getN(7)
	for i, c := range kc {
		t.VBROADCASTSS(at(k, 4*i), c)
	}
	b1, c1, b2, c2, step, eps, keep := kc[0], kc[1], kc[2], kc[3], kc[4], kc[5], kc[6]
	vs := r.getN(7)
	tm := t.tailMaskReg(r)
	t.mapLoop(n, reg.RDX, []reg.GPPhysical{p, g, m, v}, 4, 1, tm, func(_, off int, mk *mask) {
		gv, mv, vv, a, b, pv := vs[0], vs[1], vs[2], vs[3], vs[4], vs[5]
		t.load32(at(g, off), mk, gv)
		t.load32(at(m, off), mk, mv)
		t.load32(at(v, off), mk, vv)
		t.load32(at(p, off), mk, pv)
		t.VMULPS(mv, b1, mv)
		t.VMULPS(gv, c1, a)
		t.VADDPS(a, mv, mv) // b1·m + c1·g
		t.store32(mv, mk, at(m, off))
		t.VMULPS(gv, gv, a)
		t.VMULPS(a, c2, a)
		t.VMULPS(vv, b2, vv)
		t.VADDPS(a, vv, vv) // b2·v + c2·(g·g)
		t.store32(vv, mk, at(v, off))
		t.VSQRTPS(vv, b)
		t.VADDPS(eps, b, b)
		t.VMULPS(mv, step, a)
		t.VDIVPS(b, a, a)
		t.VMULPS(pv, keep, pv)
		t.VSUBPS(a, pv, pv)
		t.store32(pv, mk, at(p, off))
	})
	t.end()
}
