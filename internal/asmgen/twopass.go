package main

import (
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The two-pass softmax kernels of catalog A14 (internal/vek/twopass.go
// states the algorithm and its twin, twopass_generic.go, repeats it).
//
// Every element becomes p·2ⁿ: x is clamped below at −TwoPassLimit, t =
// x·log₂e + shift (fused), n = t − shift, r = x − n·ln2 (two fused
// parts), p = P5(r). Pass 1 keeps 16 lanes (element i in lane i mod 16);
// for each 64-element block (four terms per lane) it takes the lane's
// largest n, E_b, scales the terms to it, u = p·2^(n − E_b) (0 below
// 2⁻¹²⁶ of it), adds them as (u0 + u1) + (u2 + u3), and merges the block
// into the lane's running state (M float64, E float32):
//
//	E' = max(E, E_b),  M = M·2^(E − E') + float64(M_b·2^(E_b − E'))  (fused)
//
// The stored form also writes each u and the block's 16 references E_b.

const (
	bTPNln2hi = 0xbf317218
	bTPNln2lo = 0x3102e308
	bTPNlimit = 0xca000000 // −2²¹
	bTPM127   = 0xc2fe0000 // −127
)

func (t *tier) declareTwoPass() {
	for _, c := range []struct {
		name string
		bits uint32
	}{
		{"log2e", bLog2e}, {"shift", bShift}, {"nln2hi", bTPNln2hi}, {"nln2lo", bTPNln2lo},
		{"one", bOne}, {"p1", bP1}, {"p2", bP2}, {"p3", bP3}, {"p4", bP4}, {"p5", bP5},
		{"nlimit", bTPNlimit}, {"m127", bTPM127}, {"i127", 127}, {"ninf", bNinf},
	} {
		t.f32(c.name, c.bits)
	}
}

func genTwoPass(t *tier) {
	t.declareTwoPass()
	t.tailTable()
	genExtExpSum32(t, false)
	genExtExpSum32(t, true)
	genExtExpScale32(t)
	genExtRescale32(t)
}

// tpExp turns x (destroyed) into p and n.
func (t *tier) tpExp(x, n, p reg.VecPhysical) {
	t.VMAXPS(x, t.k("nlimit"), x) // NaN stays (the second operand is returned)
	t.movConst("shift", n)
	t.VFMADD231PS(t.k("log2e"), x, n)
	t.VSUBPS(t.k("shift"), n, n)
	t.VFMADD231PS(t.k("nln2hi"), n, x)
	t.VFMADD231PS(t.k("nln2lo"), n, x)
	t.movConst("p5", p)
	for _, c := range []string{"p4", "p3", "p2", "p1", "one"} {
		t.VFMADD213PS(t.k(c), x, p)
	}
}

// tpPow2 turns integer-valued d ≤ 0 into 2^d, or 0 for d < −126.
func (t *tier) tpPow2(d reg.VecPhysical) {
	t.VMAXPS(t.k("m127"), d, d)
	t.VCVTPS2DQ(d, d)
	t.VPADDD(t.k("i127"), d, d)
	t.VPSLLD(operand.U8(23), d, d)
}

// The pass-1 state in the frame: E (16 float32 lanes, 64 bytes) then M
// (16 float64 lanes, 128 bytes).
func genExtExpSum32(t *tier, store bool) {
	name, sig := "extExpSum32", "func(x []float32, m *[16]float64, e *[16]float32)"
	doc := "runs pass 1 of the two-pass softmax over x and stores the 16 lane states: Σ over lane l = m[l]·2^e[l]."
	if store {
		name, sig = "extExpSumStore32", "func(dst, x []float32, m *[16]float64, e *[16]float32, refs *float32)"
		doc = "is extExpSum32 that also writes each element's p·2^(n − E_b) into dst and each block's 16 references E_b at refs."
	}
	t.begin(name, sig, doc)
	x := t.Load(t.Param("x").Base(), reg.RSI).(reg.GPPhysical)
	n := t.Load(t.Param("x").Len(), reg.RCX).(reg.GPPhysical)
	var dst, refs reg.GPPhysical = reg.RDI, reg.R8
	if store {
		t.Load(t.Param("dst").Base(), dst)
		t.Load(t.Param("refs"), refs)
	}
	st := t.AllocLocal(192)
	r := &regs{t: t}
	P := t.parts()
	// Per group of a part: p and n.
	ps, ns := r.getN(4), r.getN(4)
	xv, eb, mb, w := r.get(), r.get(), r.get(), r.get()
	var tm mask
	if t.avx512 {
		tm = mask{k: reg.K1}
	} else {
		tm = mask{v: r.get()}
	}
	for _, c := range []string{"nlimit", "shift", "log2e", "nln2hi", "nln2lo", "p5", "p4", "p3", "p2", "p1", "one", "m127", "i127"} {
		if r.next >= t.nvec {
			break
		}
		t.keep32(c, r.get())
	}
	// E = −Inf, M = 0.
	t.VBROADCASTSS(t.data["ninf"], xv)
	t.VXORPS(w, w, w)
	for i := 0; i < 64; i += t.vbytes {
		t.VMOVUPS(xv, st.Offset(i))
	}
	for i := 0; i < 128; i += t.vbytes {
		t.VMOVUPD(w, st.Offset(64+i))
	}
	ptrs := []reg.GPPhysical{x}
	if store {
		ptrs = append(ptrs, dst)
	}
	body := func(masked bool) {
		for h := 0; h < P; h++ {
			for g := 0; g < 4; g++ {
				off := at(x, t.groupOffset(g, h))
				if masked {
					// Lanes past the end read as −Inf: a masked entry.
					t.blockTailMask(n, reg.RDX, reg.RAX, g, h, 4, tm)
					t.VBROADCASTSS(t.data["ninf"], xv)
					if t.avx512 {
						t.VMOVUPS(off, tm.k, xv)
					} else {
						t.VMASKMOVPS(off, tm.v, w)
						t.VBLENDVPS(tm.v, w, xv, xv)
					}
				} else {
					t.VMOVUPS(off, xv)
				}
				t.tpExp(xv, ns[g], ps[g])
			}
			// E_b, then u_g = p_g·2^(n_g − E_b), the tree, the references.
			t.VMAXPS(ns[1], ns[0], eb)
			t.VMAXPS(ns[3], ns[2], w)
			t.VMAXPS(w, eb, eb)
			for g := 0; g < 4; g++ {
				t.VSUBPS(eb, ns[g], ns[g])
				t.tpPow2(ns[g])
				t.VMULPS(ns[g], ps[g], ps[g])
				if store {
					off := at(dst, t.groupOffset(g, h))
					if masked {
						t.blockTailMask(n, reg.RDX, reg.RAX, g, h, 4, tm)
						t.storeMasked(ps[g], tm, off)
					} else {
						t.VMOVUPS(ps[g], off)
					}
				}
			}
			t.VADDPS(ps[1], ps[0], mb)
			t.VADDPS(ps[3], ps[2], w)
			t.VADDPS(w, mb, mb)
			if store {
				t.VMOVUPS(eb, at(refs, t.vbytes*h))
			}
			// Merge into the lane state of this part.
			eOff := st.Offset(t.vbytes * h)
			t.VMOVUPS(eOff, w)   // E
			t.VMAXPS(eb, w, xv)  // E'
			t.VSUBPS(xv, w, w)   // E − E'
			t.VSUBPS(xv, eb, eb) // E_b − E'
			t.VMOVUPS(xv, eOff)  // store E'
			t.tpPow2(w)          // w_old
			t.tpPow2(eb)         // w_new
			t.VMULPS(eb, mb, mb) // M_b·w_new
			// Widen to float64 and merge, half a register at a time.
			for q := 0; q < 2; q++ {
				mOff := st.Offset(64 + 2*t.vbytes*h + t.vbytes*q)
				if q == 0 {
					t.VCVTPS2PD(t.half(mb), ps[0])
					t.VCVTPS2PD(t.half(w), ps[1])
				} else {
					if t.avx512 {
						t.VEXTRACTF64X4(operand.U8(1), mb, ps[2].AsY())
						t.VEXTRACTF64X4(operand.U8(1), w, ps[3].AsY())
					} else {
						t.VEXTRACTF128(operand.U8(1), mb, ps[2].AsX())
						t.VEXTRACTF128(operand.U8(1), w, ps[3].AsX())
					}
					t.VCVTPS2PD(t.half(ps[2]), ps[0])
					t.VCVTPS2PD(t.half(ps[3]), ps[1])
				}
				t.VMOVUPD(mOff, ps[2])
				t.VFMADD213PD(ps[0], ps[1], ps[2]) // M = M·w_old + M_b·w_new
				t.VMOVUPD(ps[2], mOff)
			}
		}
		if store {
			t.ADDQ(imm(64), refs)
		}
	}
	t.reduceLoop(n, reg.RBX, ptrs, 4, body, func() {})
	mp := t.Load(t.Param("m"), reg.R9).(reg.GPPhysical)
	ep := t.Load(t.Param("e"), reg.R10).(reg.GPPhysical)
	for i := 0; i < 64; i += t.vbytes {
		t.VMOVUPS(st.Offset(i), xv)
		t.VMOVUPS(xv, at(ep, i))
	}
	for i := 0; i < 128; i += t.vbytes {
		t.VMOVUPD(st.Offset(64+i), xv)
		t.VMOVUPD(xv, at(mp, i))
	}
	t.end()
}

func genExtExpScale32(t *tier) {
	t.begin("extExpScale32", "func(dst, x []float32, e, c float32)",
		"is pass 2 of the two-pass softmax: dst_i = c·(p_i·2^(n_i − e)), 0 below 2⁻¹²⁶ of the power.")
	dst, x, n := t.dstX()
	r := &regs{t: t}
	ev, cv := r.get(), r.get()
	t.VBROADCASTSS(t.arg("e"), ev)
	t.VBROADCASTSS(t.arg("c"), cv)
	xs, ns, ps := r.getN(2), r.getN(2), r.getN(2)
	tm := t.tailMaskReg(r)
	for _, c := range []string{"nlimit", "shift", "log2e", "nln2hi", "nln2lo", "p5", "p4", "p3", "p2", "p1", "one", "m127", "i127"} {
		if r.next >= t.nvec {
			break
		}
		t.keep32(c, r.get())
	}
	t.mapLoop(n, reg.RDX, []reg.GPPhysical{dst, x}, 4, 2, tm, func(j, off int, m *mask) {
		t.load32(at(x, off), m, xs[j])
		t.tpExp(xs[j], ns[j], ps[j])
		t.VSUBPS(ev, ns[j], ns[j])
		t.tpPow2(ns[j])
		t.VMULPS(ns[j], ps[j], ps[j])
		t.VMULPS(cv, ps[j], ps[j])
		t.store32(ps[j], m, at(dst, off))
	})
	t.end()
}

func genExtRescale32(t *tier) {
	t.begin("extRescale32", "func(dst []float32, refs *float32, e, c float32)",
		"is pass 2 of the stored form: dst_i ·= (2^(r − e)·c), r the reference of i's block and lane.")
	d := t.Load(t.Param("dst").Base(), reg.RDI).(reg.GPPhysical)
	n := t.Load(t.Param("dst").Len(), reg.RCX).(reg.GPPhysical)
	refs := t.Load(t.Param("refs"), reg.R8).(reg.GPPhysical)
	r := &regs{t: t}
	ev, cv := r.get(), r.get()
	t.VBROADCASTSS(t.arg("e"), ev)
	t.VBROADCASTSS(t.arg("c"), cv)
	f := r.get()
	v := r.get()
	var tm mask
	if t.avx512 {
		tm = mask{k: reg.K1}
	} else {
		tm = mask{v: r.get()}
	}
	t.keep32("m127", r.get())
	t.keep32("i127", r.get())
	P := t.parts()
	t.reduceLoop(n, reg.RBX, []reg.GPPhysical{d}, 4, func(masked bool) {
		for h := 0; h < P; h++ {
			t.VMOVUPS(at(refs, t.vbytes*h), f)
			t.VSUBPS(ev, f, f)
			t.tpPow2(f)
			t.VMULPS(cv, f, f)
			for g := 0; g < 4; g++ {
				off := at(d, t.groupOffset(g, h))
				if masked {
					t.blockTailMask(n, reg.RDX, reg.RAX, g, h, 4, tm)
					t.loadMasked(off, tm, v)
					t.VMULPS(f, v, v)
					t.storeMasked(v, tm, off)
				} else {
					t.VMULPS(off, f, v)
					t.VMOVUPS(v, off)
				}
			}
		}
		t.ADDQ(imm(64), refs)
	}, func() {})
	t.end()
}
