package main

import (
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// genVek32 emits the float32 kernels of internal/vek for one tier.
func genVek32(t *tier) {
	t.declareExp32()
	t.tailTable()
	genMaxNaN(t, false)
	genSum32(t)
	genExpShift32(t, false)
	genExpShift32(t, true)
	genExpExact32(t, false)
	genExpExact32(t, true)
	genExpAffine32(t)
	genExp32(t)
	genSigmoidSum32(t)
	genScale32(t)
	genShiftScale32(t)
	genAxpy32(t)
	genDots32(t)
	genAxpy2(t)
	genStep32(t)
	genFence(t)
}

// regs hands out vector registers in order.
type regs struct {
	t    *tier
	next int
}

func (r *regs) get() reg.VecPhysical {
	v := r.t.v(r.next)
	r.next++
	return v
}

func (r *regs) getN(n int) []reg.VecPhysical {
	vs := make([]reg.VecPhysical, n)
	for i := range vs {
		vs[i] = r.get()
	}
	return vs
}

// ---------------------------------------------------------------------
// maxNaN32 and maxNaN64

// fpOps are the instructions of one element width (avo's forms, which
// take their operands in Go assembler order).
type fpOps struct {
	elem                int // bytes
	suffix              string
	bcast, mov, max, or func(ops ...operand.Op)
	cmp                 func(ops ...operand.Op)
	maskLoad            func(mem, m, dst operand.Op)
	blendv              func(m, a, b, dst operand.Op)
	test                func(a, b operand.Op)
}

func (t *tier) fp(wide bool) fpOps {
	if wide {
		return fpOps{8, "64", t.VBROADCASTSD, t.VMOVUPD, t.VMAXPD, t.VORPD, t.VCMPPD, t.VMASKMOVPD, t.VBLENDVPD, t.VTESTPD}
	}
	return fpOps{4, "32", t.VBROADCASTSS, t.VMOVUPS, t.VMAXPS, t.VORPS, t.VCMPPS, t.VMASKMOVPS, t.VBLENDVPS, t.VTESTPS}
}

// genMaxNaN emits maxNaN32 or maxNaN64: the largest non-NaN element and
// a NaN flag, in any order of the elements (max is exact).
func genMaxNaN(t *tier, wide bool) {
	f := t.fp(wide)
	elemType := "float" + f.suffix
	t.begin("maxNaN"+f.suffix, "func(x []"+elemType+") (m "+elemType+", nan bool)",
		"returns the largest non-NaN element of x (−Inf if none) and whether x holds a NaN. len(x) ≥ 1.")
	x := t.Load(t.Param("x").Base(), reg.RSI).(reg.GPPhysical)
	n := t.Load(t.Param("x").Len(), reg.RCX).(reg.GPPhysical)
	r := &regs{t: t}
	acc := r.getN(4)
	val := r.getN(4)
	ninf := r.get()
	f.bcast(t.data["ninf"], ninf)
	for _, a := range acc {
		f.mov(ninf, a)
	}
	var nan, nm mask
	if t.avx512 {
		nan, nm = mask{k: reg.K1}, mask{k: reg.K2}
		t.KXORW(nan.k, nan.k, nan.k)
	} else {
		nan, nm = mask{v: r.get()}, mask{v: r.get()}
		t.VXORPS(nan.v, nan.v, nan.v)
	}
	// VMAXP with the accumulator as first operand returns the
	// accumulator when either value is NaN: a NaN never enters the maxima.
	step := func(j int, v reg.VecPhysical) {
		f.max(acc[j], v, acc[j])
		if t.avx512 {
			f.cmp(operand.U8(3), v, v, nm.k)
			t.KORW(nm.k, nan.k, nan.k)
		} else {
			f.cmp(operand.U8(3), v, v, nm.v)
			f.or(nm.v, nan.v, nan.v)
		}
	}
	lanes := uint64(t.vbytes / f.elem)
	big, one, tail, done := t.label("big"), t.label("one"), t.label("tail"), t.label("done")
	t.Label(big)
	t.CMPQ(n, imm(4*lanes))
	t.JB(operand.LabelRef(one))
	for j := 0; j < 4; j++ {
		f.mov(at(x, j*t.vbytes), val[j])
	}
	for j := 0; j < 4; j++ {
		step(j, val[j])
	}
	t.ADDQ(imm(4*uint64(t.vbytes)), x)
	t.SUBQ(imm(4*lanes), n)
	t.JMP(operand.LabelRef(big))
	t.Label(one)
	t.CMPQ(n, imm(lanes))
	t.JB(operand.LabelRef(tail))
	f.mov(at(x, 0), val[0])
	step(1, val[0])
	t.ADDQ(imm(uint64(t.vbytes)), x)
	t.SUBQ(imm(lanes), n)
	t.JMP(operand.LabelRef(one))
	t.Label(tail)
	t.TESTQ(n, n)
	t.JZ(operand.LabelRef(done))
	// The tail: its lanes, −Inf in the others.
	var tm mask
	if t.avx512 {
		tm = mask{k: reg.K3}
	} else {
		tm = mask{v: val[3]}
	}
	t.tailMask(n, reg.RDX, f.elem, tm)
	if t.avx512 {
		f.mov(ninf, val[0])
		f.mov(at(x, 0), tm.k, val[0])
	} else {
		f.maskLoad(at(x, 0), tm.v, val[1])
		f.blendv(tm.v, val[1], ninf, val[0])
	}
	step(2, val[0])
	t.Label(done)
	f.max(acc[1], acc[0], acc[0])
	f.max(acc[3], acc[2], acc[2])
	f.max(acc[2], acc[0], acc[0])
	m := acc[0]
	if t.avx512 {
		t.VEXTRACTF64X4(operand.U8(1), m, val[0].AsY())
		f.max(val[0].AsY(), m.AsY(), m.AsY())
	}
	t.VEXTRACTF128(operand.U8(1), m.AsY(), val[0].AsX())
	f.max(val[0].AsX(), m.AsX(), m.AsX())
	t.VPERMILPS(operand.U8(0x4e), m.AsX(), val[0].AsX()) // swap the 64-bit halves
	f.max(val[0].AsX(), m.AsX(), m.AsX())
	if !wide {
		t.VPERMILPS(operand.U8(0xb1), m.AsX(), val[0].AsX())
		f.max(val[0].AsX(), m.AsX(), m.AsX())
	}
	t.Store(m.AsX(), t.Return("m"))
	if t.avx512 {
		t.KORTESTW(nan.k, nan.k)
	} else {
		f.test(nan.v, nan.v)
	}
	t.SETNE(reg.AL)
	t.Store(reg.AL, t.Return("nan"))
	t.end()
}

// ---------------------------------------------------------------------
// sum32

func genSum32(t *tier) {
	t.begin("sum32", "func(x []float32) float64",
		"returns Σ x_i in the reduction shape of the package.")
	x := t.Load(t.Param("x").Base(), reg.RSI).(reg.GPPhysical)
	n := t.Load(t.Param("x").Len(), reg.RCX).(reg.GPPhysical)
	r := &regs{t: t}
	P := t.parts()
	f := r.getN(P)
	var d []reg.VecPhysical
	if t.avx512 {
		d = r.getN(2)
	}
	tmp := r.get()
	a := t.newAcc32(f, d, tmp)
	val := r.getN(4) // one part's four groups
	var tm mask
	if t.avx512 {
		tm = mask{k: reg.K1}
	} else {
		tm = mask{v: r.get()}
	}
	t.reduceLoop32(n, reg.RBX, []reg.GPPhysical{x}, a, func(masked bool) {
		for h := 0; h < P; h++ {
			for g := 0; g < 4; g++ {
				off := at(x, t.groupOffset(g, h))
				if masked {
					t.blockTailMask(n, reg.RDX, reg.RAX, g, h, 4, tm)
					t.loadMasked(off, tm, val[g])
				} else {
					t.VMOVUPS(off, val[g])
				}
			}
			t.VADDPS(val[1], val[0], val[0])
			t.VADDPS(val[3], val[2], val[2])
			t.VADDPS(val[2], val[0], val[0])
			t.VADDPS(val[0], f[h], f[h])
		}
	})
	s := t.hsum(a, val[0])
	t.Store(s, t.ReturnIndex(0))
	t.end()
}

// ---------------------------------------------------------------------
// Exponential blocks.

// expBlock describes how a kernel computes one 64-element block of
// exponentials: load prepares v.z (and v.lo) of vector set j for the
// register at byte offset off (masked: only the lanes of tm, zeros in
// the others); the exponentials are then computed, stored through store
// when it is set, and their lane sums added into f in the fixed tree.
type expBlock struct {
	vs    []ev              // the vector sets in flight
	tA    reg.VecPhysical   // tree scratch (unused with 4 in flight)
	tB    reg.VecPhysical   // tree scratch (1 in flight only)
	f     []reg.VecPhysical // float32 lane accumulators, one per part
	tails []mask            // where vector set j builds its tail mask
	cnt   reg.GPPhysical    // remaining elements (a partial block: 1..63)
	c1    reg.GPPhysical    // scratch for tail masks
	c2    reg.GPPhysical
	load  func(v ev, off int, tm *mask)
	post  func(vs []ev)                 // nil, or turns each v.p into the value stored and summed
	store func(v ev, off int, tm *mask) // nil: no store
}

func (t *tier) emitExpBlock(b expBlock, masked bool) {
	k := len(b.vs)
	for h := 0; h < t.parts(); h++ {
		var ps []reg.VecPhysical
		for g0 := 0; g0 < 4; g0 += k {
			var cur []ev
			for j := 0; j < k; j++ {
				v := b.vs[j]
				off := t.groupOffset(g0+j, h)
				if masked {
					// One vector at a time: its tail mask is built, used
					// for the load, the result and the store.
					t.blockTailMask(b.cnt, b.c1, b.c2, g0+j, h, 4, b.tails[j])
					tm := b.tails[j]
					v.tail = &tm
					b.load(v, off, &tm)
					t.exp5([]ev{v})
					if b.post != nil {
						b.post([]ev{v})
					}
					if b.store != nil {
						b.store(v, t.groupOffset(g0+j, h), &tm)
					}
				} else {
					b.load(v, off, nil)
				}
				cur = append(cur, v)
			}
			if !masked {
				t.exp5(cur)
				if b.post != nil {
					b.post(cur)
				}
				if b.store != nil {
					for j, v := range cur {
						b.store(v, t.groupOffset(g0+j, h), nil)
					}
				}
			}
			// The tree: lane sum (e0 + e1) + (e2 + e3).
			switch k {
			case 4:
				for _, v := range cur {
					ps = append(ps, v.p)
				}
			case 2:
				if g0 == 0 {
					t.VADDPS(cur[1].p, cur[0].p, b.tA)
				} else {
					t.VADDPS(cur[1].p, cur[0].p, cur[0].p)
					t.VADDPS(cur[0].p, b.tA, b.tA)
					t.VADDPS(b.tA, b.f[h], b.f[h])
				}
			case 1:
				switch g0 {
				case 0:
					t.VMOVAPS(cur[0].p, b.tA)
				case 1:
					t.VADDPS(cur[0].p, b.tA, b.tA)
				case 2:
					t.VMOVAPS(cur[0].p, b.tB)
				case 3:
					t.VADDPS(cur[0].p, b.tB, b.tB)
					t.VADDPS(b.tB, b.tA, b.tA)
					t.VADDPS(b.tA, b.f[h], b.f[h])
				}
			}
		}
		if k == 4 {
			t.VADDPS(ps[1], ps[0], ps[0])
			t.VADDPS(ps[3], ps[2], ps[2])
			t.VADDPS(ps[2], ps[0], ps[0])
			t.VADDPS(ps[0], b.f[h], b.f[h])
		}
	}
}

// expRegs allocates the exponential's registers for k vectors in flight.
func (t *tier) expRegs(r *regs, k int, withLo bool) []ev {
	vs := make([]ev, k)
	for j := range vs {
		vs[j].z = r.get()
		if withLo {
			vs[j].lo = r.get()
		}
		vs[j].n = r.get()
		if t.avx512 {
			vs[j].p = r.get()
			vs[j].m = mask{k: kregs[j]}
		} else {
			vs[j].ti = r.get()
			vs[j].p = vs[j].n // n is dead once r is reduced
			vs[j].m = mask{v: r.get()}
		}
	}
	return vs
}

// keepExpConsts keeps in registers the constants of the softmax
// exponential that fit in what is left of the register file (AVX-512:
// all), the most used first.
func (t *tier) keepExpConsts(r *regs) {
	names := []string{"log2e", "nln2hi", "nln2lo", "lo", "p5", "p4", "p3", "p2", "p1", "one"}
	for _, name := range names {
		if r.next >= t.nvec {
			return
		}
		t.keep32(name, r.get())
	}
}

// sumSetup allocates a float32 reduction: its accumulators, its vector
// sets (k in flight), tree scratch and the tail mask register.
type sumSetup struct {
	a    acc32
	blk  expBlock
	rest *regs
}

func (t *tier) setupExpSum(r *regs, k int, withLo bool) sumSetup {
	P := t.parts()
	f := r.getN(P)
	var d []reg.VecPhysical
	if t.avx512 {
		d = r.getN(2)
	}
	vs := t.expRegs(r, k, withLo)
	b := expBlock{vs: vs, f: f}
	if k <= 2 {
		b.tA = r.get()
	}
	if k == 1 {
		b.tB = r.get()
	}
	// In a partial block the vectors run one at a time, so a tail mask
	// can live in another vector set's keep-mask register.
	switch {
	case t.avx512:
		for range vs {
			b.tails = append(b.tails, mask{k: reg.K7})
		}
	case k >= 2:
		b.tails = []mask{vs[1].m, vs[0].m}
	default:
		b.tails = []mask{{v: r.get()}}
	}
	a := t.newAcc32(f, d, vs[0].z)
	return sumSetup{a: a, blk: b, rest: r}
}

// ---------------------------------------------------------------------
// The softmax exponential with a shift c for which x − c is exact.

func genExpShift32(t *tier, store bool) {
	name, sig := "expShiftSum32", "func(x []float32, negc float32) float64"
	doc := "returns Σ exp(x_i − c), negc = −c. Precondition: each x_i − c is exact."
	if store {
		name, sig = "expShiftStore32", "func(dst, x []float32, negc float32) float64"
		doc = "sets dst_i = exp(x_i − c) and returns their sum, negc = −c. len(dst) ≥ len(x)."
	}
	t.begin(name, sig, doc)
	x := t.Load(t.Param("x").Base(), reg.RSI).(reg.GPPhysical)
	n := t.Load(t.Param("x").Len(), reg.RCX).(reg.GPPhysical)
	var dst reg.GPPhysical = reg.RDI
	if store {
		t.Load(t.Param("dst").Base(), dst)
	}
	r := &regs{t: t}
	negc := r.get()
	t.VBROADCASTSS(t.arg("negc"), negc)
	k := 4
	if !t.avx512 {
		k = 2
	}
	su := t.setupExpSum(r, k, false)
	t.keepExpConsts(r)
	b := su.blk
	b.cnt, b.c1, b.c2 = n, reg.RDX, reg.RAX
	b.load = func(v ev, off int, tm *mask) {
		if tm != nil {
			t.loadMasked(at(x, off), *tm, v.z)
			t.VADDPS(negc, v.z, v.z)
		} else {
			t.VADDPS(at(x, off), negc, v.z)
		}
	}
	ptrs := []reg.GPPhysical{x}
	if store {
		b.store = func(v ev, off int, tm *mask) {
			if tm != nil {
				t.storeMasked(v.p, *tm, at(dst, off))
			} else {
				t.VMOVUPS(v.p, at(dst, off))
			}
		}
		ptrs = append(ptrs, dst)
	}
	t.reduceLoop32(n, reg.RBX, ptrs, su.a, func(masked bool) { t.emitExpBlock(b, masked) })
	s := t.hsum(su.a, b.vs[0].n)
	t.Store(s, t.ReturnIndex(0))
	t.end()
}

// ---------------------------------------------------------------------
// The exact exponential exp(s·(x − m)): x − m carried as an exact pair.

func genExpExact32(t *tier, store bool) {
	name, sig := "expSum32", "func(x []float32, negm, s float32) float64"
	doc := "returns Σ exp(s·(x_i − m)), x − m carried exactly; negm = −m."
	if store {
		name, sig = "expStoreSum32", "func(dst, x []float32, negm, s float32) float64"
		doc = "sets dst_i = exp(s·(x_i − m)) and returns their sum; negm = −m."
	}
	t.begin(name, sig, doc)
	x := t.Load(t.Param("x").Base(), reg.RSI).(reg.GPPhysical)
	n := t.Load(t.Param("x").Len(), reg.RCX).(reg.GPPhysical)
	var dst reg.GPPhysical = reg.RDI
	if store {
		t.Load(t.Param("dst").Base(), dst)
	}
	r := &regs{t: t}
	negm := r.get()
	t.VBROADCASTSS(t.arg("negm"), negm)
	s := r.get()
	t.VBROADCASTSS(t.arg("s"), s)
	k := 2
	if !t.avx512 {
		k = 1
	}
	su := t.setupExpSum(r, k, true)
	scratch := r.get()
	t.keepExpConsts(r)
	b := su.blk
	b.cnt, b.c1, b.c2 = n, reg.RDX, reg.RAX
	loader := func(scaled bool) func(v ev, off int, tm *mask) {
		return func(v ev, off int, tm *mask) {
			if tm != nil {
				t.loadMasked(at(x, off), *tm, scratch)
			} else {
				t.VMOVUPS(at(x, off), scratch)
			}
			t.twoSum(negm, scratch, v.z, v.lo, v.n)
			if scaled {
				t.VMULPS(s, v.z, v.z)
				t.VMULPS(s, v.lo, v.lo)
			}
		}
	}
	ptrs := []reg.GPPhysical{x}
	if store {
		b.store = func(v ev, off int, tm *mask) {
			if tm != nil {
				t.storeMasked(v.p, *tm, at(dst, off))
			} else {
				t.VMOVUPS(v.p, at(dst, off))
			}
		}
		ptrs = append(ptrs, dst)
	}
	// s == 1: the products by s are exact and skipped.
	t.MOVL(t.arg("s"), reg.R9L)
	unscaled, fin := t.label("unscaled"), t.label("fin")
	t.CMPL(reg.R9L, operand.U32(bOne))
	t.JEQ(operand.LabelRef(unscaled))
	b.load = loader(true)
	t.reduceLoop32(n, reg.RBX, ptrs, su.a, func(masked bool) { t.emitExpBlock(b, masked) })
	t.JMP(operand.LabelRef(fin))
	t.Label(unscaled)
	b.load = loader(false)
	t.reduceLoop32(n, reg.RBX, ptrs, su.a, func(masked bool) { t.emitExpBlock(b, masked) })
	t.Label(fin)
	sum := t.hsum(su.a, b.vs[0].n)
	t.Store(sum, t.ReturnIndex(0))
	t.end()
}

// ---------------------------------------------------------------------
// Elementwise kernels.

// dstX loads the dst and x slices of a map kernel and their length.
func (t *tier) dstX() (dst, x, n reg.GPPhysical) {
	dst = t.Load(t.Param("dst").Base(), reg.RDI).(reg.GPPhysical)
	x = t.Load(t.Param("x").Base(), reg.RSI).(reg.GPPhysical)
	n = t.Load(t.Param("x").Len(), reg.RCX).(reg.GPPhysical)
	return
}

// tailMaskReg returns a mask register for mapLoop's tail.
func (t *tier) tailMaskReg(r *regs) mask {
	if t.avx512 {
		return mask{k: reg.K7}
	}
	return mask{v: r.get()}
}

func (t *tier) load32(mem operand.Mem, m *mask, dst reg.VecPhysical) {
	if m != nil {
		t.loadMasked(mem, *m, dst)
	} else {
		t.VMOVUPS(mem, dst)
	}
}

func (t *tier) store32(src reg.VecPhysical, m *mask, mem operand.Mem) {
	if m != nil {
		t.storeMasked(src, *m, mem)
	} else {
		t.VMOVUPS(src, mem)
	}
}

func genExpAffine32(t *tier) {
	t.begin("expAffine32", "func(dst, x []float32, negm, s, a, b float32)",
		"sets dst_i = a·exp(s·(x_i − m)) − b (product and difference fused); negm = −m.")
	dst, x, n := t.dstX()
	r := &regs{t: t}
	negm, s, a, b := r.get(), r.get(), r.get(), r.get()
	t.VBROADCASTSS(t.arg("negm"), negm)
	t.VBROADCASTSS(t.arg("s"), s)
	t.VBROADCASTSS(t.arg("a"), a)
	t.VBROADCASTSS(t.arg("b"), b)
	k := 2
	if !t.avx512 {
		k = 1
	}
	vs := t.expRegs(r, k, true)
	scratch := r.get()
	tm := t.tailMaskReg(r)
	t.keepExpConsts(r)
	t.mapLoop(n, reg.RDX, []reg.GPPhysical{dst, x}, 4, k, tm, func(j, off int, m *mask) {
		v := vs[j]
		t.load32(at(x, off), m, scratch)
		t.twoSum(negm, scratch, v.z, v.lo, v.n)
		t.VMULPS(s, v.z, v.z)
		t.VMULPS(s, v.lo, v.lo)
		t.exp5([]ev{v})
		t.VFMSUB213PS(b, a, v.p)
		t.store32(v.p, m, at(dst, off))
	})
	t.end()
}

func genExp32(t *tier) {
	t.begin("exp32", "func(dst, x []float32)",
		"sets dst_i = exp(x_i): NaN for NaN, +Inf above the largest float32 below 128·ln2, 0 below ln 2⁻¹²⁶.")
	dst, x, n := t.dstX()
	r := &regs{t: t}
	k := 2
	if !t.avx512 {
		k = 1
	}
	xs := r.getN(k)
	vs := t.expRegs(r, k, false)
	tm := t.tailMaskReg(r)
	var inf, hi reg.VecPhysical
	if t.avx512 {
		inf, hi = r.get(), r.get()
		t.VBROADCASTSS(t.data["inf"], inf)
		t.VBROADCASTSS(t.data["hi"], hi)
	}
	for _, name := range []string{"log2e", "nln2hi", "nln2lo", "lo", "c6", "c5", "c4", "c3", "c2", "one"} {
		if r.next >= t.nvec {
			break
		}
		t.keep32(name, r.get())
	}
	t.mapLoop(n, reg.RDX, []reg.GPPhysical{dst, x}, 4, k, tm, func(j, off int, m *mask) {
		v := vs[j]
		xv := xs[j]
		t.load32(at(x, off), m, xv)
		t.VMOVAPS(xv, v.z)
		t.expReduce([]ev{v})
		t.expPoly6([]ev{v})
		t.expScale([]ev{v})
		if t.avx512 {
			t.VCMPPS(operand.U8(0x1e), hi, xv, v.m.k) // x > hi
			t.VMOVAPS(inf, v.m.k, v.p)
			t.VCMPPS(operand.U8(3), xv, xv, v.m.k) // NaN
			t.VADDPS(xv, xv, v.m.k, v.p)
		} else {
			t.VCMPPS(operand.U8(0x1e), t.data["hi"], xv, v.m.v)
			t.VMOVUPS(t.data["inf"], v.ti)
			t.VBLENDVPS(v.m.v, v.ti, v.p, v.p)
			t.VCMPPS(operand.U8(3), xv, xv, v.m.v)
			t.VADDPS(xv, xv, xv)
			t.VBLENDVPS(v.m.v, xv, v.p, v.p)
		}
		t.store32(v.p, m, at(dst, off))
	})
	t.end()
}

func genSigmoidSum32(t *tier) {
	t.begin("sigmoidSum32", "func(dst, x []float32, b float32) float64",
		"sets dst_i = σ(t_i), t_i = x_i + b rounded: with e_i = exp(−|t_i|) (the softmax",
		"exponential, its argument never positive), dst_i = 1/(1 + e_i) for t_i ≥ +0 and",
		"e_i/(1 + e_i) for t_i ≤ −0, the sum and the quotient rounded in float32; NaN for NaN.",
		"It returns Σ dst_i in the reduction shape of the package.")
	x := t.Load(t.Param("x").Base(), reg.RSI).(reg.GPPhysical)
	n := t.Load(t.Param("x").Len(), reg.RCX).(reg.GPPhysical)
	dst := t.Load(t.Param("dst").Base(), reg.RDI).(reg.GPPhysical)
	r := &regs{t: t}
	bv := r.get()
	t.VBROADCASTSS(t.arg("b"), bv)
	var sign operand.Op = t.f32("sign", 0x80000000)
	if t.avx512 {
		s := r.get()
		t.VBROADCASTSS(sign, s)
		sign = s
	}
	k := 4
	if !t.avx512 {
		k = 2
	}
	su := t.setupExpSum(r, k, false)
	b := su.blk
	for j := range b.vs {
		b.vs[j].keep = r.get() // t
	}
	t.keepExpConsts(r)
	one := t.k("one")
	b.cnt, b.c1, b.c2 = n, reg.RDX, reg.RAX
	b.load = func(v ev, off int, tm *mask) {
		if tm != nil {
			t.loadMasked(at(x, off), *tm, v.keep)
			t.VADDPS(bv, v.keep, v.keep)
		} else {
			t.VADDPS(at(x, off), bv, v.keep)
		}
		t.VORPS(sign, v.keep, v.z) // z = −|t|
	}
	b.post = func(vs []ev) {
		for _, v := range vs {
			t.VADDPS(one, v.p, v.z) // 1 + e (z is free once r is used)
			if t.avx512 {
				// The numerator: e where t's sign bit is set, else 1.
				t.VPTESTMD(sign, v.keep, v.m.k)
				t.VBLENDMPS(v.p, one, v.m.k, v.p)
				t.VDIVPS(v.z, v.p, v.p)
				t.VCMPPS(operand.U8(3), v.keep, v.keep, v.m.k) // NaN
				t.VADDPS(v.keep, v.keep, v.m.k, v.p)
				if v.tail != nil {
					t.VMOVAPS_Z(v.p, v.tail.k, v.p)
				}
				continue
			}
			t.VMOVUPS(t.data["one"], v.ti)
			t.VBLENDVPS(v.keep, v.p, v.ti, v.p) // e where t's sign bit is set
			t.VDIVPS(v.z, v.p, v.p)
			t.VCMPPS(operand.U8(3), v.keep, v.keep, v.m.v)
			t.VADDPS(v.keep, v.keep, v.keep)
			t.VBLENDVPS(v.m.v, v.keep, v.p, v.p)
			if v.tail != nil {
				t.VANDPS(v.tail.v, v.p, v.p)
			}
		}
	}
	b.store = func(v ev, off int, tm *mask) {
		if tm != nil {
			t.storeMasked(v.p, *tm, at(dst, off))
		} else {
			t.VMOVUPS(v.p, at(dst, off))
		}
	}
	t.reduceLoop32(n, reg.RBX, []reg.GPPhysical{x, dst}, su.a, func(masked bool) { t.emitExpBlock(b, masked) })
	s := t.hsum(su.a, b.vs[0].n)
	t.Store(s, t.ReturnIndex(0))
	t.end()
}

func genScale32(t *tier) {
	t.begin("scale32", "func(dst, x []float32, a float32)", "sets dst_i = a·x_i.")
	dst, x, n := t.dstX()
	r := &regs{t: t}
	a := r.get()
	t.VBROADCASTSS(t.arg("a"), a)
	vs := r.getN(4)
	tm := t.tailMaskReg(r)
	t.mapLoop(n, reg.RDX, []reg.GPPhysical{dst, x}, 4, 4, tm, func(j, off int, m *mask) {
		if m != nil {
			t.loadMasked(at(x, off), *m, vs[j])
			t.VMULPS(a, vs[j], vs[j])
		} else {
			t.VMULPS(at(x, off), a, vs[j])
		}
		t.store32(vs[j], m, at(dst, off))
	})
	t.end()
}

func genShiftScale32(t *tier) {
	t.begin("shiftScale32", "func(dst, x []float32, m, s, b float32)",
		"sets dst_i = ((x_i − m)·s) − b, each operation rounded.")
	dst, x, n := t.dstX()
	r := &regs{t: t}
	m, s, b := r.get(), r.get(), r.get()
	t.VBROADCASTSS(t.arg("m"), m)
	t.VBROADCASTSS(t.arg("s"), s)
	t.VBROADCASTSS(t.arg("b"), b)
	vs := r.getN(4)
	tm := t.tailMaskReg(r)
	t.mapLoop(n, reg.RDX, []reg.GPPhysical{dst, x}, 4, 4, tm, func(j, off int, mk *mask) {
		t.load32(at(x, off), mk, vs[j])
		t.VSUBPS(m, vs[j], vs[j])
		t.VMULPS(s, vs[j], vs[j])
		t.VSUBPS(b, vs[j], vs[j])
		t.store32(vs[j], mk, at(dst, off))
	})
	t.end()
}

func genAxpy32(t *tier) {
	t.begin("axpy32", "func(dst, x []float32, a float32)", "sets dst_i = a·x_i + dst_i, fused.")
	dst, x, n := t.dstX()
	r := &regs{t: t}
	a := r.get()
	t.VBROADCASTSS(t.arg("a"), a)
	vs := r.getN(4)
	xs := r.getN(4)
	tm := t.tailMaskReg(r)
	t.mapLoop(n, reg.RDX, []reg.GPPhysical{dst, x}, 4, 4, tm, func(j, off int, m *mask) {
		t.load32(at(dst, off), m, vs[j])
		if m != nil {
			t.loadMasked(at(x, off), *m, xs[j])
			t.VFMADD231PS(xs[j], a, vs[j])
		} else {
			t.VFMADD231PS(at(x, off), a, vs[j])
		}
		t.store32(vs[j], m, at(dst, off))
	})
	t.end()
}

// ---------------------------------------------------------------------
// The row pipeline step.

// Step modes (the mode argument of step32).
const (
	stepScale  = 0 // out = a·src
	stepShift  = 1 // out = (src − a) − b
	stepMulSub = 2 // out = (a·src) − b
	stepNT     = 4 // non-temporal stores (when out is aligned to the vector size)
)

// storeAhead is how far ahead (bytes) step32 prefetches the lines its
// plain stores write (AVX-512 tier only).
const storeAhead = 2048

func genStep32(t *tier) {
	t.begin("step32", "func(n int, e, x *float32, negc float32, out, src *float32, a, b float32, mode int, next *float32, pfd int) (sum float64, m float32, nan bool)",
		"is one step of the row pipeline over n elements: with x, sum = Σ exp(x_i − c)",
		"(negc = −c), stored to e unless e is nil; with out, out_i = a·src_i (mode 0),",
		"(src_i − a) − b (mode 1) or (a·src_i) − b (mode 2), non-temporal when mode has 4",
		"and out is aligned (the caller fences them, see storeFence); with",
		"next, m and nan are its maximum and NaN flag (m = −Inf, nan = false without), and",
		"the loop prefetches next+pfd onwards. Each part is skipped when its pointer is nil.")
	n := t.Load(t.Param("n"), reg.RCX).(reg.GPPhysical)
	e := t.Load(t.Param("e"), reg.RDI).(reg.GPPhysical)
	x := t.Load(t.Param("x"), reg.RSI).(reg.GPPhysical)
	out := t.Load(t.Param("out"), reg.R8).(reg.GPPhysical)
	src := t.Load(t.Param("src"), reg.R9).(reg.GPPhysical)
	next := t.Load(t.Param("next"), reg.R10).(reg.GPPhysical)
	pfd := t.Load(t.Param("pfd"), reg.R11).(reg.GPPhysical)
	mode := t.Load(t.Param("mode"), reg.R12).(reg.GPPhysical)
	flags := reg.R13 // bit 0: exp, 1: store e, 2: out, 3: next, 4: NT, 5: fused
	t.XORQ(flags, flags)
	setIf := func(p reg.GPPhysical, bit uint64) {
		l := t.label("noflag")
		t.TESTQ(p, p)
		t.JZ(operand.LabelRef(l))
		t.ORQ(imm(bit), flags)
		t.Label(l)
	}
	setIf(x, 1)
	setIf(e, 2)
	setIf(out, 4)
	setIf(next, 8)
	// Fused (bit 5): next is x itself, so the exponential part finds the
	// maximum from the vectors it loads (the full blocks; a partial block
	// runs the next part as usual) — when the exponentials are stored or
	// there is no out part. With an out part and no stored exponentials
	// (log-softmax's step) the separate next part measured faster on Zen
	// 5 (0.79–0.86 of the copy roof against 0.72–0.78); softmax's and
	// log-sum-exp's steps measured faster fused.
	{
		l, set := t.label("nofuse"), t.label("fuse")
		t.TESTQ(x, x)
		t.JZ(operand.LabelRef(l))
		t.CMPQ(x, next)
		t.JNE(operand.LabelRef(l))
		t.TESTQ(e, e)
		t.JNZ(operand.LabelRef(set))
		t.TESTQ(out, out)
		t.JNZ(operand.LabelRef(l))
		t.Label(set)
		t.ORQ(imm(32), flags)
		t.Label(l)
	}
	// NT only when asked for and out is aligned.
	{
		l := t.label("nont")
		t.TESTQ(imm32(stepNT), mode)
		t.JZ(operand.LabelRef(l))
		t.TESTQ(imm32(uint64(t.vbytes-1)), out)
		t.JNZ(operand.LabelRef(l))
		t.ORQ(imm(16), flags)
		t.Label(l)
	}
	t.ANDQ(imm(3), mode)
	t.ADDQ(next, pfd) // the prefetch pointer

	r := &regs{t: t}
	negc := r.get()
	t.VBROADCASTSS(t.arg("negc"), negc)
	k := 4
	if !t.avx512 {
		k = 2
	}
	su := t.setupExpSum(r, k, false)
	var mx []reg.VecPhysical // running maxima of next
	var nanAcc, nanTmp mask
	if t.avx512 {
		mx = r.getN(4)
		nanAcc, nanTmp = mask{k: reg.K5}, mask{k: reg.K6}
		t.KXORW(nanAcc.k, nanAcc.k, nanAcc.k)
	} else {
		mx = r.getN(1)
		nanAcc = mask{v: r.get()}
		t.VXORPS(nanAcc.v, nanAcc.v, nanAcc.v)
	}
	for _, v := range mx {
		t.VBROADCASTSS(t.data["ninf"], v)
	}
	// a and b: registers on AVX-512, broadcast vectors in the frame on AVX2.
	var av, bv operand.Op
	if t.avx512 {
		ar, br := r.get(), r.get()
		t.VBROADCASTSS(t.arg("a"), ar)
		t.VBROADCASTSS(t.arg("b"), br)
		av, bv = ar, br
	} else {
		fr := t.AllocLocal(64)
		tmp := su.blk.vs[0].z
		t.VBROADCASTSS(t.arg("a"), tmp)
		t.VMOVUPS(tmp, fr)
		t.VBROADCASTSS(t.arg("b"), tmp)
		t.VMOVUPS(tmp, fr.Offset(32))
		av, bv = fr, fr.Offset(32)
	}
	t.keepExpConsts(r)
	b := su.blk
	b.cnt, b.c1, b.c2 = n, reg.RDX, reg.RAX
	b.load = func(v ev, off int, tm *mask) {
		if tm != nil {
			t.loadMasked(at(x, off), *tm, v.z)
			t.VADDPS(negc, v.z, v.z)
		} else {
			t.VADDPS(at(x, off), negc, v.z)
		}
	}
	b.store = func(v ev, off int, tm *mask) {
		l := t.label("nostore")
		t.TESTQ(imm32(2), flags)
		t.JZ(operand.LabelRef(l))
		t.store32(v.p, tm, at(e, off))
		t.Label(l)
	}
	// maxNaN folds vector v into the running maximum acc and the NaN
	// flag (the VMAXPS operand order keeps a NaN from becoming the
	// maximum); tmp is AVX2 scratch, and may be v itself.
	maxNaN := func(v, acc, tmp reg.VecPhysical) {
		t.VMAXPS(acc, v, acc)
		if t.avx512 {
			t.VCMPPS(operand.U8(3), v, v, nanTmp.k)
			t.KORW(nanTmp.k, nanAcc.k, nanAcc.k)
		} else {
			t.VCMPPS(operand.U8(3), v, v, tmp)
			t.VORPS(tmp, nanAcc.v, nanAcc.v)
		}
	}
	// The fused block's load: x's vector also goes into the running
	// maximum and the NaN flag, as in the next part.
	fb := b
	fb.load = func(v ev, off int, tm *mask) {
		t.VMOVUPS(at(x, off), v.z)
		maxNaN(v.z, mx[(off/t.vbytes)%len(mx)], v.n)
		t.VADDPS(negc, v.z, v.z)
	}
	// Scratch vectors for the out and next parts: the exponential's
	// registers, free between the parts.
	var tmps []reg.VecPhysical
	for _, v := range b.vs {
		tmps = append(tmps, v.z, v.n)
	}
	nvec := 64 / t.vbytes * 4 // vectors per block
	var tm mask
	if t.avx512 {
		tm = mask{k: reg.K7}
	} else {
		tm = b.vs[0].m
	}
	outPart := func(masked, nt bool) {
		for i := 0; i < nvec; i++ {
			v := tmps[i%len(tmps)]
			off := i * t.vbytes
			var mp *mask
			if masked {
				g, h := i*t.vbytes/64, (i*t.vbytes%64)/t.vbytes
				t.blockTailMask(n, reg.RDX, reg.RAX, g, h, 4, tm)
				mp = &tm
				t.loadMasked(at(src, off), tm, v)
			} else {
				t.VMOVUPS(at(src, off), v)
			}
			shift := t.label("shift")
			st := t.label("st")
			t.CMPQ(mode, imm(stepShift))
			t.JEQ(operand.LabelRef(shift))
			t.VMULPS(av, v, v)
			t.CMPQ(mode, imm(stepMulSub))
			t.JNE(operand.LabelRef(st))
			t.VSUBPS(bv, v, v)
			t.JMP(operand.LabelRef(st))
			t.Label(shift)
			t.VSUBPS(av, v, v)
			t.VSUBPS(bv, v, v)
			t.Label(st)
			switch {
			case masked:
				t.storeMasked(v, *mp, at(out, off))
			case nt:
				t.VMOVNTPS(v, at(out, off))
			default:
				t.VMOVUPS(v, at(out, off))
			}
		}
	}
	nextPart := func(masked bool) {
		if !masked {
			for i := 0; i < 4; i++ {
				t.PREFETCHT0(at(pfd, 64*i))
			}
		}
		for i := 0; i < nvec; i++ {
			v := tmps[i%len(tmps)]
			off := i * t.vbytes
			if masked {
				g, h := i*t.vbytes/64, (i*t.vbytes%64)/t.vbytes
				t.blockTailMask(n, reg.RDX, reg.RAX, g, h, 4, tm)
				if t.avx512 {
					t.VBROADCASTSS(t.data["ninf"], v)
					t.VMOVUPS(at(next, off), tm.k, v)
				} else {
					w := b.vs[1].m.v
					t.VMASKMOVPS(at(next, off), tm.v, w)
					t.VBROADCASTSS(t.data["ninf"], v)
					t.VBLENDVPS(tm.v, w, v, v)
				}
			} else {
				t.VMOVUPS(at(next, off), v)
			}
			maxNaN(v, mx[i%len(mx)], v)
		}
	}
	// prefetchStores fetches the lines that plain stores will write a
	// little ahead, so that a store finds its line in cache instead of
	// waiting for the read-for-ownership (bit: the part's flag). The
	// AVX-512 tier only: vek.StepPrefetchesStores reports it, and the
	// row pipeline then prefers these stores to non-temporal ones.
	prefetchStores := func(p reg.GPPhysical, bit uint64) {
		if !t.avx512 {
			// On the AVX2 tier (Zen 5 with AVX-512 off) the prefetches
			// made softmax and cross-entropy 15–30% slower.
			return
		}
		l := t.label("nopfs")
		t.TESTQ(imm32(bit), flags)
		t.JZ(operand.LabelRef(l))
		for i := 0; i < 4; i++ {
			t.PREFETCHT0(at(p, storeAhead+64*i))
		}
		t.Label(l)
	}
	block := func(masked bool) {
		skipExp, skipOut, skipNext := t.label("skipexp"), t.label("skipout"), t.label("skipnext")
		if !masked {
			// Fused: the next part's prefetch, then the exponentials
			// with the maximum; on to the out part.
			plain := t.label("unfused")
			t.TESTQ(imm32(32), flags)
			t.JZ(operand.LabelRef(plain))
			prefetchStores(e, 2)
			for i := 0; i < 4; i++ {
				t.PREFETCHT0(at(pfd, 64*i))
			}
			t.emitExpBlock(fb, false)
			t.JMP(operand.LabelRef(skipExp))
			t.Label(plain)
		}
		t.TESTQ(imm32(1), flags)
		t.JZ(operand.LabelRef(skipExp))
		if !masked {
			prefetchStores(e, 2)
		}
		t.emitExpBlock(b, masked)
		t.Label(skipExp)
		t.TESTQ(imm32(4), flags)
		t.JZ(operand.LabelRef(skipOut))
		if masked {
			outPart(true, false)
		} else {
			regular := t.label("regular")
			t.TESTQ(imm32(16), flags)
			t.JZ(operand.LabelRef(regular))
			outPart(false, true)
			t.JMP(operand.LabelRef(skipOut))
			t.Label(regular)
			prefetchStores(out, 4)
			outPart(false, false)
		}
		t.Label(skipOut)
		if !masked {
			// The fused block found the maximum already.
			t.TESTQ(imm32(32), flags)
			t.JNZ(operand.LabelRef(skipNext))
		}
		t.TESTQ(imm32(8), flags)
		t.JZ(operand.LabelRef(skipNext))
		nextPart(masked)
		t.Label(skipNext)
	}
	ptrs := []reg.GPPhysical{x, e, out, src, next, pfd}
	t.reduceLoop32(n, reg.RBX, ptrs, su.a, block)
	s := t.hsum(su.a, b.vs[0].n)
	t.Store(s, t.Return("sum"))
	// The maximum of next, reduced in low registers (VEX forms).
	mm, tz := b.vs[0].z, b.vs[0].n
	if t.avx512 {
		t.VMAXPS(mx[1], mx[0], mm)
		t.VMAXPS(mx[3], mx[2], tz)
		t.VMAXPS(tz, mm, mm)
		t.VEXTRACTF64X4(operand.U8(1), mm, tz.AsY())
		t.VMAXPS(tz.AsY(), mm.AsY(), mm.AsY())
	} else {
		t.VMOVAPS(mx[0], mm)
	}
	t.VEXTRACTF128(operand.U8(1), mm.AsY(), tz.AsX())
	t.VMAXPS(tz.AsX(), mm.AsX(), mm.AsX())
	t.VPERMILPS(operand.U8(0x4e), mm.AsX(), tz.AsX())
	t.VMAXPS(tz.AsX(), mm.AsX(), mm.AsX())
	t.VPERMILPS(operand.U8(0xb1), mm.AsX(), tz.AsX())
	t.VMAXPS(tz.AsX(), mm.AsX(), mm.AsX())
	t.Store(mm.AsX(), t.Return("m"))
	if t.avx512 {
		t.KORTESTW(nanAcc.k, nanAcc.k)
	} else {
		t.VTESTPS(nanAcc.v, nanAcc.v)
	}
	t.SETNE(reg.AL)
	t.Store(reg.AL, t.Return("nan"))
	t.end()
}

// genFence emits storeFence: SFENCE, which orders the non-temporal stores
// of earlier steps before every later store.
func genFence(t *tier) {
	t.begin("storeFence", "func()", "orders earlier non-temporal stores before later stores (SFENCE).")
	t.SFENCE()
	t.RET()
}
