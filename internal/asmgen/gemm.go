package main

import (
	"fmt"

	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The float32 GEMM kernels of internal/gemm, one description for both
// tiers.
//
// Each tier packs op(A) in panels of mr rows and op(B) in panels of nr
// columns, k steps consecutive (A: mr values per step, B: nr values), and
// its micro-tile is mr×nr held in 2·mr accumulators of nr/2 lanes each:
// AVX2 6×16 in twelve YMM registers, AVX-512 12×32 in 24 ZMM registers.
// Every element of C gets the same operations on both tiers: a chain of
// fused multiply-adds over p ascending from zero, then the product by
// alpha, then, when accumulating, one fused multiply-add with beta·C — so
// the tiers give the same bits.

// gemmGeom is a tier's packed layout and micro-tile.
type gemmGeom struct {
	mr, nr int // rows of an A panel, columns of a B panel (two vectors)
}

func (t *tier) gemmGeom() gemmGeom {
	if t.avx512 {
		return gemmGeom{mr: 12, nr: 32}
	}
	return gemmGeom{mr: 6, nr: 16}
}

// genGemm emits the kernels of internal/gemm for one tier.
func genGemm(t *tier) {
	genGemmCol(t, false)
	genGemmCol(t, true)
	genPackAN(t)
	genPackAT(t)
	genPackBN(t)
	genPackBT(t)
}

// gemmRegs hands out vector registers in order, leaving register 15
// alone (X15 is the zero register of Go's internal ABI).
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

func mem(base reg.GPPhysical, index reg.GPPhysical, scale uint8, disp int) operand.Mem {
	return operand.Mem{Base: base, Index: index, Scale: scale, Disp: disp}
}

// gemmCol holds the registers of the column kernel.
type gemmCol struct {
	t      *tier
	g      gemmGeom
	masked bool
	bv     [2]reg.VecPhysical // the B vectors of one k step
	bc     reg.VecPhysical    // the broadcast A value
	acc    [][2]reg.VecPhysical
	km     [2]reg.OpmaskPhysical // AVX-512 column masks
	tail   operand.Mem           // AVX2 column mask table
	pfLeft operand.Mem           // lines left to prefetch
	pfLine operand.Mem           // lines left in the current row
}

// General-purpose registers of the column kernel.
var (
	gcKC    = reg.R8  // kc
	gcA     = reg.RSI // A, walking
	gcABase = reg.R9  // the current A panel
	gcSA    = reg.R10 // A panel stride in bytes
	gcB     = reg.RDI // B, walking
	gcBBase = reg.R11 // the B panel
	gcC     = reg.RDX // the C tile
	gcLDC   = reg.RBX // ldc in bytes
	gcTiles = reg.R12 // full tiles left
	gcPF    = reg.R13 // the prefetch pointer
	gcT0    = reg.RAX // scratch
	gcT1    = reg.RCX
)

// genGemmCol emits the column kernel: one B panel against every A panel
// of a block, each tile's k loop in registers.
func genGemmCol(t *tier, masked bool) {
	g := t.gemmGeom()
	name, sig := "gemmCol", "func(kc int, a *float32, sa, tiles, rest int, b, c *float32, ldc int, alpha, beta float32, accum bool, pf *float32, pfLines, pfStride, pfN int)"
	if masked {
		name, sig = "gemmColMask", "func(kc int, a *float32, sa, tiles, rest int, b, c *float32, ldc, cols int, alpha, beta float32, accum bool, pf *float32, pfLines, pfStride, pfN int)"
	}
	what := fmt.Sprintf("All %d columns of C are written.", g.nr)
	if masked {
		what = fmt.Sprintf("Only the columns j < cols (1 ≤ cols ≤ %d) of C are read or written.", g.nr)
	}
	doc := []string{
		fmt.Sprintf("multiplies the packed B panel b (%d columns, kc steps) by m =", g.nr),
		fmt.Sprintf("%d·tiles + rest rows of packed A at a (panels of %d rows, sa values", g.mr, g.mr),
		fmt.Sprintf("apart; rest < %d), in %d×%d tiles: with acc the sum of the kc products", g.mr, g.mr, g.nr),
		"of a row and a column (one fused multiply-add per term, p ascending,",
		"from zero), it stores alpha·acc + beta·c (the product by alpha rounded,",
		"then one fused multiply-add) when accum, else alpha·acc (c is not",
		"read), to c[i·ldc+j] for i < m. " + what + " kc ≥ 1.",
		"The C rows of the tile after next are prefetched to L2 while a tile is",
		"computed, and, one every four k steps, pfN cache lines: rows of",
		"pfLines lines from pf on, pfStride bytes apart (what the caller packs",
		"next).",
	}
	t.begin(name, sig, doc...)

	col := &gemmCol{t: t, g: g, masked: masked}
	r := &gemmRegs{t: t}
	col.bv[0], col.bv[1] = r.get(), r.get()
	col.bc = r.get()
	col.acc = make([][2]reg.VecPhysical, g.mr)
	for i := range col.acc {
		col.acc[i][0], col.acc[i][1] = r.get(), r.get()
	}

	t.Load(t.Param("kc"), gcKC)
	t.Load(t.Param("a"), gcABase)
	t.Load(t.Param("sa"), gcSA)
	t.SHLQ(operand.U8(2), gcSA)
	t.Load(t.Param("b"), gcBBase)
	t.Load(t.Param("c"), gcC)
	t.Load(t.Param("ldc"), gcLDC)
	t.SHLQ(operand.U8(2), gcLDC)
	t.Load(t.Param("pf"), gcPF)
	col.pfLeft = t.AllocLocal(8)
	col.pfLine = t.AllocLocal(8)
	t.Load(t.Param("pfN"), gcT0)
	t.MOVQ(gcT0, col.pfLeft)
	t.Load(t.Param("pfLines"), gcT0)
	t.MOVQ(gcT0, col.pfLine)
	if masked {
		col.setMasks()
	}
	t.Load(t.Param("tiles"), gcTiles)
	// The first two tiles' C rows; each tile then prefetches those of the
	// tile after next (one tile ahead is too late when C comes from
	// memory).
	col.prefetchC(0)
	col.prefetchC(1)

	full, rest, done := t.label("full"), t.label("rest"), t.label("done")
	t.Label(full)
	t.TESTQ(gcTiles, gcTiles)
	t.JZ(operand.LabelRef(rest))
	col.tile(g.mr, true)
	t.DECQ(gcTiles)
	t.JMP(operand.LabelRef(full))

	// The rows left, fewer than mr: one tile of that many rows.
	t.Label(rest)
	t.Load(t.Param("rest"), gcT1)
	for rows := 1; rows < g.mr; rows++ {
		next := t.label("rows")
		t.CMPQ(gcT1, operand.U8(rows))
		t.JNE(operand.LabelRef(next))
		col.tile(rows, false)
		t.JMP(operand.LabelRef(done))
		t.Label(next)
	}
	t.Label(done)
	t.end()
}

// setMasks builds the column masks from cols: vector 0 holds columns
// 0..nr/2−1, vector 1 the rest.
func (col *gemmCol) setMasks() {
	t := col.t
	if !t.avx512 {
		col.tail = col.tailTable()
		return
	}
	col.km = [2]reg.OpmaskPhysical{reg.K1, reg.K2}
	for v := 0; v < 2; v++ {
		// (1 << count) − 1, shifting by CL (no BMI2 needed).
		col.clampCols(v, gcT0)
		t.MOVQ(gcT0, gcT1)
		t.MOVQ(operand.U32(1), gcT0)
		t.SHLQ(reg.CL, gcT0)
		t.DECQ(gcT0)
		t.KMOVW(gcT0.As32(), col.km[v])
	}
}

// clampCols sets dst = min(max(cols − v·nr/2, 0), nr/2). Clobbers gcT1.
func (col *gemmCol) clampCols(v int, dst reg.GPPhysical) {
	t := col.t
	half := col.g.nr / 2
	t.Load(t.Param("cols"), dst)
	if v > 0 {
		t.SUBQ(operand.U8(half), dst)
	}
	t.XORQ(gcT1, gcT1)
	t.CMPQ(dst, operand.U8(0))
	t.CMOVQLT(gcT1, dst)
	t.MOVQ(operand.U32(uint64(half)), gcT1)
	t.CMPQ(dst, gcT1)
	t.CMOVQGT(gcT1, dst)
}

// tailTable declares the AVX2 column mask table: 8 lanes of all-ones,
// then 8 of zeros; the 32 bytes at 32 − 4c enable the first c lanes.
func (col *gemmCol) tailTable() operand.Mem {
	t := col.t
	if m, ok := t.data["gemmtail"]; ok {
		return m
	}
	m := t.global("gemmtail")
	for i := 0; i < 8; i++ {
		t.AddDatum(4*i, operand.U32(0xffffffff))
	}
	for i := 8; i < 16; i++ {
		t.AddDatum(4*i, operand.U32(0))
	}
	t.data["gemmtail"] = m
	return m
}

// avx2Mask loads the AVX2 mask of vector v into dst. Clobbers gcT0, gcT1.
func (col *gemmCol) avx2Mask(v int, dst reg.VecPhysical) {
	t := col.t
	col.clampCols(v, gcT0)
	t.LEAQ(col.tail.Offset(32), gcT1)
	t.NEGQ(gcT0)
	t.VMOVUPS(mem(gcT1, gcT0, 4, 0), dst)
}

// prefetchC prefetches the mr rows of C starting tile rows below gcC.
// Clobbers gcT0.
func (col *gemmCol) prefetchC(tiles int) {
	t := col.t
	pf := t.PREFETCHT1
	rowBytes := 4 * col.g.nr
	t.MOVQ(gcC, gcT0)
	for i := 0; i < tiles*col.g.mr; i++ {
		t.ADDQ(gcLDC, gcT0)
	}
	for i := 0; i < col.g.mr; i++ {
		if i > 0 {
			t.ADDQ(gcLDC, gcT0)
		}
		for off := 0; off < rowBytes-4; off += 64 {
			pf(at(gcT0, off))
		}
		pf(at(gcT0, rowBytes-4))
	}
}

// tile emits one tile of rows rows (≤ mr) at gcABase, gcC, and advances
// both to the next tile when more follow.
func (col *gemmCol) tile(rows int, more bool) {
	t, g := col.t, col.g
	acc := col.acc[:rows]
	if more {
		col.prefetchC(2)
	}
	for _, a := range acc {
		for _, v := range a {
			if t.avx512 {
				t.VPXORD(v, v, v)
			} else {
				t.VXORPS(v, v, v)
			}
		}
	}
	t.MOVQ(gcABase, gcA)
	t.MOVQ(gcBBase, gcB)
	kstep := func(u int) {
		ao, bo := 4*g.mr*u, 4*g.nr*u
		for j, b := range col.bv {
			t.VMOVUPS(at(gcB, bo+j*t.vbytes), b)
		}
		for i, a := range acc {
			t.VBROADCASTSS(at(gcA, ao+4*i), col.bc)
			t.VFMADD231PS(col.bv[0], col.bc, a[0])
			t.VFMADD231PS(col.bv[1], col.bc, a[1])
		}
	}
	kN, k1, k1loop, done := t.label("kN"), t.label("k1"), t.label("k1loop"), t.label("kdone")
	t.MOVQ(gcKC, gcT0)
	t.SHRQ(operand.U8(2), gcT0)
	t.JZ(operand.LabelRef(k1))
	t.Label(kN)
	col.prefetchNext()
	for u := 0; u < 4; u++ {
		kstep(u)
	}
	t.ADDQ(operand.U32(uint64(16*g.mr)), gcA)
	t.ADDQ(operand.U32(uint64(16*g.nr)), gcB)
	t.DECQ(gcT0)
	t.JNZ(operand.LabelRef(kN))
	t.Label(k1)
	t.MOVQ(gcKC, gcT1)
	t.ANDQ(operand.U8(3), gcT1)
	t.JZ(operand.LabelRef(done))
	t.Label(k1loop)
	kstep(0)
	t.ADDQ(imm(4*g.mr), gcA)
	t.ADDQ(operand.U32(uint64(4*g.nr)), gcB)
	t.DECQ(gcT1)
	t.JNZ(operand.LabelRef(k1loop))
	t.Label(done)

	col.epilogue(acc)
	if more {
		t.ADDQ(gcSA, gcABase)
		for i := 0; i < g.mr; i++ {
			t.ADDQ(gcLDC, gcC)
		}
	}
}

// prefetchNext prefetches the next line of the caller's pattern, if any
// is left. Uses gcT1 (free in the 4-step loop).
func (col *gemmCol) prefetchNext() {
	t := col.t
	skip := t.label("pfskip")
	t.CMPQ(col.pfLeft, operand.U8(0))
	t.JE(operand.LabelRef(skip))
	t.PREFETCHT1(at(gcPF, 0))
	t.ADDQ(operand.U8(64), gcPF)
	t.DECQ(col.pfLeft)
	t.DECQ(col.pfLine)
	t.JNZ(operand.LabelRef(skip))
	// The row is done: on to the next one.
	t.Load(t.Param("pfLines"), gcT1)
	t.MOVQ(gcT1, col.pfLine)
	t.SHLQ(operand.U8(6), gcT1)
	t.NEGQ(gcT1)
	t.ADDQ(gcT1, gcPF)
	t.Load(t.Param("pfStride"), gcT1)
	t.ADDQ(gcT1, gcPF)
	t.Label(skip)
}

// epilogue scales the accumulators by alpha and stores them to C,
// adding beta·C when accum. Every load of C comes before any store: rows
// ldc apart may alias (4 KiB strides), and a load behind a store to an
// aliasing address waits.
func (col *gemmCol) epilogue(acc [][2]reg.VecPhysical) {
	t := col.t
	alpha := col.bv[0]
	t.VBROADCASTSS(t.arg("alpha"), alpha)
	for _, a := range acc {
		t.VMULPS(alpha, a[0], a[0])
		t.VMULPS(alpha, a[1], a[1])
	}
	beta, store, end := t.label("beta"), t.label("store"), t.label("stored")
	t.MOVBLZX(t.arg("accum"), gcT0.As32())
	t.TESTQ(gcT0, gcT0)
	t.JNZ(operand.LabelRef(beta))
	t.Label(store)
	col.storeRows(acc)
	t.JMP(operand.LabelRef(end))

	t.Label(beta)
	bt := col.bv[1]
	t.VBROADCASTSS(t.arg("beta"), bt)
	switch {
	case !col.masked:
		t.MOVQ(gcC, gcT0)
		for i, a := range acc {
			if i > 0 {
				t.ADDQ(gcLDC, gcT0)
			}
			t.VFMADD231PS(at(gcT0, 0), bt, a[0])
			t.VFMADD231PS(at(gcT0, t.vbytes), bt, a[1])
		}
	case t.avx512:
		t.MOVQ(gcC, gcT0)
		for i, a := range acc {
			if i > 0 {
				t.ADDQ(gcLDC, gcT0)
			}
			t.VFMADD231PS_Z(at(gcT0, 0), bt, col.km[0], a[0])
			t.VFMADD231PS_Z(at(gcT0, t.vbytes), bt, col.km[1], a[1])
		}
	default:
		// AVX2: one column vector at a time, its mask in bv[0], the
		// loaded C in bc.
		for v := 0; v < 2; v++ {
			col.avx2Mask(v, col.bv[0])
			t.MOVQ(gcC, gcT0)
			for i, a := range acc {
				if i > 0 {
					t.ADDQ(gcLDC, gcT0)
				}
				t.VMASKMOVPS(at(gcT0, v*t.vbytes), col.bv[0], col.bc)
				t.VFMADD231PS(col.bc, bt, a[v])
			}
		}
	}
	t.JMP(operand.LabelRef(store))
	t.Label(end)
}

// storeRows stores the accumulators to C (masked columns when masked).
// Clobbers gcT0 (and, AVX2 masked, gcT1 and bv[0]).
func (col *gemmCol) storeRows(acc [][2]reg.VecPhysical) {
	t := col.t
	switch {
	case !col.masked:
		t.MOVQ(gcC, gcT0)
		for i, a := range acc {
			if i > 0 {
				t.ADDQ(gcLDC, gcT0)
			}
			t.VMOVUPS(a[0], at(gcT0, 0))
			t.VMOVUPS(a[1], at(gcT0, t.vbytes))
		}
	case t.avx512:
		t.MOVQ(gcC, gcT0)
		for i, a := range acc {
			if i > 0 {
				t.ADDQ(gcLDC, gcT0)
			}
			t.VMOVUPS(a[0], col.km[0], at(gcT0, 0))
			t.VMOVUPS(a[1], col.km[1], at(gcT0, t.vbytes))
		}
	default:
		for v := 0; v < 2; v++ {
			col.avx2Mask(v, col.bv[0])
			t.MOVQ(gcC, gcT0)
			for i, a := range acc {
				if i > 0 {
					t.ADDQ(gcLDC, gcT0)
				}
				t.VMASKMOVPS(a[v], col.bv[0], at(gcT0, v*t.vbytes))
			}
		}
	}
}

// ---------------------------------------------------------------------
// Packing of whole panels. Edge panels (fewer than mr rows or nr
// columns) are packed in Go. None reads outside the rows [p0, p0+kc) of
// the source rows or columns it packs.

// rowAddr returns the address of row r (r < 12) of a source whose rows
// are ld bytes apart: BX = ld, R9 = 3·ld, bases[g] = row 4g.
func rowAddr(bases []reg.GPPhysical, r, disp int) operand.Mem {
	m := at(bases[r/4], disp)
	switch r % 4 {
	case 1:
		m.Index, m.Scale = reg.RBX, 1
	case 2:
		m.Index, m.Scale = reg.RBX, 2
	case 3:
		m.Index, m.Scale = reg.R9, 1
	}
	return m
}

// rowBases sets BX = ld bytes, R9 = 3·ld and the bases of rows 4, 8, …
// below rows (SI holds row 0). It returns the bases.
func (t *tier) rowBases(rows int) []reg.GPPhysical {
	all := []reg.GPPhysical{reg.RSI, reg.R10, reg.R11, reg.R12}
	t.LEAQ(mem(reg.RBX, reg.RBX, 2, 0), reg.R9)
	n := (rows + 3) / 4
	for g := 1; g < n; g++ {
		t.LEAQ(mem(all[g-1], reg.RBX, 4, 0), all[g])
	}
	return all[:n]
}

// genPackAN emits packAN: one panel of mr rows of A stored m×k.
func genPackAN(t *tier) {
	g := t.gemmGeom()
	t.begin("packAN", "func(dst, src *float32, ld, kc int)",
		fmt.Sprintf("sets dst[%d·p+i] = src[i·ld+p] for p < kc, i < %d: the rows of src", g.mr, g.mr),
		"become the rows of one packed A panel, eight steps at a time.")
	dst := reg.RDI
	t.Load(t.Param("dst"), dst)
	t.Load(t.Param("src"), reg.RSI)
	t.Load(t.Param("ld"), reg.RBX)
	t.SHLQ(operand.U8(2), reg.RBX)
	t.Load(t.Param("kc"), reg.RCX)
	bases := t.rowBases(g.mr)
	step := 4 * g.mr // bytes per k step in dst
	loop, tail, tailLoop, done := t.label("loop"), t.label("tail"), t.label("tailloop"), t.label("done")
	t.MOVQ(reg.RCX, reg.RDX)
	t.SHRQ(operand.U8(3), reg.RDX)
	t.JZ(operand.LabelRef(tail))
	t.Label(loop)
	y := func(i int) reg.VecPhysical { return yregs[i] }
	for r0 := 0; r0 < g.mr; r0 += 4 {
		if g.mr-r0 >= 4 {
			// Four rows, eight steps: an in-lane 4×4 transpose; lane 0
			// holds steps 0..3, lane 1 steps 4..7.
			for r := 0; r < 4; r++ {
				t.VMOVUPS(rowAddr(bases, r0+r, 0), y(r))
			}
			t.VUNPCKLPS(y(1), y(0), y(4))
			t.VUNPCKHPS(y(1), y(0), y(5))
			t.VUNPCKLPS(y(3), y(2), y(6))
			t.VUNPCKHPS(y(3), y(2), y(7))
			t.VSHUFPS(operand.U8(0x44), y(6), y(4), y(8))
			t.VSHUFPS(operand.U8(0xee), y(6), y(4), y(9))
			t.VSHUFPS(operand.U8(0x44), y(7), y(5), y(10))
			t.VSHUFPS(operand.U8(0xee), y(7), y(5), y(11))
			for q := 0; q < 4; q++ {
				t.VMOVUPS(y(8+q).AsX(), at(dst, q*step+4*r0))
				t.VEXTRACTF128(operand.U8(1), y(8+q), at(dst, (4+q)*step+4*r0))
			}
			continue
		}
		// Two rows, eight steps: interleaved pairs.
		t.VMOVUPS(rowAddr(bases, r0, 0), y(0))
		t.VMOVUPS(rowAddr(bases, r0+1, 0), y(1))
		t.VUNPCKLPS(y(1), y(0), y(2)) // steps 0, 1 | 4, 5
		t.VUNPCKHPS(y(1), y(0), y(3)) // steps 2, 3 | 6, 7
		t.VEXTRACTF128(operand.U8(1), y(2), y(4).AsX())
		t.VEXTRACTF128(operand.U8(1), y(3), y(5).AsX())
		for _, s := range []struct {
			x       reg.VecPhysical
			lo, off int
		}{{y(2), 0, 0}, {y(3), 2, 0}, {y(4), 4, 0}, {y(5), 6, 0}} {
			t.VMOVLPS(s.x.AsX(), at(dst, s.lo*step+4*r0))
			t.VMOVHPS(s.x.AsX(), at(dst, (s.lo+1)*step+4*r0))
		}
	}
	for _, b := range bases {
		t.ADDQ(operand.U8(32), b)
	}
	t.ADDQ(operand.U32(uint64(8*step)), dst)
	t.DECQ(reg.RDX)
	t.JNZ(operand.LabelRef(loop))
	t.Label(tail)
	t.ANDQ(operand.U8(7), reg.RCX)
	t.JZ(operand.LabelRef(done))
	t.Label(tailLoop)
	for r := 0; r < g.mr; r++ {
		t.VMOVSS(rowAddr(bases, r, 0), reg.X0)
		t.VMOVSS(reg.X0, at(dst, 4*r))
	}
	for _, b := range bases {
		t.ADDQ(operand.U8(4), b)
	}
	t.ADDQ(imm(step), dst)
	t.DECQ(reg.RCX)
	t.JNZ(operand.LabelRef(tailLoop))
	t.Label(done)
	t.end()
}

// copyBytes copies n bytes (a sum of 64, 32, 16, 8 and 4) from src to
// dst through vector registers, the widest moves the tier has first.
func (t *tier) copyBytes(src, dst operand.Mem, n int) {
	off, i := 0, 0
	for _, w := range []int{64, 32, 16, 8, 4} {
		if w > t.vbytes {
			continue
		}
		for n-off >= w {
			r := t.v(i % 4)
			i++
			switch w {
			case 64:
				t.VMOVUPS(src.Offset(off), r)
				t.VMOVUPS(r, dst.Offset(off))
			case 32:
				t.VMOVUPS(src.Offset(off), r.AsY())
				t.VMOVUPS(r.AsY(), dst.Offset(off))
			case 16:
				t.VMOVUPS(src.Offset(off), r.AsX())
				t.VMOVUPS(r.AsX(), dst.Offset(off))
			case 8:
				t.VMOVSD(src.Offset(off), r.AsX())
				t.VMOVSD(r.AsX(), dst.Offset(off))
			case 4:
				t.VMOVSS(src.Offset(off), r.AsX())
				t.VMOVSS(r.AsX(), dst.Offset(off))
			}
			off += w
		}
	}
}

// genCopyPanels emits a packer that copies w floats per source row into
// each of np panels: dst[q·sdst + w·p + i] = src[p·ld + w·q + i].
func genCopyPanels(t *tier, name, what string, w int) {
	t.begin(name, "func(dst, src *float32, ld, kc, np, sdst int)",
		fmt.Sprintf("packs np panels of %s: dst[q·sdst+%d·p+i] = src[p·ld+%d·q+i]", what, w, w),
		fmt.Sprintf("for p < kc, q < np, i < %d. Each source row is read once,", w),
		"contiguously, and the same bytes eight rows ahead are prefetched (rows",
		"ld·4 bytes apart are on different pages, where the hardware prefetcher",
		"does not follow).")
	dst, src, ld, kc, np, sdst := reg.RDI, reg.RSI, reg.RBX, reg.RCX, reg.R8, reg.R9
	t.Load(t.Param("dst"), dst)
	t.Load(t.Param("src"), src)
	t.Load(t.Param("ld"), ld)
	t.SHLQ(operand.U8(2), ld)
	t.Load(t.Param("kc"), kc)
	t.Load(t.Param("np"), np)
	t.Load(t.Param("sdst"), sdst)
	t.SHLQ(operand.U8(2), sdst)
	t.MOVQ(ld, reg.R12)
	t.SHLQ(operand.U8(3), reg.R12) // 8 rows ahead
	row, panel, done := t.label("row"), t.label("panel"), t.label("done")
	t.TESTQ(kc, kc)
	t.JZ(operand.LabelRef(done))
	t.TESTQ(np, np)
	t.JZ(operand.LabelRef(done))
	t.Label(row)
	t.MOVQ(src, reg.R10)
	t.MOVQ(dst, reg.R11)
	t.MOVQ(np, reg.RDX)
	t.Label(panel)
	t.PREFETCHT0(mem(reg.R10, reg.R12, 1, 0))
	if 4*w > 64 {
		t.PREFETCHT0(mem(reg.R10, reg.R12, 1, 4*w-4))
	}
	t.copyBytes(at(reg.R10, 0), at(reg.R11, 0), 4*w)
	t.ADDQ(operand.U32(uint64(4*w)), reg.R10)
	t.ADDQ(sdst, reg.R11)
	t.DECQ(reg.RDX)
	t.JNZ(operand.LabelRef(panel))
	t.ADDQ(ld, src)
	t.ADDQ(operand.U32(uint64(4*w)), dst)
	t.DECQ(kc)
	t.JNZ(operand.LabelRef(row))
	t.Label(done)
	t.end()
}

// genPackAT emits packAT: panels of A stored k×m.
func genPackAT(t *tier) {
	genCopyPanels(t, "packAT", "A stored k×m", t.gemmGeom().mr)
}

// genPackBN emits packBN: panels of B stored k×n.
func genPackBN(t *tier) {
	genCopyPanels(t, "packBN", "B stored k×n", t.gemmGeom().nr)
}

// genPackBT emits packBT: one panel of nr rows of B stored n×k.
func genPackBT(t *tier) {
	g := t.gemmGeom()
	t.begin("packBT", "func(dst, src *float32, ld, kc int)",
		fmt.Sprintf("sets dst[%d·p+j] = src[j·ld+p] for p < kc, j < %d: the rows of src", g.nr, g.nr),
		"become the columns of one packed B panel, four steps of eight rows at a",
		"time.")
	dst := reg.RDI
	t.Load(t.Param("dst"), dst)
	t.Load(t.Param("src"), reg.RSI)
	t.Load(t.Param("ld"), reg.RBX)
	t.SHLQ(operand.U8(2), reg.RBX)
	t.Load(t.Param("kc"), reg.RCX)
	// Rows 8g..8g+7 start at bases[2g] (rows 0..3) and bases[2g+1]
	// (rows 4..7); the bases walk along k.
	all := []reg.GPPhysical{reg.RSI, reg.R10, reg.R11, reg.R12, reg.R13, reg.R14, reg.R8, reg.RAX}
	bases := all[:g.nr/4]
	t.LEAQ(mem(reg.RBX, reg.RBX, 2, 0), reg.R9)
	for i := 1; i < len(bases); i++ {
		t.LEAQ(mem(bases[i-1], reg.RBX, 4, 0), bases[i])
	}
	step := 4 * g.nr
	loop, tail, tailLoop, done := t.label("loop"), t.label("tail"), t.label("tailloop"), t.label("done")
	t.MOVQ(reg.RCX, reg.RDX)
	t.SHRQ(operand.U8(2), reg.RDX)
	t.JZ(operand.LabelRef(tail))
	t.Label(loop)
	y := func(i int) reg.VecPhysical { return yregs[i] }
	for grp := 0; grp < g.nr/8; grp++ {
		lo, hi := bases[2*grp], bases[2*grp+1]
		for r := 0; r < 4; r++ {
			m, m4 := rowAddr([]reg.GPPhysical{lo}, r, 0), rowAddr([]reg.GPPhysical{hi}, r, 0)
			t.VMOVUPS(m, y(r).AsX())
			t.VINSERTF128(operand.U8(1), m4, y(r), y(r))
		}
		t.VUNPCKLPS(y(1), y(0), y(4))
		t.VUNPCKHPS(y(1), y(0), y(5))
		t.VUNPCKLPS(y(3), y(2), y(6))
		t.VUNPCKHPS(y(3), y(2), y(7))
		t.VSHUFPS(operand.U8(0x44), y(6), y(4), y(8))
		t.VSHUFPS(operand.U8(0xee), y(6), y(4), y(9))
		t.VSHUFPS(operand.U8(0x44), y(7), y(5), y(10))
		t.VSHUFPS(operand.U8(0xee), y(7), y(5), y(11))
		for q := 0; q < 4; q++ {
			t.VMOVUPS(y(8+q), at(dst, q*step+32*grp))
		}
	}
	for _, b := range bases {
		t.ADDQ(operand.U8(16), b)
	}
	t.ADDQ(operand.U32(uint64(4*step)), dst)
	t.DECQ(reg.RDX)
	t.JNZ(operand.LabelRef(loop))
	t.Label(tail)
	t.ANDQ(operand.U8(3), reg.RCX)
	t.JZ(operand.LabelRef(done))
	t.Label(tailLoop)
	for j := 0; j < g.nr; j++ {
		m := rowAddr([]reg.GPPhysical{bases[j/4]}, j%4, 0)
		t.VMOVSS(m, reg.X0)
		t.VMOVSS(reg.X0, at(dst, 4*j))
	}
	for _, b := range bases {
		t.ADDQ(operand.U8(4), b)
	}
	t.ADDQ(imm(step), dst)
	t.DECQ(reg.RCX)
	t.JNZ(operand.LabelRef(tailLoop))
	t.Label(done)
	t.end()
}
