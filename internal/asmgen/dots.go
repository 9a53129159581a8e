package main

import (
	"fmt"

	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// ---------------------------------------------------------------------
// Rows against rows: the two products of attention decoding, reading the
// key and value rows where they lie (no packing).
//
// dots4: four dot products per key row. Each product runs in the
// 16-lane shape: element i of the row goes to lane i mod 16, the lanes
// accumulate q_i·k_i fused, chunk after chunk (zeros past the end of the
// row), and the lanes are then added pairwise in float32 (l + l+8, l+4,
// l+2, l+1); the sum is multiplied by scale. AVX-512 holds the 16 lanes
// in one register, AVX2 in two.
//
// axpy2: for two output rows, o_r += p_rj·v_j for every key j in order,
// fused, keys with weight ±0 skipped: per element the same operations
// as a sequence of axpy32 calls.

// rowsPrefetch is how far ahead (bytes) dots4 and axpy2 prefetch the rows
// they stream: 16 KiB, one turn of attention decoding's pipelined loop
// (32 rows of a 128-float head), so that each pass brings in the rows of
// its next turn while the other pass runs. Against 2 KiB it made
// decoding 8–9% faster on one and two threads (Zen 5; 1, 4, 8, 24 and
// 32 KiB were slower than 16).
const rowsPrefetch = 16384

// dotsRows is the number of query rows dots4 takes at once.
const dotsRows = 4

func genDots32(t *tier) {
	t.begin("dots4", "func(d0, d1, d2, d3, q0, q1, q2, q3, k *float32, n, d int, scale float32)",
		"sets dr[j] = scale·Σ_i qr[i]·k[j·d + i] for r < 4, j < n, each sum in the",
		"16-lane shape (fused lane products, then a pairwise float32 tree). Rows are",
		"stored in order, so a later row may repeat an earlier one.")
	// GP registers: the tail mask is built first, while they are free.
	d := t.Load(t.Param("d"), reg.RCX).(reg.GPPhysical)
	r := &regs{t: t}
	parts := t.parts()
	var tm []mask
	if t.avx512 {
		tm = []mask{{k: reg.K1}}
	} else {
		tm = []mask{{v: r.get()}, {v: r.get()}}
	}
	// d mod 16 lanes in the tail; dfull = bytes of the whole chunks.
	dfull, dbytes := reg.R8, reg.R9
	t.MOVQ(d, dfull)
	t.ANDQ(imm32(^uint64(15)), dfull)
	t.SHLQ(imm(2), dfull)
	t.MOVQ(d, dbytes)
	t.SHLQ(imm(2), dbytes)
	t.ANDQ(imm(15), d)
	lanes := t.vbytes / 4
	for h := 0; h < parts; h++ {
		t.clampCount(d, reg.RAX, reg.RDX, h*lanes, lanes)
		t.tailMask(reg.RAX, reg.RDX, 4, tm[h])
	}
	q := []reg.GPPhysical{reg.RSI, reg.RDI, reg.R10, reg.R11}
	for i := range q {
		t.Load(t.Param(fmt.Sprintf("q%d", i)), q[i])
	}
	k, n, joff := reg.RDX, reg.RCX, reg.R13
	t.Load(t.Param("k"), k)
	t.Load(t.Param("n"), n)
	t.XORQ(joff, joff)
	idx, tmpg := reg.RAX, reg.RBX

	acc := make([][]reg.VecPhysical, dotsRows)
	for i := range acc {
		acc[i] = r.getN(parts)
	}
	kv := r.getN(parts)
	tmp := r.getN(parts)
	scale := r.get()
	t.VMOVSS(t.arg("scale"), scale.AsX())

	keyL, chunkL, tailL, sumL, doneL := t.label("key"), t.label("chunk"), t.label("tail"), t.label("sum"), t.label("done")
	t.Label(keyL)
	t.TESTQ(n, n)
	t.JZ(operand.LabelRef(doneL))
	for _, a := range acc {
		for _, x := range a {
			t.VXORPS(x, x, x)
		}
	}
	t.XORQ(idx, idx)
	t.Label(chunkL)
	t.CMPQ(idx, dfull)
	t.JAE(operand.LabelRef(tailL))
	t.PREFETCHT0(operand.Mem{Base: k, Index: idx, Scale: 1, Disp: rowsPrefetch})
	for h := 0; h < parts; h++ {
		t.VMOVUPS(operand.Mem{Base: k, Index: idx, Scale: 1, Disp: h * t.vbytes}, kv[h])
	}
	for i := range dotsRows {
		for h := 0; h < parts; h++ {
			t.VFMADD231PS(operand.Mem{Base: q[i], Index: idx, Scale: 1, Disp: h * t.vbytes}, kv[h], acc[i][h])
		}
	}
	t.ADDQ(imm(64), idx)
	t.JMP(operand.LabelRef(chunkL))

	t.Label(tailL)
	t.CMPQ(idx, dbytes)
	t.JE(operand.LabelRef(sumL))
	for h := 0; h < parts; h++ {
		t.loadMasked(operand.Mem{Base: k, Index: idx, Scale: 1, Disp: h * t.vbytes}, tm[h], kv[h])
	}
	for i := range dotsRows {
		for h := 0; h < parts; h++ {
			t.loadMasked(operand.Mem{Base: q[i], Index: idx, Scale: 1, Disp: h * t.vbytes}, tm[h], tmp[h])
			t.VFMADD231PS(tmp[h], kv[h], acc[i][h])
		}
	}

	t.Label(sumL)
	for i := range dotsRows {
		x := t.hsum16(acc[i], tmp[0])
		t.VMULSS(scale.AsX(), x, x)
		t.MOVQ(t.arg(fmt.Sprintf("d%d", i)), tmpg)
		t.VMOVSS(x, operand.Mem{Base: tmpg, Index: joff, Scale: 1})
	}
	t.ADDQ(imm(4), joff)
	t.ADDQ(dbytes, k)
	t.DECQ(n)
	t.JMP(operand.LabelRef(keyL))
	t.Label(doneL)
	t.end()
}

// hsum16 adds the 16 float32 lanes of a (one register, or two parts) in
// the pairwise tree l + l+8, l+4, l+2, l+1; the sum is in the low lane of
// the returned X register (a's first register), tmp is clobbered.
func (t *tier) hsum16(a []reg.VecPhysical, tmp reg.VecPhysical) reg.Register {
	x := a[0]
	if t.avx512 {
		t.VEXTRACTF64X4(operand.U8(1), x, tmp.AsY())
		t.VADDPS(tmp.AsY(), x.AsY(), x.AsY()) // l + l+8
	} else {
		t.VADDPS(a[1], x, x) // l + l+8
	}
	t.VEXTRACTF128(operand.U8(1), x.AsY(), tmp.AsX())
	t.VADDPS(tmp.AsX(), x.AsX(), x.AsX()) // l + l+4
	t.VMOVHLPS(x.AsX(), x.AsX(), tmp.AsX())
	t.VADDPS(tmp.AsX(), x.AsX(), x.AsX()) // l + l+2
	t.VMOVSHDUP(x.AsX(), tmp.AsX())
	t.VADDSS(tmp.AsX(), x.AsX(), x.AsX()) // l + l+1
	return x.AsX()
}

func genAxpy2(t *tier) {
	t.begin("axpy2", "func(o0, o1, p0, p1, v *float32, n, dv int)",
		"sets o_r[c] = p_r[j]·v[j·dv + c] + o_r[c], fused, for r < 2, every c < dv and",
		"j = 0, 1, …, n−1 in order, skipping the keys whose weight p_r[j] is ±0. Row 1 is",
		"stored after row 0, so o1 may be o0 when p0 is all zeros.")
	o := []reg.GPPhysical{t.Load(t.Param("o0"), reg.RSI).(reg.GPPhysical), t.Load(t.Param("o1"), reg.RDI).(reg.GPPhysical)}
	p := []reg.GPPhysical{t.Load(t.Param("p0"), reg.R8).(reg.GPPhysical), t.Load(t.Param("p1"), reg.R9).(reg.GPPhysical)}
	v := t.Load(t.Param("v"), reg.R10).(reg.GPPhysical)
	n := t.Load(t.Param("n"), reg.R11).(reg.GPPhysical)
	dv := t.Load(t.Param("dv"), reg.R12).(reg.GPPhysical)
	col, vp, j, tmp, rem := reg.R13, reg.RBX, reg.RAX, reg.RCX, reg.RDX
	// Vectors per row in a wide column block: AVX-512 takes 128 columns
	// (a whole row of V for the common head sizes, read in order), AVX2
	// 32 (its 15 registers).
	wide := 4
	if t.avx512 {
		wide = 8
	}
	lanes := t.vbytes / 4
	r := &regs{t: t}
	acc := [][]reg.VecPhysical{r.getN(wide), r.getN(wide)}
	vv := r.getN(wide)
	a := r.get()
	tm := t.tailMaskReg(r)

	// One key loop over the column block at byte offset col, nv vectors
	// per row (m: the mask of a partial single vector).
	keys := func(nv int, m *mask) {
		for i := range 2 {
			for h := 0; h < nv; h++ {
				t.load32(operand.Mem{Base: o[i], Index: col, Scale: 1, Disp: h * t.vbytes}, m, acc[i][h])
			}
		}
		loopL, nextL := t.label("keys"), t.label("keysdone")
		t.LEAQ(operand.Mem{Base: v, Index: col, Scale: 1}, vp)
		t.XORQ(j, j)
		t.Label(loopL)
		t.CMPQ(j, n)
		t.JAE(operand.LabelRef(nextL))
		for h := 0; h < nv; h++ {
			if m == nil && (h*t.vbytes)%64 == 0 {
				t.PREFETCHT0(operand.Mem{Base: vp, Disp: h*t.vbytes + rowsPrefetch})
			}
			t.load32(operand.Mem{Base: vp, Disp: h * t.vbytes}, m, vv[h])
		}
		for i := range 2 {
			skip := t.label("skip")
			w := operand.Mem{Base: p[i], Index: j, Scale: 4}
			t.MOVL(w, tmp.As32())
			t.TESTL(imm32(0x7fffffff), tmp.As32())
			t.JZ(operand.LabelRef(skip))
			t.VBROADCASTSS(w, a)
			for h := 0; h < nv; h++ {
				t.VFMADD231PS(vv[h], a, acc[i][h])
			}
			t.Label(skip)
		}
		t.ADDQ(dv, vp)
		t.INCQ(j)
		t.JMP(operand.LabelRef(loopL))
		t.Label(nextL)
		for i := range 2 {
			for h := 0; h < nv; h++ {
				t.store32(acc[i][h], m, operand.Mem{Base: o[i], Index: col, Scale: 1, Disp: h * t.vbytes})
			}
		}
	}

	// rem counts the columns left; dv becomes the row stride in bytes.
	t.MOVQ(dv, rem)
	t.SHLQ(imm(2), dv)
	t.XORQ(col, col)
	wideL, oneL, doneL := t.label("wide"), t.label("one"), t.label("done")
	t.Label(wideL)
	t.CMPQ(rem, imm(wide*lanes))
	t.JB(operand.LabelRef(oneL))
	keys(wide, nil)
	t.ADDQ(imm(wide*t.vbytes), col)
	t.SUBQ(imm(wide*lanes), rem)
	t.JMP(operand.LabelRef(wideL))
	t.Label(oneL)
	t.TESTQ(rem, rem)
	t.JZ(operand.LabelRef(doneL))
	// One vector at a time, masked to the columns left (all lanes while
	// a whole vector remains).
	t.clampCount(rem, tmp, j, 0, lanes)
	t.tailMask(tmp, j, 4, tm)
	keys(1, &tm)
	t.ADDQ(imm(t.vbytes), col)
	t.SUBQ(imm(lanes), rem)
	t.JG(operand.LabelRef(oneL))
	t.Label(doneL)
	t.end()
}
