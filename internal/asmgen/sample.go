package main

import (
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The sampler's kernels (package sample): a fixed-order float64 sum of
// float32 values, the masses above eight thresholds in one pass, the
// mass and count above one threshold, and order-preserving compactions
// (VCOMPRESSPS) of the elements whose key lies in a range. AVX-512 only:
// the compactions have no AVX2 counterpart, and machines without AVX-512
// run the portable twins (sample/kernels.go), which give the same bits.
//
// Sums keep sixteen float64 lanes (element i in lane i mod 16, added in
// increasing i) and combine them in the package's fixed tree.

func genSample(t *tier) {
	iota := t.global("iota")
	for i := 0; i < 16; i++ {
		t.AddDatum(4*i, operand.U32(uint32(i)))
	}
	t.data["iota"] = iota
	genSampleSum64(t)
	genSampleMassAbove(t)
	genSampleCompress(t)
	genSampleSplit(t)
	genSampleSumAbove(t)
}

// sampleTail sets K7 to the low cnt bits (0 < cnt < 16). Clobbers AX.
func (t *tier) sampleTail(cnt reg.GPPhysical) {
	t.MOVL(operand.U32(1), reg.EAX)
	t.SHLXL(cnt.As32(), reg.EAX, reg.EAX)
	t.DECL(reg.EAX)
	t.KMOVW(reg.EAX, reg.K7)
}

// widenAdd adds the 16 float32 lanes of v, widened, into the float64
// lane pair (lo, hi) within the lanes of k (its high half shifted into
// k2). w1, w2 are scratch.
func (t *tier) widenAdd(v, lo, hi, w1, w2 reg.VecPhysical, k, k2 reg.OpmaskPhysical) {
	t.VCVTPS2PD(v.AsY(), w1)
	t.VEXTRACTF64X4(operand.U8(1), v, w2.AsY())
	t.VCVTPS2PD(w2.AsY(), w2)
	t.KSHIFTRW(operand.U8(8), k, k2)
	t.VADDPD(w1, lo, k, lo)
	t.VADDPD(w2, hi, k2, hi)
}

func genSampleSum64(t *tier) {
	t.begin("sum64", "func(x []float32) float64", "returns Σ float64(x_i) in the fixed lane order. len(x) ≥ 16.")
	x := t.Load(t.Param("x").Base(), reg.RSI).(reg.GPPhysical)
	n := t.Load(t.Param("x").Len(), reg.RCX).(reg.GPPhysical)
	lo, hi, v, w1, w2 := reg.Z2, reg.Z3, reg.Z6, reg.Z4, reg.Z5
	t.VPXORQ(lo, lo, lo)
	t.VPXORQ(hi, hi, hi)
	t.KXNORW(reg.K3, reg.K3, reg.K3)
	loop, tail, done := t.label("loop"), t.label("tail"), t.label("done")
	t.Label(loop)
	t.CMPQ(n, imm(16))
	t.JLT(operand.LabelRef(tail))
	t.VMOVUPS(at(x, 0), v)
	t.widenAdd(v, lo, hi, w1, w2, reg.K3, reg.K4)
	t.ADDQ(imm(64), x)
	t.SUBQ(imm(16), n)
	t.JMP(operand.LabelRef(loop))
	t.Label(tail)
	t.TESTQ(n, n)
	t.JZ(operand.LabelRef(done))
	t.sampleTail(n)
	t.VMOVUPS_Z(at(x, 0), reg.K7, v)
	t.widenAdd(v, lo, hi, w1, w2, reg.K7, reg.K6)
	t.Label(done)
	s := t.hsum64([]reg.VecPhysical{lo, hi}, reg.Z1)
	t.Store(s, t.ReturnIndex(0))
	t.end()
}

func genSampleMassAbove(t *tier) {
	t.begin("massAbove", "func(key, e []float32, thr *[8]float32, out *[8]float64)",
		"sets out[j] = Σ_{key_i ≥ thr[j]} float64(e_i) in the fixed lane order. len(key) ≥ 16, len(e) ≥ len(key).")
	key := t.Load(t.Param("key").Base(), reg.RSI).(reg.GPPhysical)
	n := t.Load(t.Param("key").Len(), reg.RCX).(reg.GPPhysical)
	e := t.Load(t.Param("e").Base(), reg.RDI).(reg.GPPhysical)
	thr := t.Load(t.Param("thr"), reg.R8).(reg.GPPhysical)
	out := t.Load(t.Param("out"), reg.R9).(reg.GPPhysical)
	th := zregs[0:8]
	acc := zregs[8:24]
	kv, elo, ehi, ev := reg.Z24, reg.Z25, reg.Z26, reg.Z27
	for j := 0; j < 8; j++ {
		t.VBROADCASTSS(at(thr, 4*j), th[j])
	}
	for _, a := range acc {
		t.VPXORQ(a, a, a)
	}
	t.KXNORW(reg.K3, reg.K3, reg.K3)
	steps := func(km reg.OpmaskPhysical) {
		for j := 0; j < 8; j++ {
			t.VCMPPS(operand.U8(0x1d), th[j], kv, km, reg.K1) // key ≥ thr
			t.KSHIFTRW(operand.U8(8), reg.K1, reg.K2)
			t.VADDPD(elo, acc[2*j], reg.K1, acc[2*j])
			t.VADDPD(ehi, acc[2*j+1], reg.K2, acc[2*j+1])
		}
	}
	loop, tail, done := t.label("loop"), t.label("tail"), t.label("done")
	t.Label(loop)
	t.CMPQ(n, imm(16))
	t.JLT(operand.LabelRef(tail))
	t.VMOVUPS(at(key, 0), kv)
	t.VCVTPS2PD(at(e, 0), elo)
	t.VCVTPS2PD(at(e, 32), ehi)
	steps(reg.K3)
	t.ADDQ(imm(64), key)
	t.ADDQ(imm(64), e)
	t.SUBQ(imm(16), n)
	t.JMP(operand.LabelRef(loop))
	t.Label(tail)
	t.TESTQ(n, n)
	t.JZ(operand.LabelRef(done))
	t.sampleTail(n)
	t.VMOVUPS_Z(at(key, 0), reg.K7, kv)
	t.VMOVUPS_Z(at(e, 0), reg.K7, ev)
	t.VCVTPS2PD(ev.AsY(), elo)
	t.VEXTRACTF64X4(operand.U8(1), ev, reg.Y28)
	t.VCVTPS2PD(reg.Y28, ehi)
	steps(reg.K7)
	t.Label(done)
	for j := 0; j < 8; j++ {
		// The tree needs its inputs in low registers (VEX forms).
		t.VMOVAPD(acc[2*j], reg.Z2)
		t.VMOVAPD(acc[2*j+1], reg.Z3)
		s := t.hsum64([]reg.VecPhysical{reg.Z2, reg.Z3}, reg.Z1)
		t.VMOVSD(s, at(out, 8*j))
	}
	t.end()
}

// sampleArgs loads the shared arguments of compress and split: key, the
// payload, ids (nil: base + i), and lo, hi, base broadcast into Z0, Z1
// and Z2 (Z2 = base + lane), with Z3 = 16 in every lane.
func (t *tier) sampleArgs(payload string) (key, pay, ids reg.GPPhysical, n reg.GPPhysical) {
	key = t.Load(t.Param("key").Base(), reg.RSI).(reg.GPPhysical)
	n = t.Load(t.Param("key").Len(), reg.RCX).(reg.GPPhysical)
	pay = t.Load(t.Param(payload).Base(), reg.RDI).(reg.GPPhysical)
	ids = t.Load(t.Param("ids").Base(), reg.R8).(reg.GPPhysical)
	t.VBROADCASTSS(t.arg("lo"), reg.Z0)
	t.VBROADCASTSS(t.arg("hi"), reg.Z1)
	t.MOVL(t.arg("base"), reg.EAX)
	t.VPBROADCASTD(reg.EAX, reg.Z2)
	t.VPADDD(t.data["iota"], reg.Z2, reg.Z2)
	t.MOVL(operand.U32(16), reg.EAX)
	t.VPBROADCASTD(reg.EAX, reg.Z3)
	t.KXNORW(reg.K3, reg.K3, reg.K3)
	return
}

func genSampleCompress(t *tier) {
	t.begin("compress", "func(key, a []float32, ids []int32, base int32, lo, hi float32, oIds []int32, oKey, oA []float32) int",
		"writes, in order, each element with lo ≤ key_i < hi: its id (ids_i, or base+i when ids is nil), key_i and a_i; returns how many. len(key) ≥ 16; the outputs hold the count plus 16.")
	key, a, ids, n := t.sampleArgs("a")
	oIds := t.Load(t.Param("oIds").Base(), reg.R9).(reg.GPPhysical)
	oKey := t.Load(t.Param("oKey").Base(), reg.R10).(reg.GPPhysical)
	oA := t.Load(t.Param("oA").Base(), reg.R11).(reg.GPPhysical)
	cnt, i, next := reg.R12, reg.RBX, reg.RDX
	t.XORQ(cnt, cnt)
	t.XORQ(i, i)
	idx := func(base reg.GPPhysical) operand.Mem { return operand.Mem{Base: base, Index: i, Scale: 4} }
	out := func(base reg.GPPhysical) operand.Mem { return operand.Mem{Base: base, Index: cnt, Scale: 4} }
	sel := func(km reg.OpmaskPhysical) {
		t.VCMPPS(operand.U8(0x1d), reg.Z0, reg.Z4, km, reg.K1)     // key ≥ lo
		t.VCMPPS(operand.U8(0x11), reg.Z1, reg.Z4, reg.K1, reg.K1) // key < hi
		t.KMOVW(reg.K1, reg.EAX)
	}
	store := func(idv reg.VecPhysical) {
		t.POPCNTL(reg.EAX, reg.EAX)
		t.VCOMPRESSPS(reg.Z4, reg.K1, reg.Z5)
		t.VMOVUPS(reg.Z5, out(oKey))
		t.VCOMPRESSPS(reg.Z6, reg.K1, reg.Z7)
		t.VMOVUPS(reg.Z7, out(oA))
		t.VPCOMPRESSD(idv, reg.K1, reg.Z8)
		t.VMOVDQU32(reg.Z8, out(oIds))
		t.ADDQ(reg.RAX, cnt)
	}
	done := t.label("done")
	sparseLoop := t.label("sparse")
	t.TESTQ(ids, ids)
	t.JNZ(operand.LabelRef(sparseLoop))
	for _, sparse := range []bool{false, true} {
		loop, tail := t.label("dense"), t.label("tail")
		if sparse {
			loop = sparseLoop
		}
		t.Label(loop)
		t.LEAQ(operand.Mem{Base: i, Disp: 16}, next)
		t.CMPQ(next, n)
		t.JGT(operand.LabelRef(tail))
		t.VMOVUPS(idx(key), reg.Z4)
		sel(reg.K3)
		nostore := t.label("nostore")
		t.TESTL(reg.EAX, reg.EAX)
		t.JZ(operand.LabelRef(nostore))
		t.VMOVUPS(idx(a), reg.Z6)
		if sparse {
			t.VMOVDQU32(idx(ids), reg.Z9)
			store(reg.Z9)
		} else {
			store(reg.Z2)
		}
		t.Label(nostore)
		if !sparse {
			t.VPADDD(reg.Z3, reg.Z2, reg.Z2)
		}
		t.MOVQ(next, i)
		t.JMP(operand.LabelRef(loop))
		t.Label(tail)
		t.CMPQ(i, n)
		t.JGE(operand.LabelRef(done))
		t.SUBQ(i, n)
		t.sampleTail(n)
		t.VMOVUPS_Z(idx(key), reg.K7, reg.Z4)
		sel(reg.K7)
		t.TESTL(reg.EAX, reg.EAX)
		t.JZ(operand.LabelRef(done))
		t.VMOVUPS_Z(idx(a), reg.K7, reg.Z6)
		if sparse {
			t.VMOVDQU32_Z(idx(ids), reg.K7, reg.Z9)
			store(reg.Z9)
		} else {
			store(reg.Z2)
		}
		t.JMP(operand.LabelRef(done))
	}
	t.Label(done)
	t.Store(cnt, t.ReturnIndex(0))
	t.end()
}

func genSampleSplit(t *tier) {
	t.begin("split", "func(key, e []float32, ids []int32, base int32, lo, hi float32, out []int32) (n int, total, above float64, nAbove int)",
		"writes the ids (ids_i, or base+i) of the elements with lo ≤ key_i < hi to out in order and returns their count, Σ float64(e_i), the mass and count of key_i ≥ hi. len(key) ≥ 16; out holds the count plus 16.")
	key, e, ids, n := t.sampleArgs("e")
	out := t.Load(t.Param("out").Base(), reg.R9).(reg.GPPhysical)
	cnt, nAbove := reg.R12, reg.R13
	t.XORQ(cnt, cnt)
	t.XORQ(nAbove, nAbove)
	tlo, thi, alo, ahi := reg.Z10, reg.Z11, reg.Z12, reg.Z13
	for _, z := range []reg.VecPhysical{tlo, thi, alo, ahi} {
		t.VPXORQ(z, z, z)
	}
	sel := func(km reg.OpmaskPhysical) {
		t.VCMPPS(operand.U8(0x1d), reg.Z1, reg.Z4, km, reg.K2) // key ≥ hi
		t.VCMPPS(operand.U8(0x1d), reg.Z0, reg.Z4, km, reg.K1) // key ≥ lo
		t.KANDNW(reg.K1, reg.K2, reg.K1)                       // lo ≤ key < hi
		t.KMOVW(reg.K1, reg.EAX)
		t.KMOVW(reg.K2, reg.EDX)
		t.POPCNTL(reg.EDX, reg.EDX)
		t.ADDQ(reg.RDX, nAbove)
	}
	sums := func(km reg.OpmaskPhysical) {
		t.VCVTPS2PD(reg.Y5, reg.Z6)
		t.VEXTRACTF64X4(operand.U8(1), reg.Z5, reg.Y7)
		t.VCVTPS2PD(reg.Y7, reg.Z7)
		t.KSHIFTRW(operand.U8(8), km, reg.K4)
		t.VADDPD(reg.Z6, tlo, km, tlo)
		t.VADDPD(reg.Z7, thi, reg.K4, thi)
		t.KSHIFTRW(operand.U8(8), reg.K2, reg.K5)
		t.VADDPD(reg.Z6, alo, reg.K2, alo)
		t.VADDPD(reg.Z7, ahi, reg.K5, ahi)
	}
	store := func() {
		t.POPCNTL(reg.EAX, reg.EAX)
		t.VPCOMPRESSD(reg.Z2, reg.K1, reg.Z8)
		t.VMOVDQU32(reg.Z8, operand.Mem{Base: out, Index: cnt, Scale: 4})
		t.ADDQ(reg.RAX, cnt)
	}
	loop, tail, done := t.label("loop"), t.label("tail"), t.label("done")
	t.Label(loop)
	t.CMPQ(n, imm(16))
	t.JLT(operand.LabelRef(tail))
	t.VMOVUPS(at(key, 0), reg.Z4)
	t.VMOVUPS(at(e, 0), reg.Z5)
	dense := t.label("dense")
	t.TESTQ(ids, ids)
	t.JZ(operand.LabelRef(dense))
	t.VMOVDQU32(at(ids, 0), reg.Z2)
	t.ADDQ(imm(64), ids)
	t.Label(dense)
	sel(reg.K3)
	sums(reg.K3)
	store() // no branch: the lanes in [lo, hi) are rare but not predictable
	t.VPADDD(reg.Z3, reg.Z2, reg.Z2)
	t.ADDQ(imm(64), key)
	t.ADDQ(imm(64), e)
	t.SUBQ(imm(16), n)
	t.JMP(operand.LabelRef(loop))
	t.Label(tail)
	t.TESTQ(n, n)
	t.JZ(operand.LabelRef(done))
	t.sampleTail(n)
	t.VMOVUPS_Z(at(key, 0), reg.K7, reg.Z4)
	t.VMOVUPS_Z(at(e, 0), reg.K7, reg.Z5)
	tdense := t.label("tdense")
	t.TESTQ(ids, ids)
	t.JZ(operand.LabelRef(tdense))
	t.VMOVDQU32_Z(at(ids, 0), reg.K7, reg.Z2)
	t.Label(tdense)
	sel(reg.K7)
	sums(reg.K7)
	t.TESTL(reg.EAX, reg.EAX)
	t.JZ(operand.LabelRef(done))
	store()
	t.Label(done)
	t.Store(cnt, t.Return("n"))
	t.Store(nAbove, t.Return("nAbove"))
	t.VMOVAPD(tlo, reg.Z14)
	t.VMOVAPD(thi, reg.Z15)
	s := t.hsum64([]reg.VecPhysical{reg.Z14, reg.Z15}, reg.Z9)
	t.Store(s, t.Return("total"))
	s = t.hsum64([]reg.VecPhysical{alo, ahi}, reg.Z9)
	t.Store(s, t.Return("above"))
	t.end()
}

func genSampleSumAbove(t *tier) {
	t.begin("sumAbove", "func(key, e []float32, thr float32) (sum float64, count int)",
		"returns Σ_{key_i ≥ thr} float64(e_i) in the fixed lane order, and how many. len(key) ≥ 16.")
	key := t.Load(t.Param("key").Base(), reg.RSI).(reg.GPPhysical)
	n := t.Load(t.Param("key").Len(), reg.RCX).(reg.GPPhysical)
	e := t.Load(t.Param("e").Base(), reg.RDI).(reg.GPPhysical)
	t.VBROADCASTSS(t.arg("thr"), reg.Z0)
	lo, hi := reg.Z2, reg.Z3
	t.VPXORQ(lo, lo, lo)
	t.VPXORQ(hi, hi, hi)
	count := reg.R8
	t.XORQ(count, count)
	add := func() {
		t.KMOVW(reg.K1, reg.EAX)
		t.POPCNTL(reg.EAX, reg.EAX)
		t.ADDQ(reg.RAX, count)
	}
	loop, tail, done := t.label("loop"), t.label("tail"), t.label("done")
	t.Label(loop)
	t.CMPQ(n, imm(16))
	t.JLT(operand.LabelRef(tail))
	t.VCMPPS(operand.U8(0x12), at(key, 0), reg.Z0, reg.K1) // thr ≤ key
	add()
	t.KSHIFTRW(operand.U8(8), reg.K1, reg.K2)
	t.VCVTPS2PD(at(e, 0), reg.Z4)
	t.VCVTPS2PD(at(e, 32), reg.Z5)
	t.VADDPD(reg.Z4, lo, reg.K1, lo)
	t.VADDPD(reg.Z5, hi, reg.K2, hi)
	t.ADDQ(imm(64), key)
	t.ADDQ(imm(64), e)
	t.SUBQ(imm(16), n)
	t.JMP(operand.LabelRef(loop))
	t.Label(tail)
	t.TESTQ(n, n)
	t.JZ(operand.LabelRef(done))
	t.sampleTail(n)
	t.VMOVUPS_Z(at(key, 0), reg.K7, reg.Z6)
	t.VCMPPS(operand.U8(0x1d), reg.Z0, reg.Z6, reg.K7, reg.K1)
	add()
	t.VMOVUPS_Z(at(e, 0), reg.K7, reg.Z6)
	t.widenAdd(reg.Z6, lo, hi, reg.Z4, reg.Z5, reg.K1, reg.K2)
	t.Label(done)
	t.Store(count, t.Return("count"))
	s := t.hsum64([]reg.VecPhysical{lo, hi}, reg.Z1)
	t.Store(s, t.Return("sum"))
	t.end()
}
