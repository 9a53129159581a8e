package main

import (
	"fmt"

	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The float32 GEMM micro-kernels of internal/gemm.
//
// Both tiers multiply the same packed layouts (A in panels of 6 rows, B in
// panels of 16 columns, k steps consecutive) and give every element of C
// the same operations: a chain of fused multiply-adds over p ascending
// from zero, then the product by alpha, then, when accumulating, one fused
// multiply-add with beta·C. A tier's tile is na A panels by nb B panels:
// AVX2 one by one (6×16 in twelve YMM accumulators), AVX-512 two by two
// (12×32 in 24 ZMM accumulators), so the AVX-512 kernel does the work of
// four AVX2 calls in one.

const (
	gemmMR = 6  // rows of a packed A panel
	gemmNR = 16 // columns of a packed B panel
)

// gemmShape is a tier's micro-tile.
type gemmShape struct {
	na, nb int // A panels and B panels per tile
	nbc    int // broadcast registers, used in turn
}

func (t *tier) gemmShape() gemmShape {
	if t.avx512 {
		return gemmShape{na: 2, nb: 2, nbc: 4}
	}
	return gemmShape{na: 1, nb: 1, nbc: 1}
}

// genGemm emits the kernels of internal/gemm for one tier.
func genGemm(t *tier) {
	genGemmKernel(t)
	if !t.avx512 {
		// The AVX-512 tier packs with these too.
		genPackB16N(t)
		genPackB16T(t)
		genPackA6N(t)
		genPackA6T(t)
	}
}

// gemmRegs hands out the vector registers of the micro-kernel in order,
// leaving register 15 alone (X15 is the zero register of Go's internal
// ABI).
type gemmRegs struct {
	t    *tier
	next int
}

func (r *gemmRegs) get() reg.VecPhysical {
	if r.next == 15 {
		r.next++
	}
	v := r.t.v(r.next)
	r.next++
	return v
}

// genGemmKernel emits the micro-kernel of the tier's shape.
func genGemmKernel(t *tier) {
	s := t.gemmShape()
	vpb := gemmNR / t.lanes32() // vectors per B panel row
	rows, cols := s.na*gemmMR, s.nb*gemmNR
	nv := s.nb * vpb // vectors per tile row
	name := fmt.Sprintf("kern%dx%d", rows, cols)
	var sig string
	if s.na == 1 && s.nb == 1 {
		sig = "func(k int, a, b, c *float32, ldc int, alpha, beta float32, accum bool, pf *float32)"
	} else {
		sig = "func(k int, a0, a1, b0, b1, c *float32, ldc int, alpha, beta float32, accum bool, pf0, pf1 *float32)"
	}
	t.begin(name, sig, fmt.Sprintf("is the %d×%d micro-kernel: with acc[i][j] the sum of the k products of", rows, cols),
		"row i of the packed A panels and column j of the packed B panels (one fused",
		"multiply-add per term, p ascending, from zero), it stores alpha·acc + beta·c",
		"(the product by alpha rounded, then one fused multiply-add) when accum,",
		"else alpha·acc (c is not read), to c[i·ldc+j]. k ≥ 1. The C tile is",
		"prefetched at the start, and one cache line from pf onwards every four k",
		"steps (the caller points pf at the B panel of its next call).")

	r := &gemmRegs{t: t}
	bv := make([]reg.VecPhysical, nv)
	for j := range bv {
		bv[j] = r.get()
	}
	bc := make([]reg.VecPhysical, s.nbc)
	for j := range bc {
		bc[j] = r.get()
	}
	acc := make([][]reg.VecPhysical, rows)
	for i := range acc {
		acc[i] = make([]reg.VecPhysical, nv)
		for j := range acc[i] {
			acc[i][j] = r.get()
		}
	}

	// Pointers: SI (A panel 0) and SI+R12 (panel 1), DI (B panel 0) and
	// DI+R13 (panel 1), DX (C), BX (ldc in bytes), R11 and R11+R10 (the
	// prefetched B panels), CX and AX (counters).
	k, ap, bp, cp, ldc, pf, pfd := reg.RCX, reg.RSI, reg.RDI, reg.RDX, reg.RBX, reg.R11, reg.R10
	t.Load(t.Param("k"), k)
	if s.na == 1 {
		t.Load(t.Param("a"), ap)
		t.Load(t.Param("b"), bp)
		t.Load(t.Param("pf"), pf)
	} else {
		t.Load(t.Param("a0"), ap)
		t.Load(t.Param("a1"), reg.R12)
		t.SUBQ(ap, reg.R12)
		t.Load(t.Param("b0"), bp)
		t.Load(t.Param("b1"), reg.R13)
		t.SUBQ(bp, reg.R13)
		t.Load(t.Param("pf0"), pf)
		t.Load(t.Param("pf1"), pfd)
		t.SUBQ(pf, pfd)
	}
	t.Load(t.Param("c"), cp)
	t.Load(t.Param("ldc"), ldc)
	t.SHLQ(operand.U8(2), ldc)

	// Bring the C tile towards L1 while the products are computed.
	rowBytes := 4 * cols
	t.MOVQ(cp, reg.R8)
	for i := 0; i < rows; i++ {
		if i > 0 {
			t.ADDQ(ldc, reg.R8)
		}
		for off := 0; off < rowBytes-4; off += 64 {
			t.PREFETCHT0(at(reg.R8, off))
		}
		t.PREFETCHT0(at(reg.R8, rowBytes-4))
	}

	for i := range acc {
		for _, a := range acc[i] {
			if t.avx512 {
				t.VPXORD(a, a, a)
			} else {
				t.VXORPS(a, a, a)
			}
		}
	}

	// aMem and bMem address A value r of panel q, B vector j, at the
	// step offsets ao and bo.
	aMem := func(q, r, ao int) operand.Mem {
		m := at(ap, ao+4*r)
		if q == 1 {
			m.Index, m.Scale = reg.R12, 1
		}
		return m
	}
	bMem := func(j, bo int) operand.Mem {
		q, v := j/vpb, j%vpb
		m := at(bp, bo+v*t.vbytes)
		if q == 1 {
			m.Index, m.Scale = reg.R13, 1
		}
		return m
	}
	kstep := func(ao, bo int) {
		for j := range bv {
			t.VMOVUPS(bMem(j, bo), bv[j])
		}
		for i := range acc {
			b := bc[i%s.nbc]
			t.VBROADCASTSS(aMem(i/gemmMR, i%gemmMR, ao), b)
			for j := range bv {
				t.VFMADD231PS(bv[j], b, acc[i][j])
			}
		}
	}

	kN, k1, k1loop, done, beta := t.label("kN"), t.label("k1"), t.label("k1loop"), t.label("done"), t.label("beta")
	t.MOVQ(k, reg.RAX)
	t.SHRQ(operand.U8(2), reg.RAX)
	t.ANDQ(operand.U8(3), k)
	t.TESTQ(reg.RAX, reg.RAX)
	t.JZ(operand.LabelRef(k1))
	t.Label(kN)
	t.PREFETCHT0(at(pf, 0))
	if s.nb == 2 {
		t.PREFETCHT0(operand.Mem{Base: pf, Index: pfd, Scale: 1})
	}
	t.ADDQ(operand.U8(64), pf)
	for u := 0; u < 4; u++ {
		kstep(u*4*gemmMR, u*4*gemmNR)
	}
	t.ADDQ(operand.U8(4*4*gemmMR), ap)
	t.ADDQ(operand.U32(4*4*gemmNR), bp)
	t.DECQ(reg.RAX)
	t.JNZ(operand.LabelRef(kN))

	t.Label(k1)
	t.TESTQ(k, k)
	t.JZ(operand.LabelRef(done))
	t.Label(k1loop)
	kstep(0, 0)
	t.ADDQ(operand.U8(4*gemmMR), ap)
	t.ADDQ(operand.U8(4*gemmNR), bp)
	t.DECQ(k)
	t.JNZ(operand.LabelRef(k1loop))

	t.Label(done)
	alpha := bv[0]
	t.VBROADCASTSS(t.arg("alpha"), alpha)
	for i := range acc {
		for _, a := range acc[i] {
			t.VMULPS(alpha, a, a)
		}
	}
	t.MOVQ(cp, reg.R8)
	t.MOVBLZX(t.arg("accum"), reg.EAX)
	t.TESTQ(reg.RAX, reg.RAX)
	t.JNZ(operand.LabelRef(beta))
	storeRows := func() {
		for i := range acc {
			if i > 0 {
				t.ADDQ(ldc, reg.R8)
			}
			for j, a := range acc[i] {
				t.VMOVUPS(a, at(reg.R8, j*t.vbytes))
			}
		}
		t.end()
	}
	storeRows()

	t.Label(beta)
	// All loads of C before any store: rows ldc apart may alias (4 KiB
	// strides), and a load behind a store to an aliasing address waits.
	bt := bv[len(bv)-1]
	t.VBROADCASTSS(t.arg("beta"), bt)
	t.LEAQ(operand.Mem{Base: ldc, Index: ldc, Scale: 2}, reg.R9)
	bases := []reg.GPPhysical{cp, reg.R8, reg.R10}
	for g := 1; g*4 < rows; g++ {
		t.LEAQ(operand.Mem{Base: bases[g-1], Index: ldc, Scale: 4}, bases[g])
	}
	for i := range acc {
		m := at(bases[i/4], 0)
		switch i % 4 {
		case 1:
			m.Index, m.Scale = ldc, 1
		case 2:
			m.Index, m.Scale = ldc, 2
		case 3:
			m.Index, m.Scale = reg.R9, 1
		}
		for j, a := range acc[i] {
			t.VFMADD231PS(m.Offset(j*t.vbytes), bt, a)
		}
	}
	t.MOVQ(cp, reg.R8)
	storeRows()
}

// ---------------------------------------------------------------------
// Packing of whole panels, AVX2 (the AVX-512 tier uses them too). Edge
// panels (fewer than 6 rows or 16 columns) and the k steps left over by
// the 4-step transposes are packed in Go. None reads outside the rows
// [p0, p0+kc) of the source rows or columns it packs.

// genPackB16N emits packB16N: np ≤ 4 panels of B stored k×n.
func genPackB16N(t *tier) {
	t.begin("packB16N", "func(dst, src *float32, ld, kc, np, stride int)",
		"packs np ≤ 4 panels: dst[q·stride+16p+j] = src[p·ld+16q+j] for p < kc,",
		"q < np, j < 16. Each source row is read once, contiguously, and the same",
		"256 bytes twelve rows ahead are prefetched (rows ld·4 bytes apart are",
		"on different pages, where the hardware prefetcher does not follow).")
	dst, src, ld, kc, np, stride := reg.RDI, reg.RSI, reg.RBX, reg.RCX, reg.R8, reg.R9
	t.Load(t.Param("dst"), dst)
	t.Load(t.Param("src"), src)
	t.Load(t.Param("ld"), ld)
	t.SHLQ(operand.U8(2), ld)
	t.Load(t.Param("kc"), kc)
	t.Load(t.Param("np"), np)
	t.Load(t.Param("stride"), stride)
	t.SHLQ(operand.U8(2), stride)
	t.LEAQ(operand.Mem{Base: ld, Index: ld, Scale: 2}, reg.R12)
	t.SHLQ(operand.U8(2), reg.R12) // 12 rows ahead
	row, panel, done := t.label("row"), t.label("panel"), t.label("done")
	t.TESTQ(kc, kc)
	t.JZ(operand.LabelRef(done))
	t.TESTQ(np, np)
	t.JZ(operand.LabelRef(done))
	t.Label(row)
	t.MOVQ(src, reg.R10)
	t.MOVQ(dst, reg.R11)
	t.MOVQ(np, reg.RDX)
	for off := 0; off < 256; off += 64 {
		t.PREFETCHT0(operand.Mem{Base: src, Index: reg.R12, Scale: 1, Disp: off})
	}
	t.Label(panel)
	t.VMOVUPS(at(reg.R10, 0), reg.Y0)
	t.VMOVUPS(at(reg.R10, 32), reg.Y1)
	t.VMOVUPS(reg.Y0, at(reg.R11, 0))
	t.VMOVUPS(reg.Y1, at(reg.R11, 32))
	t.ADDQ(operand.U8(64), reg.R10)
	t.ADDQ(stride, reg.R11)
	t.DECQ(reg.RDX)
	t.JNZ(operand.LabelRef(panel))
	t.ADDQ(ld, src)
	t.ADDQ(operand.U8(64), dst)
	t.DECQ(kc)
	t.JNZ(operand.LabelRef(row))
	t.Label(done)
	t.end()
}

// trans4x8 transposes, in each 128-bit lane, the 4×4 blocks of Y0..Y3
// (lane rows) into Y8..Y11: Y(8+q) holds element q of Y0, Y1, Y2, Y3 in
// each lane. Uses Y4..Y7.
func (t *tier) trans4x8() {
	t.VUNPCKLPS(reg.Y1, reg.Y0, reg.Y4)
	t.VUNPCKHPS(reg.Y1, reg.Y0, reg.Y5)
	t.VUNPCKLPS(reg.Y3, reg.Y2, reg.Y6)
	t.VUNPCKHPS(reg.Y3, reg.Y2, reg.Y7)
	t.VSHUFPS(operand.U8(0x44), reg.Y6, reg.Y4, reg.Y8)
	t.VSHUFPS(operand.U8(0xee), reg.Y6, reg.Y4, reg.Y9)
	t.VSHUFPS(operand.U8(0x44), reg.Y7, reg.Y5, reg.Y10)
	t.VSHUFPS(operand.U8(0xee), reg.Y7, reg.Y5, reg.Y11)
}

// load8rows loads 4 steps of 8 rows: Y(r) low lane from row r at base,
// high lane from row r+4 at base4, for r < 4 (BX = ld bytes, R9 = 3·ld).
func (t *tier) load8rows(base, base4 reg.GPPhysical) {
	ys := []reg.VecPhysical{reg.Y0, reg.Y1, reg.Y2, reg.Y3}
	for r, y := range ys {
		m, m4 := at(base, 0), at(base4, 0)
		switch r {
		case 1:
			m.Index, m.Scale, m4.Index, m4.Scale = reg.RBX, 1, reg.RBX, 1
		case 2:
			m.Index, m.Scale, m4.Index, m4.Scale = reg.RBX, 2, reg.RBX, 2
		case 3:
			m.Index, m.Scale, m4.Index, m4.Scale = reg.R9, 1, reg.R9, 1
		}
		t.VMOVUPS(m, y.AsX())
		t.VINSERTF128(operand.U8(1), m4, y, y)
	}
}

// genPackB16T emits packB16T: one panel of B stored n×k.
func genPackB16T(t *tier) {
	t.begin("packB16T", "func(dst, src *float32, ld, kc4 int)",
		"sets dst[16p+j] = src[j·ld+p] for p < 4·kc4, j < 16: sixteen rows of src",
		"become the columns of the panel, four steps at a time.")
	dst, src := reg.RDI, reg.RSI
	t.Load(t.Param("dst"), dst)
	t.Load(t.Param("src"), src)
	t.Load(t.Param("ld"), reg.RBX)
	t.SHLQ(operand.U8(2), reg.RBX)
	t.Load(t.Param("kc4"), reg.RCX)
	t.LEAQ(operand.Mem{Base: reg.RBX, Index: reg.RBX, Scale: 2}, reg.R9)
	t.LEAQ(operand.Mem{Base: src, Index: reg.RBX, Scale: 4}, reg.R10)
	t.LEAQ(operand.Mem{Base: reg.R10, Index: reg.RBX, Scale: 4}, reg.R11)
	t.LEAQ(operand.Mem{Base: reg.R11, Index: reg.RBX, Scale: 4}, reg.R12)
	loop, done := t.label("loop"), t.label("done")
	t.TESTQ(reg.RCX, reg.RCX)
	t.JZ(operand.LabelRef(done))
	t.Label(loop)
	t.load8rows(src, reg.R10)
	t.trans4x8()
	out := []reg.VecPhysical{reg.Y8, reg.Y9, reg.Y10, reg.Y11}
	for q, y := range out {
		t.VMOVUPS(y, at(dst, 64*q))
	}
	t.load8rows(reg.R11, reg.R12)
	t.trans4x8()
	for q, y := range out {
		t.VMOVUPS(y, at(dst, 64*q+32))
	}
	for _, p := range []reg.GPPhysical{src, reg.R10, reg.R11, reg.R12} {
		t.ADDQ(operand.U8(16), p)
	}
	t.ADDQ(operand.U32(256), dst)
	t.DECQ(reg.RCX)
	t.JNZ(operand.LabelRef(loop))
	t.Label(done)
	t.end()
}

// genPackA6N emits packA6N: one panel of A stored m×k.
func genPackA6N(t *tier) {
	t.begin("packA6N", "func(dst, src *float32, ld, kc4 int)",
		"sets dst[6p+i] = src[i·ld+p] for p < 4·kc4, i < 6: six rows of src become",
		"the rows of the panel, four steps at a time.")
	dst, src := reg.RDI, reg.RSI
	t.Load(t.Param("dst"), dst)
	t.Load(t.Param("src"), src)
	t.Load(t.Param("ld"), reg.RBX)
	t.SHLQ(operand.U8(2), reg.RBX)
	t.Load(t.Param("kc4"), reg.RCX)
	t.LEAQ(operand.Mem{Base: reg.RBX, Index: reg.RBX, Scale: 2}, reg.R9)
	t.LEAQ(operand.Mem{Base: src, Index: reg.RBX, Scale: 4}, reg.R10)
	loop, done := t.label("loop"), t.label("done")
	t.TESTQ(reg.RCX, reg.RCX)
	t.JZ(operand.LabelRef(done))
	t.Label(loop)
	t.VMOVUPS(at(src, 0), reg.X0)
	t.VMOVUPS(operand.Mem{Base: src, Index: reg.RBX, Scale: 1}, reg.X1)
	t.VMOVUPS(operand.Mem{Base: src, Index: reg.RBX, Scale: 2}, reg.X2)
	t.VMOVUPS(operand.Mem{Base: src, Index: reg.R9, Scale: 1}, reg.X3)
	t.VMOVUPS(at(reg.R10, 0), reg.X12)
	t.VMOVUPS(operand.Mem{Base: reg.R10, Index: reg.RBX, Scale: 1}, reg.X13)
	// Rows 0..3: a 4×4 transpose; rows 4, 5: interleaved pairs.
	t.VUNPCKLPS(reg.X1, reg.X0, reg.X4)
	t.VUNPCKHPS(reg.X1, reg.X0, reg.X5)
	t.VUNPCKLPS(reg.X3, reg.X2, reg.X6)
	t.VUNPCKHPS(reg.X3, reg.X2, reg.X7)
	t.VSHUFPS(operand.U8(0x44), reg.X6, reg.X4, reg.X8)
	t.VSHUFPS(operand.U8(0xee), reg.X6, reg.X4, reg.X9)
	t.VSHUFPS(operand.U8(0x44), reg.X7, reg.X5, reg.X10)
	t.VSHUFPS(operand.U8(0xee), reg.X7, reg.X5, reg.X11)
	t.VUNPCKLPS(reg.X13, reg.X12, reg.X14)
	t.VUNPCKHPS(reg.X13, reg.X12, reg.X12)
	t.VMOVUPS(reg.X8, at(dst, 0))
	t.VMOVLPS(reg.X14, at(dst, 16))
	t.VMOVUPS(reg.X9, at(dst, 24))
	t.VMOVHPS(reg.X14, at(dst, 40))
	t.VMOVUPS(reg.X10, at(dst, 48))
	t.VMOVLPS(reg.X12, at(dst, 64))
	t.VMOVUPS(reg.X11, at(dst, 72))
	t.VMOVHPS(reg.X12, at(dst, 88))
	t.ADDQ(operand.U8(16), src)
	t.ADDQ(operand.U8(16), reg.R10)
	t.ADDQ(operand.U8(96), dst)
	t.DECQ(reg.RCX)
	t.JNZ(operand.LabelRef(loop))
	t.Label(done)
	t.end()
}

// genPackA6T emits packA6T: np ≤ 4 panels of A stored k×m.
func genPackA6T(t *tier) {
	t.begin("packA6T", "func(dst, src *float32, ld, kc, np, stride int)",
		"packs np ≤ 4 panels: dst[q·stride+6p+i] = src[p·ld+6q+i] for p < kc,",
		"q < np, i < 6. Each source row is read once, contiguously, and the same",
		"96 bytes twelve rows ahead are prefetched.")
	dst, src, ld, kc, np, stride := reg.RDI, reg.RSI, reg.RBX, reg.RCX, reg.R8, reg.R9
	t.Load(t.Param("dst"), dst)
	t.Load(t.Param("src"), src)
	t.Load(t.Param("ld"), ld)
	t.SHLQ(operand.U8(2), ld)
	t.Load(t.Param("kc"), kc)
	t.Load(t.Param("np"), np)
	t.Load(t.Param("stride"), stride)
	t.SHLQ(operand.U8(2), stride)
	t.LEAQ(operand.Mem{Base: ld, Index: ld, Scale: 2}, reg.R12)
	t.SHLQ(operand.U8(2), reg.R12)
	row, panel, done := t.label("row"), t.label("panel"), t.label("done")
	t.TESTQ(kc, kc)
	t.JZ(operand.LabelRef(done))
	t.TESTQ(np, np)
	t.JZ(operand.LabelRef(done))
	t.Label(row)
	t.MOVQ(src, reg.R10)
	t.MOVQ(dst, reg.R11)
	t.MOVQ(np, reg.RDX)
	for _, off := range []int{0, 48, 95} {
		t.PREFETCHT0(operand.Mem{Base: src, Index: reg.R12, Scale: 1, Disp: off})
	}
	t.Label(panel)
	t.VMOVUPS(at(reg.R10, 0), reg.X0)
	t.VMOVSD(at(reg.R10, 16), reg.X1)
	t.VMOVUPS(reg.X0, at(reg.R11, 0))
	t.VMOVSD(reg.X1, at(reg.R11, 16))
	t.ADDQ(operand.U8(24), reg.R10)
	t.ADDQ(stride, reg.R11)
	t.DECQ(reg.RDX)
	t.JNZ(operand.LabelRef(panel))
	t.ADDQ(ld, src)
	t.ADDQ(operand.U8(24), dst)
	t.DECQ(kc)
	t.JNZ(operand.LabelRef(row))
	t.Label(done)
	t.end()
}
