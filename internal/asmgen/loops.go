package main

import (
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The reduction shape of every float32 sum (internal/vek's twin follows
// it exactly): 16 logical lanes, element i in lane i mod 16; blocks of 64
// elements, each lane adding its block's four terms as (v0 + v1) +
// (v2 + v3) in float32 (zeros past the end of the data) into a float32
// lane accumulator; after every fourth block and at the end, the float32
// lanes are added into 16 float64 lanes and cleared; at the end the
// float64 lanes are added pairwise, lane l with lane l+8, then l+4, l+2,
// l+1. AVX-512 holds the 16 lanes in one register, AVX2 in two ("parts").

const (
	blockElems32 = 64
	flushBlocks  = 4
)

// acc32 holds a float32 reduction's accumulators.
type acc32 struct {
	f   []reg.VecPhysical // float32 lane accumulators, one per part
	d   []reg.VecPhysical // AVX-512: float64 lanes 0–7 and 8–15
	mem operand.Mem       // AVX2: four 32-byte float64 lane groups in the frame
	tmp reg.VecPhysical   // scratch for flush and hsum
}

// parts is the number of registers one 16-lane group takes.
func (t *tier) parts() int { return 64 / t.vbytes }

// newAcc32 zeroes a reduction's accumulators.
func (t *tier) newAcc32(f []reg.VecPhysical, d []reg.VecPhysical, tmp reg.VecPhysical) acc32 {
	a := acc32{f: f, d: d, tmp: tmp}
	for _, r := range f {
		t.VXORPS(r, r, r)
	}
	if t.avx512 {
		for _, r := range d {
			t.VXORPS(r, r, r)
		}
	} else {
		a.mem = t.AllocLocal(128)
		t.VXORPS(tmp, tmp, tmp)
		for i := 0; i < 4; i++ {
			t.VMOVUPD(tmp, a.mem.Offset(32*i))
		}
	}
	return a
}

// flush adds the float32 lanes into the float64 lanes and clears them.
func (t *tier) flush(a acc32) {
	if t.avx512 {
		f := a.f[0]
		t.VCVTPS2PD(f.AsY(), a.tmp)
		t.VADDPD(a.tmp, a.d[0], a.d[0])
		t.VEXTRACTF64X4(operand.U8(1), f, a.tmp.AsY())
		t.VCVTPS2PD(a.tmp.AsY(), a.tmp)
		t.VADDPD(a.tmp, a.d[1], a.d[1])
		t.VXORPS(f, f, f)
		return
	}
	for h, f := range a.f {
		t.VCVTPS2PD(f.AsX(), a.tmp)
		t.VADDPD(a.mem.Offset(64*h), a.tmp, a.tmp)
		t.VMOVUPD(a.tmp, a.mem.Offset(64*h))
		t.VEXTRACTF128(operand.U8(1), f, a.tmp.AsX())
		t.VCVTPS2PD(a.tmp.AsX(), a.tmp)
		t.VADDPD(a.mem.Offset(64*h+32), a.tmp, a.tmp)
		t.VMOVUPD(a.tmp, a.mem.Offset(64*h+32))
		t.VXORPS(f, f, f)
	}
}

// hsum adds the 16 float64 lanes in the fixed tree; the result is in the
// low lane of the returned X register.
func (t *tier) hsum(a acc32, b reg.VecPhysical) reg.Register {
	var x reg.VecPhysical
	if t.avx512 {
		x = a.d[0]
		t.VADDPD(a.d[1], x, x)                         // l + l+8
		t.VEXTRACTF64X4(operand.U8(1), x, a.tmp.AsY()) // lanes 4..7
		t.VADDPD(a.tmp.AsY(), x.AsY(), x.AsY())        // l + l+4
	} else {
		x = a.tmp
		t.VMOVUPD(a.mem, x)
		t.VADDPD(a.mem.Offset(64), x, x) // lanes 0–3 + 8–11
		t.VMOVUPD(a.mem.Offset(32), b)
		t.VADDPD(a.mem.Offset(96), b, b) // lanes 4–7 + 12–15
		t.VADDPD(b, x, x)                // l + l+4
	}
	t.VEXTRACTF128(operand.U8(1), x.AsY(), b.AsX())
	t.VADDPD(b.AsX(), x.AsX(), x.AsX()) // l + l+2
	t.VPERMILPD(operand.U8(1), x.AsX(), b.AsX())
	t.VADDSD(b.AsX(), x.AsX(), x.AsX()) // l + l+1
	return x.AsX()
}

// reduceLoop32 emits the block loop of a float32 reduction over cnt
// elements: block(false) for every whole block, block(true) for the last
// partial one (cnt then holds 1..63), a flush after every fourth block
// and at the end. ptrs advance by a block's bytes (elemBytes per element)
// after each whole block; blk counts blocks (clobbered).
func (t *tier) reduceLoop32(cnt, blk reg.GPPhysical, ptrs []reg.GPPhysical, a acc32, block func(masked bool)) {
	t.reduceLoop(cnt, blk, ptrs, 4, func(masked bool) { block(masked) }, func() { t.flush(a) })
}

// reduceLoop is reduceLoop32 with any element size and flush action.
func (t *tier) reduceLoop(cnt, blk reg.GPPhysical, ptrs []reg.GPPhysical, elemBytes int, block func(masked bool), flush func()) {
	top := t.label("block")
	tail := t.label("tail")
	done := t.label("done")
	t.XORQ(blk, blk)
	t.Label(top)
	t.CMPQ(cnt, imm(blockElems32))
	t.JB(operand.LabelRef(tail))
	block(false)
	for _, p := range ptrs {
		t.ADDQ(imm(blockElems32*uint64(elemBytes)), p)
	}
	t.SUBQ(imm(blockElems32), cnt)
	t.INCQ(blk)
	t.TESTQ(imm32(flushBlocks-1), blk)
	t.JNZ(operand.LabelRef(top))
	flush()
	t.JMP(operand.LabelRef(top))
	t.Label(tail)
	t.TESTQ(cnt, cnt)
	t.JZ(operand.LabelRef(done))
	block(true)
	t.Label(done)
	flush()
}

// mapLoop emits an elementwise loop over cnt elements of elemBytes each:
// body(j, off, m) emits the operations for the vector at byte offset off
// from every pointer, using register set j (0..unroll−1); m is nil for a
// whole vector and the tail mask for the last partial one. ptrs advance
// after each step. tmp is a scratch register; the tail mask is built in
// tm.
func (t *tier) mapLoop(cnt, tmp reg.GPPhysical, ptrs []reg.GPPhysical, elemBytes, unroll int, tm mask, body func(j, off int, m *mask)) {
	lanes := t.vbytes / elemBytes
	bigL := t.label("big")
	oneL := t.label("one")
	tailL := t.label("tail")
	doneL := t.label("done")
	t.Label(bigL)
	t.CMPQ(cnt, imm(uint64(lanes*unroll)))
	t.JB(operand.LabelRef(oneL))
	for j := 0; j < unroll; j++ {
		body(j, j*t.vbytes, nil)
	}
	for _, p := range ptrs {
		t.ADDQ(imm(uint64(t.vbytes*unroll)), p)
	}
	t.SUBQ(imm(uint64(lanes*unroll)), cnt)
	t.JMP(operand.LabelRef(bigL))
	t.Label(oneL)
	t.CMPQ(cnt, imm(uint64(lanes)))
	t.JB(operand.LabelRef(tailL))
	body(0, 0, nil)
	for _, p := range ptrs {
		t.ADDQ(imm(uint64(t.vbytes)), p)
	}
	t.SUBQ(imm(uint64(lanes)), cnt)
	t.JMP(operand.LabelRef(oneL))
	t.Label(tailL)
	t.TESTQ(cnt, cnt)
	t.JZ(operand.LabelRef(doneL))
	t.tailMask(cnt, tmp, elemBytes, tm)
	body(0, 0, &tm)
	t.Label(doneL)
}

// groupOffset is the byte offset, within a 64-element float32 block, of
// the register holding lanes [8h, 8h+8) (AVX2) or all lanes (AVX-512) of
// group g.
func (t *tier) groupOffset(g, h int) int {
	return 64*g + t.vbytes*h
}

// blockTailMask sets m to the lanes of group g, part h, that lie within
// the cnt remaining elements of a partial block. Clobbers c1, c2.
func (t *tier) blockTailMask(cnt, c1, c2 reg.GPPhysical, g, h, elemBytes int, m mask) {
	lanes := t.vbytes / elemBytes
	first := g*(64/elemBytes) + h*lanes // 16 float32 or 8 float64 lanes per group
	t.clampCount(cnt, c1, c2, first, lanes)
	t.tailMask(c1, c2, elemBytes, m)
}
