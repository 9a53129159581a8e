package main

import (
	"fmt"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// A tier is one instruction set the kernels are written for. Every kernel
// is one Go function that emits its body through a tier, so the AVX2 and
// the AVX-512 versions apply the same operations, in the same order, to
// every element: only the register width, the way tails are masked and
// the few instructions that exist in one set only (VRNDSCALEPS,
// VSCALEFPS, opmask registers) differ, and each such difference is a
// method here whose two forms give the same bits.
type tier struct {
	*build.Context
	name   string // "AVX2" or "AVX512": the suffix of every function
	avx512 bool
	vbytes int // bytes per vector register
	nvec   int // vector registers the kernels may use
	fn     string
	nlabel int
	// consts maps a constant's name to where the current function keeps
	// it: a register, or (AVX2, short of registers) a 32-byte vector in
	// memory.
	consts map[string]operand.Op
	// data holds the file's constant tables, by name.
	data map[string]operand.Mem
}

func newTier(ctx *build.Context, avx512 bool) *tier {
	t := &tier{Context: ctx, avx512: avx512, data: map[string]operand.Mem{}}
	if avx512 {
		t.name, t.vbytes, t.nvec = "AVX512", 64, 32
	} else {
		// Y15 is left alone: Go's register ABI keeps zero in X15.
		t.name, t.vbytes, t.nvec = "AVX2", 32, 15
	}
	return t
}

// v returns vector register i of the tier's width.
func (t *tier) v(i int) reg.VecPhysical {
	if i < 0 || i >= t.nvec {
		panic(fmt.Sprintf("%s: vector register %d out of range", t.fn, i))
	}
	if t.avx512 {
		return zregs[i]
	}
	return yregs[i]
}

// half returns the 256-bit view of a register (AVX-512) or the 128-bit
// view (AVX2).
func (t *tier) half(r reg.VecPhysical) reg.Register {
	if t.avx512 {
		return r.AsY()
	}
	return r.AsX()
}

var (
	zregs = []reg.VecPhysical{reg.Z0, reg.Z1, reg.Z2, reg.Z3, reg.Z4, reg.Z5, reg.Z6, reg.Z7,
		reg.Z8, reg.Z9, reg.Z10, reg.Z11, reg.Z12, reg.Z13, reg.Z14, reg.Z15,
		reg.Z16, reg.Z17, reg.Z18, reg.Z19, reg.Z20, reg.Z21, reg.Z22, reg.Z23,
		reg.Z24, reg.Z25, reg.Z26, reg.Z27, reg.Z28, reg.Z29, reg.Z30, reg.Z31}
	yregs = []reg.VecPhysical{reg.Y0, reg.Y1, reg.Y2, reg.Y3, reg.Y4, reg.Y5, reg.Y6, reg.Y7,
		reg.Y8, reg.Y9, reg.Y10, reg.Y11, reg.Y12, reg.Y13, reg.Y14, reg.Y15}
	kregs = []reg.OpmaskPhysical{reg.K1, reg.K2, reg.K3, reg.K4, reg.K5, reg.K6, reg.K7}
)

// begin starts a function and resets the per-function state.
func (t *tier) begin(name, sig string, doc ...string) {
	t.fn = name + t.name
	t.Function(t.fn)
	t.Attributes(attr.NOSPLIT)
	t.SignatureExpr(sig)
	t.Pragma("noescape")
	if len(doc) > 0 {
		d := append([]string{}, doc...)
		d[0] = t.fn + " " + d[0]
		t.Doc(d...)
	}
	t.consts = map[string]operand.Op{}
	t.nlabel = 0
}

// end finishes a function: upper halves cleared, return.
func (t *tier) end() {
	t.VZEROUPPER()
	t.RET()
}

// label returns a fresh label name for the current function.
func (t *tier) label(what string) string {
	t.nlabel++
	return fmt.Sprintf("%s_%s%d", t.fn, what, t.nlabel)
}

// f32 declares a float32 constant with the given bits: a 4-byte value
// (AVX-512 broadcasts it) or a 32-byte vector (AVX2 uses it as a memory
// operand when it has no register for it).
func (t *tier) f32(name string, bits uint32) operand.Mem {
	if m, ok := t.data[name]; ok {
		return m
	}
	n := 1
	if !t.avx512 {
		n = 8
	}
	m := t.global(name + "32")
	for i := 0; i < n; i++ {
		t.AddDatum(4*i, operand.U32(bits))
	}
	t.data[name] = m
	return m
}

// f64 declares a float64 constant, as f32.
func (t *tier) f64(name string, bits uint64) operand.Mem {
	if m, ok := t.data[name]; ok {
		return m
	}
	n := 1
	if !t.avx512 {
		n = 4
	}
	m := t.global(name + "64")
	for i := 0; i < n; i++ {
		t.AddDatum(8*i, operand.U64(bits))
	}
	t.data[name] = m
	return m
}

// global starts a read-only data symbol.
func (t *tier) global(name string) operand.Mem {
	m := t.StaticGlobal(name)
	t.DataAttributes(attr.RODATA | attr.NOPTR)
	return m
}

// keep loads the named constant (declared with f32) into register r for
// the rest of the function.
func (t *tier) keep32(name string, r reg.VecPhysical) {
	t.VBROADCASTSS(t.data[name], r)
	t.consts[name] = r
}

// keep64 is keep32 for a float64 constant.
func (t *tier) keep64(name string, r reg.VecPhysical) {
	t.VBROADCASTSD(t.data[name], r)
	t.consts[name] = r
}

// k returns where a constant is: its register, or its memory vector
// (AVX2 only; AVX-512 kernels keep every constant they use).
func (t *tier) k(name string) operand.Op {
	if r, ok := t.consts[name]; ok {
		return r
	}
	if t.avx512 {
		panic(fmt.Sprintf("%s: constant %s not in a register", t.fn, name))
	}
	m, ok := t.data[name]
	if !ok {
		panic(fmt.Sprintf("%s: constant %s not declared", t.fn, name))
	}
	return m
}

// mask is a lane mask: an opmask register (AVX-512) or a vector of
// all-ones and all-zeros lanes (AVX2).
type mask struct {
	k reg.OpmaskPhysical
	v reg.VecPhysical
}

// cmpGE sets m to the lanes where a ≥ b (ordered: false for NaN).
func (t *tier) cmpGE(b operand.Op, a reg.VecPhysical, m mask) {
	if t.avx512 {
		t.VCMPPS(operand.U8(0x1d), b, a, m.k)
	} else {
		t.VCMPPS(operand.U8(0x1d), b, a, m.v)
	}
}

// andMask sets dst = a ∧ b.
func (t *tier) andMask(a, b, dst mask) {
	if t.avx512 {
		t.KANDW(a.k, b.k, dst.k)
	} else {
		t.VANDPS(a.v, b.v, dst.v)
	}
}

// loadMasked loads the lanes of m from mem into dst and zeroes the others.
func (t *tier) loadMasked(mem operand.Mem, m mask, dst reg.VecPhysical) {
	if t.avx512 {
		t.VMOVUPS_Z(mem, m.k, dst)
	} else {
		t.VMASKMOVPS(mem, m.v, dst)
	}
}

// storeMasked stores the lanes of m of src to mem.
func (t *tier) storeMasked(src reg.VecPhysical, m mask, mem operand.Mem) {
	if t.avx512 {
		t.VMOVUPS(src, m.k, mem)
	} else {
		t.VMASKMOVPS(src, m.v, mem)
	}
}

// loadMasked64 and storeMasked64 are the float64 forms.
func (t *tier) loadMasked64(mem operand.Mem, m mask, dst reg.VecPhysical) {
	if t.avx512 {
		t.VMOVUPD_Z(mem, m.k, dst)
	} else {
		t.VMASKMOVPD(mem, m.v, dst)
	}
}

func (t *tier) storeMasked64(src reg.VecPhysical, m mask, mem operand.Mem) {
	if t.avx512 {
		t.VMOVUPD(src, m.k, mem)
	} else {
		t.VMASKMOVPD(src, m.v, mem)
	}
}

// clampCount sets dst = min(max(r − off, 0), lanes). Clobbers tmp.
func (t *tier) clampCount(r, dst, tmp reg.GPPhysical, off, lanes int) {
	t.MOVQ(r, dst)
	if off != 0 {
		t.SUBQ(imm(uint64(off)), dst)
	}
	t.XORQ(tmp, tmp)
	t.CMPQ(dst, imm(0))
	t.CMOVQLT(tmp, dst)
	t.MOVQ(imm32(uint64(lanes)), tmp)
	t.CMPQ(dst, tmp)
	t.CMOVQGT(tmp, dst)
}

// tailMask sets m to the first cnt lanes of lane bytes each; cnt holds
// 0..lanes. Clobbers cnt and tmp.
func (t *tier) tailMask(cnt, tmp reg.GPPhysical, laneBytes int, m mask) {
	if t.avx512 {
		t.MOVQ(imm32(1), tmp)
		t.SHLXQ(cnt, tmp, tmp)
		t.DECQ(tmp)
		t.KMOVW(tmp.As32(), m.k)
		return
	}
	// The 32 bytes at tailmask+32−cnt·laneBytes enable the first cnt lanes.
	tbl := t.tailTable()
	t.LEAQ(tbl.Offset(32), tmp)
	t.NEGQ(cnt)
	t.VMOVUPS(operand.Mem{Base: tmp, Index: cnt, Scale: uint8(laneBytes)}, m.v)
}

// tailTable declares the AVX2 tail-mask table: 32 bytes of all-ones, then
// 32 bytes of zeros.
func (t *tier) tailTable() operand.Mem {
	if m, ok := t.data["tail"]; ok {
		return m
	}
	m := t.global("tailmask")
	for i := 0; i < 4; i++ {
		t.AddDatum(8*i, operand.U64(^uint64(0)))
	}
	for i := 4; i < 8; i++ {
		t.AddDatum(8*i, operand.U64(0))
	}
	t.data["tail"] = m
	return m
}

// at returns the memory operand base+off.
func at(base reg.GPPhysical, off int) operand.Mem {
	return operand.Mem{Base: base, Disp: off}
}

// arg returns the memory operand of a scalar argument.
func (t *tier) arg(name string) operand.Mem {
	b, err := t.Param(name).Resolve()
	if err != nil {
		panic(fmt.Sprintf("%s: argument %s: %v", t.fn, name, err))
	}
	return b.Addr
}

// imm is an immediate operand: 8 bits where it fits, else 32.
func imm[I ~int | ~uint64](x I) operand.Constant {
	v := int64(x)
	if v >= -128 && v <= 127 {
		return operand.I8(int8(v))
	}
	return operand.I32(int32(v))
}

// imm32 is a 32-bit immediate (MOVQ has no 8-bit form).
func imm32[I ~int | ~uint64](x I) operand.Constant { return operand.I32(int32(x)) }
