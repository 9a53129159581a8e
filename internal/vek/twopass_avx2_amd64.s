//go:build !purego

#include "textflag.h"

// The two-pass softmax kernels (catalog A14), AVX2+FMA. See twopass.go.
//
// Registers: Y8 shifter, Y9 log2e, Y10 −ln2hi, Y11 −ln2lo, Y12 c5, Y13 c4,
// Y14 −TwoPassLimit; Y4..Y7 scratch. Pass 1 keeps the per-lane running
// state in Y0 (exponent E, float32) and Y1:Y2 (mantissa sum M, float64,
// lanes 0-3 and 4-7). Inputs outside the domain are not flagged here: a
// NaN or +Inf makes M NaN, an entry above the limit makes E larger than
// any in-domain exponent, and the caller checks both. Y15 is never
// touched.

#define TPB(name, bits) \
	DATA name<>+0(SB)/4, $bits \
	DATA name<>+4(SB)/4, $bits \
	DATA name<>+8(SB)/4, $bits \
	DATA name<>+12(SB)/4, $bits \
	DATA name<>+16(SB)/4, $bits \
	DATA name<>+20(SB)/4, $bits \
	DATA name<>+24(SB)/4, $bits \
	DATA name<>+28(SB)/4, $bits \
	GLOBL name<>(SB), RODATA|NOPTR, $32

TPB(tplog2e, 0x3fb8aa3b)
TPB(tpshift, 0x4b400000)
TPB(tpnln2hi, 0xbf317218)
TPB(tpnln2lo, 0x3102e308)
TPB(tpone, 0x3f800000)
TPB(tpc1, 0x3f7ffffb)
TPB(tpc2, 0x3efffee3)
TPB(tpc3, 0x3e2aad40)
TPB(tpc4, 0x3d2b9d0d)
TPB(tpc5, 0x3c07cfce)
TPB(tpnlimit, 0xca000000)
TPB(tpm127, 0xc2fe0000)
TPB(tpi127, 0x0000007f)
TPB(tpninf, 0xff800000)

// tptail: eight all-ones lanes then eight zero lanes; the 32 bytes at
// tptail+32−4t enable the first t lanes.
DATA tptail<>+0(SB)/8, $-1
DATA tptail<>+8(SB)/8, $-1
DATA tptail<>+16(SB)/8, $-1
DATA tptail<>+24(SB)/8, $-1
DATA tptail<>+32(SB)/8, $0
DATA tptail<>+40(SB)/8, $0
DATA tptail<>+48(SB)/8, $0
DATA tptail<>+56(SB)/8, $0
GLOBL tptail<>(SB), RODATA|NOPTR, $64

// TPMASK(Y) loads into Y the mask enabling the first CX (1..7) lanes.
#define TPMASK(Y) \
	LEAQ tptail<>+32(SB), AX \
	MOVQ CX, DX \
	SHLQ $2, DX \
	SUBQ DX, AX \
	VMOVUPS (AX), Y

#define TPCONSTS \
	VBROADCASTSS tpshift<>(SB), Y8 \
	VBROADCASTSS tplog2e<>(SB), Y9 \
	VBROADCASTSS tpnln2hi<>(SB), Y10 \
	VBROADCASTSS tpnln2lo<>(SB), Y11 \
	VBROADCASTSS tpc5<>(SB), Y12 \
	VBROADCASTSS tpc4<>(SB), Y13 \
	VBROADCASTSS tpnlimit<>(SB), Y14

// EXPCORE turns x in Y4 into p (Y6) and n (Y5, an integer-valued float)
// with exp(max(x, −limit)) ≈ p·2ⁿ; Y4 is destroyed. A NaN x stays NaN (the
// clamp returns its second operand, x, when either is NaN), so it reaches
// the sums.
#define EXPCORE \
	VMAXPS Y4, Y14, Y4 \
	VMOVAPS Y8, Y5 \
	VFMADD231PS Y9, Y4, Y5 \
	VSUBPS Y8, Y5, Y5 \
	VFMADD231PS Y10, Y5, Y4 \
	VFMADD231PS Y11, Y5, Y4 \
	VMOVAPS Y12, Y6 \
	VFMADD213PS Y13, Y4, Y6 \
	VFMADD213PS tpc3<>(SB), Y4, Y6 \
	VFMADD213PS tpc2<>(SB), Y4, Y6 \
	VFMADD213PS tpc1<>(SB), Y4, Y6 \
	VFMADD213PS tpone<>(SB), Y4, Y6

// POW2(Y) turns the integer-valued floats d ≤ 0 in Y into 2^d, or 0 for
// d < −126.
#define POW2(Y) \
	VMAXPS tpm127<>(SB), Y, Y \
	VCVTPS2DQ Y, Y \
	VPADDD tpi127<>(SB), Y, Y \
	VPSLLD $23, Y, Y

// PA(xoff, poff, noff): p and n of the vector at xoff(SI) into the frame,
// the block's per-lane max exponent into Y7.
#define PA(xoff, poff, noff) \
	VMOVUPS xoff(SI), Y4 \
	EXPCORE \
	VMOVUPS Y6, poff(SP) \
	VMOVUPS Y5, noff(SP) \
	VMAXPS Y5, Y7, Y7

// PB(poff, noff): Y5 += p·2^(n − blockmax).
#define PB(poff, noff) \
	VMOVUPS noff(SP), Y4 \
	VSUBPS Y7, Y4, Y4 \
	POW2(Y4) \
	VFMADD231PS poff(SP), Y4, Y5

// MERGE folds a block state (M in Y5, float32; E in Y7) into the running
// state (Y0; Y1:Y2).
#define MERGE \
	VMAXPS Y7, Y0, Y6 \
	VSUBPS Y6, Y0, Y4 \
	VSUBPS Y6, Y7, Y7 \
	VMOVAPS Y6, Y0 \
	POW2(Y4) \
	POW2(Y7) \
	VMULPS Y7, Y5, Y5 \
	VCVTPS2PD X5, Y6 \
	VEXTRACTF128 $1, Y5, X5 \
	VCVTPS2PD X5, Y5 \
	VCVTPS2PD X4, Y7 \
	VEXTRACTF128 $1, Y4, X4 \
	VCVTPS2PD X4, Y4 \
	VFMADD213PD Y6, Y7, Y1 \
	VFMADD213PD Y5, Y4, Y2

// func extExpSum32AVX2(x []float32, m *[8]float64, e *[8]float32)
// Frame: p of a 64-element block at 0..255(SP), n at 256..511(SP). The
// input is prefetched 2 KiB ahead: the loop is compute-heavy, and without
// it rows streamed from memory stall on misses (prefetches never fault).
TEXT ·extExpSum32AVX2(SB), NOSPLIT, $512-40
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	VBROADCASTSS tpninf<>(SB), Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	TPCONSTS

tp1block:
	CMPQ CX, $64
	JB   tp1vec
	PREFETCHT0 2048(SI)
	PREFETCHT0 2112(SI)
	PREFETCHT0 2176(SI)
	PREFETCHT0 2240(SI)
	VBROADCASTSS tpninf<>(SB), Y7
	PA(0, 0, 256)
	PA(32, 32, 288)
	PA(64, 64, 320)
	PA(96, 96, 352)
	PA(128, 128, 384)
	PA(160, 160, 416)
	PA(192, 192, 448)
	PA(224, 224, 480)
	VXORPS Y5, Y5, Y5
	PB(0, 256)
	PB(32, 288)
	PB(64, 320)
	PB(96, 352)
	PB(128, 384)
	PB(160, 416)
	PB(192, 448)
	PB(224, 480)
	MERGE
	ADDQ $256, SI
	SUBQ $64, CX
	JMP  tp1block

tp1vec:
	CMPQ CX, $8
	JB   tp1tail
	VMOVUPS (SI), Y4
	EXPCORE
	VMOVAPS Y5, Y7
	VMOVAPS Y6, Y5
	MERGE
	ADDQ $32, SI
	SUBQ $8, CX
	JMP  tp1vec

tp1tail:
	TESTQ CX, CX
	JZ    tp1done
	TPMASK(Y6)
	VMASKMOVPS (SI), Y6, Y4
	VBROADCASTSS tpninf<>(SB), Y5
	VBLENDVPS Y6, Y4, Y5, Y4
	EXPCORE
	VMOVAPS Y5, Y7
	VMOVAPS Y6, Y5
	MERGE

tp1done:
	MOVQ m+24(FP), DI
	VMOVUPD Y1, (DI)
	VMOVUPD Y2, 32(DI)
	MOVQ e+32(FP), DI
	VMOVUPS Y0, (DI)
	VZEROUPPER
	RET

// SCALEOUT turns p (Y6), n (Y5) into c·p·2^(n − e) in Y6 (Y0 = e, Y1 = c).
#define SCALEOUT \
	VSUBPS Y0, Y5, Y5 \
	POW2(Y5) \
	VMULPS Y5, Y6, Y6 \
	VMULPS Y1, Y6, Y6

// func extExpScale32AVX2(dst, x []float32, e, c float32)
TEXT ·extExpScale32AVX2(SB), NOSPLIT, $0-56
	MOVQ dst_base+0(FP), DI
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), CX
	VBROADCASTSS e+48(FP), Y0
	VBROADCASTSS c+52(FP), Y1
	TPCONSTS

tp2loop2:
	CMPQ CX, $16
	JB   tp2loop1
	VMOVUPS (SI), Y4
	EXPCORE
	SCALEOUT
	VMOVUPS Y6, (DI)
	VMOVUPS 32(SI), Y4
	EXPCORE
	SCALEOUT
	VMOVUPS Y6, 32(DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  tp2loop2

tp2loop1:
	CMPQ CX, $8
	JB   tp2tail
	VMOVUPS (SI), Y4
	EXPCORE
	SCALEOUT
	VMOVUPS Y6, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX

tp2tail:
	TESTQ CX, CX
	JZ    tp2done
	TPMASK(Y2)
	VMASKMOVPS (SI), Y2, Y4
	EXPCORE
	SCALEOUT
	VMASKMOVPS Y6, Y2, (DI)

tp2done:
	VZEROUPPER
	RET

// PBS(poff, noff, doff): as PB, and also stores p·2^(n − blockmax) at
// doff(DI).
#define PBS(poff, noff, doff) \
	VMOVUPS noff(SP), Y4 \
	VSUBPS Y7, Y4, Y4 \
	POW2(Y4) \
	VMULPS poff(SP), Y4, Y6 \
	VMOVUPS Y6, doff(DI) \
	VADDPS Y6, Y5, Y5

// func extExpSumStore32AVX2(dst, x []float32, m *[8]float64, e *[8]float32, refs *float32)
// Pass 1 that also writes dst_i = p_i·2^(n_i − r) with r the per-lane
// reference exponent of i's group (a 64-element block, then single
// vectors, then the tail), and the references, eight per group, at refs.
TEXT ·extExpSumStore32AVX2(SB), NOSPLIT, $512-72
	MOVQ dst_base+0(FP), DI
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), CX
	MOVQ refs+64(FP), R8
	VBROADCASTSS tpninf<>(SB), Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	TPCONSTS

tps1block:
	CMPQ CX, $64
	JB   tps1vec
	PREFETCHT0 2048(SI)
	PREFETCHT0 2112(SI)
	PREFETCHT0 2176(SI)
	PREFETCHT0 2240(SI)
	PREFETCHT0 2048(DI)
	PREFETCHT0 2112(DI)
	PREFETCHT0 2176(DI)
	PREFETCHT0 2240(DI)
	VBROADCASTSS tpninf<>(SB), Y7
	PA(0, 0, 256)
	PA(32, 32, 288)
	PA(64, 64, 320)
	PA(96, 96, 352)
	PA(128, 128, 384)
	PA(160, 160, 416)
	PA(192, 192, 448)
	PA(224, 224, 480)
	VXORPS Y5, Y5, Y5
	PBS(0, 256, 0)
	PBS(32, 288, 32)
	PBS(64, 320, 64)
	PBS(96, 352, 96)
	PBS(128, 384, 128)
	PBS(160, 416, 160)
	PBS(192, 448, 192)
	PBS(224, 480, 224)
	VMOVUPS Y7, (R8)
	MERGE
	ADDQ $256, SI
	ADDQ $256, DI
	ADDQ $32, R8
	SUBQ $64, CX
	JMP  tps1block

tps1vec:
	CMPQ CX, $8
	JB   tps1tail
	VMOVUPS (SI), Y4
	EXPCORE
	VMOVUPS Y6, (DI)
	VMOVUPS Y5, (R8)
	VMOVAPS Y5, Y7
	VMOVAPS Y6, Y5
	MERGE
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, R8
	SUBQ $8, CX
	JMP  tps1vec

tps1tail:
	TESTQ CX, CX
	JZ    tps1done
	TPMASK(Y3)
	VMASKMOVPS (SI), Y3, Y4
	VBROADCASTSS tpninf<>(SB), Y5
	VBLENDVPS Y3, Y4, Y5, Y4
	EXPCORE
	VMASKMOVPS Y6, Y3, (DI)
	VMOVUPS Y5, (R8)
	VMOVAPS Y5, Y7
	VMOVAPS Y6, Y5
	MERGE

tps1done:
	MOVQ m+48(FP), DI
	VMOVUPD Y1, (DI)
	VMOVUPD Y2, 32(DI)
	MOVQ e+56(FP), DI
	VMOVUPS Y0, (DI)
	VZEROUPPER
	RET

// RESCALE(Y) sets Y = c·2^(r − e) from the eight references at (R8)
// (Y0 = e, Y1 = c); scratch none.
#define RESCALE(Y) \
	VMOVUPS (R8), Y \
	VSUBPS Y0, Y, Y \
	POW2(Y) \
	VMULPS Y1, Y, Y

// func extRescale32AVX2(dst []float32, refs *float32, e, c float32)
// Pass 2 of the stored form: dst_i *= c·2^(r_g(i) − e).
TEXT ·extRescale32AVX2(SB), NOSPLIT, $0-40
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ refs+24(FP), R8
	VBROADCASTSS e+32(FP), Y0
	VBROADCASTSS c+36(FP), Y1

tprblock:
	CMPQ CX, $64
	JB   tprvec
	RESCALE(Y2)
	VMULPS (DI), Y2, Y4
	VMULPS 32(DI), Y2, Y5
	VMULPS 64(DI), Y2, Y6
	VMULPS 96(DI), Y2, Y7
	VMOVUPS Y4, (DI)
	VMOVUPS Y5, 32(DI)
	VMOVUPS Y6, 64(DI)
	VMOVUPS Y7, 96(DI)
	VMULPS 128(DI), Y2, Y4
	VMULPS 160(DI), Y2, Y5
	VMULPS 192(DI), Y2, Y6
	VMULPS 224(DI), Y2, Y7
	VMOVUPS Y4, 128(DI)
	VMOVUPS Y5, 160(DI)
	VMOVUPS Y6, 192(DI)
	VMOVUPS Y7, 224(DI)
	ADDQ $256, DI
	ADDQ $32, R8
	SUBQ $64, CX
	JMP  tprblock

tprvec:
	CMPQ CX, $8
	JB   tprtail
	RESCALE(Y2)
	VMULPS (DI), Y2, Y4
	VMOVUPS Y4, (DI)
	ADDQ $32, DI
	ADDQ $32, R8
	SUBQ $8, CX
	JMP  tprvec

tprtail:
	TESTQ CX, CX
	JZ    tprdone
	RESCALE(Y2)
	TPMASK(Y3)
	VMASKMOVPS (DI), Y3, Y4
	VMULPS Y4, Y2, Y4
	VMASKMOVPS Y4, Y3, (DI)

tprdone:
	VZEROUPPER
	RET
