//go:build !purego

#include "textflag.h"

// float32 kernels, AVX-512 (AVX512F only). Every element goes through the
// same operations, in the same order, as in the AVX2+FMA kernels, so that
// elementwise results are bit-identical between the tiers; sums group
// their terms differently (16 lanes instead of 8).
//
// Register conventions inside the exp kernels: Z0 = −m; Z1 = float32
// accumulator (sums) or the factor c (scaled stores); Z2 = x; Z3..Z7
// scratch; Z8..Z14 and Z16..Z19 the constants of the exp core (CONSTS32);
// Z20 = s; Z21, Z22 float64 accumulators; Z23 = b; Z24, Z25 the overflow
// threshold and +Inf. K1 is the tail mask, K2..K4 compare results.

#define CONST32(name, bits) \
	DATA name<>+0(SB)/4, $bits \
	GLOBL name<>(SB), RODATA|NOPTR, $4

CONST32(z32log2e, 0x3fb8aa3b)
CONST32(z32shift, 0x4b400000)
CONST32(z32nln2hi, 0xbf317200)
CONST32(z32nln2lo, 0xb5bfbe8e)
CONST32(z32lo, 0xc2aeac4f)
CONST32(z32hi, 0x42b17217)
CONST32(z32inf, 0x7f800000)
CONST32(z32ninf, 0xff800000)
CONST32(z32c0, 0x3f800000)
CONST32(z32c2, 0x3f000000)
CONST32(z32c3, 0x3e2aa9f4)
CONST32(z32c4, 0x3d2aaa4f)
CONST32(z32c5, 0x3c093eec)
CONST32(z32c6, 0x3ab6c1b0)

// TAILK(K) sets the opmask K to the first CX (1..15) lanes. Clobbers AX.
#define TAILK(K) \
	MOVL $1, AX \
	SHLL CX, AX \
	DECL AX \
	KMOVW AX, K

// CONSTS32 loads the constants the exp core keeps in registers.
#define CONSTS32 \
	VBROADCASTSS z32shift<>(SB), Z8 \
	VBROADCASTSS z32log2e<>(SB), Z9 \
	VBROADCASTSS z32lo<>(SB), Z10 \
	VBROADCASTSS z32nln2hi<>(SB), Z11 \
	VBROADCASTSS z32nln2lo<>(SB), Z12 \
	VBROADCASTSS z32c6<>(SB), Z13 \
	VBROADCASTSS z32c5<>(SB), Z14 \
	VBROADCASTSS z32c4<>(SB), Z16 \
	VBROADCASTSS z32c3<>(SB), Z17 \
	VBROADCASTSS z32c2<>(SB), Z18 \
	VBROADCASTSS z32c0<>(SB), Z19

// TWOSUM32 splits x − m exactly: Z3 = x + (−m) rounded, Z4 = its rounding
// error (Knuth's two-sum).
#define TWOSUM32 \
	VADDPS Z0, Z2, Z3 \
	VSUBPS Z0, Z3, Z4 \
	VSUBPS Z4, Z3, Z5 \
	VSUBPS Z4, Z2, Z4 \
	VSUBPS Z5, Z0, Z5 \
	VADDPS Z5, Z4, Z4

// SCALE32 multiplies both parts by s.
#define SCALE32 \
	VMULPS Z20, Z3, Z3 \
	VMULPS Z20, Z4, Z4

#define NOSCALE

// EXPCORE32 turns z = Z3 + Z4 (high part, low correction) into exp(z) in
// Z6, zero where Z3 is below the lower threshold (or NaN). Scratch Z5, K2;
// Z3, Z4 are destroyed.
#define EXPCORE32 \
	VMOVAPS Z8, Z5 \
	VFMADD231PS Z9, Z3, Z5 \
	VSUBPS Z8, Z5, Z6 \
	VCMPPS $0x1d, Z10, Z3, K2 \
	VFMADD231PS Z11, Z6, Z3 \
	VFMADD231PS Z12, Z6, Z4 \
	VADDPS Z4, Z3, Z3 \
	VMOVAPS Z13, Z6 \
	VFMADD213PS Z14, Z3, Z6 \
	VFMADD213PS Z16, Z3, Z6 \
	VFMADD213PS Z17, Z3, Z6 \
	VFMADD213PS Z18, Z3, Z6 \
	VFMADD213PS Z19, Z3, Z6 \
	VFMADD213PS Z19, Z3, Z6 \
	VPSLLD $23, Z5, Z5 \
	VPADDD Z5, Z6, Z6 \
	VMOVAPS.Z Z6, K2, Z6

// ES32LOAD(scaled): the exp of the vector at (SI) into Z6.
#define ES32LOAD(scaled) \
	VMOVUPS (SI), Z2 \
	TWOSUM32 \
	scaled \
	EXPCORE32

// ES32TAIL: the exp of the first CX (1..15) elements at (SI) into Z6, the
// other lanes zero; K1 holds the lane mask.
#define ES32TAIL \
	TAILK(K1) \
	VMOVUPS.Z (SI), K1, Z2 \
	TWOSUM32 \
	SCALE32 \
	EXPCORE32 \
	VMOVAPS.Z Z6, K1, Z6

// FLUSH32 adds the float32 accumulator Z1 into the float64 accumulators
// Z21, Z22 and clears it. Scratch Z2.
#define FLUSH32 \
	VCVTPS2PD Y1, Z2 \
	VADDPD Z2, Z21, Z21 \
	VEXTRACTF64X4 $1, Z1, Y2 \
	VCVTPS2PD Y2, Z2 \
	VADDPD Z2, Z22, Z22 \
	VPXORD Z1, Z1, Z1

// HSUM32 returns in X2 the float64 sum of Z21 and Z22.
#define HSUM32 \
	VADDPD Z22, Z21, Z2 \
	VEXTRACTF64X4 $1, Z2, Y3 \
	VADDPD Y3, Y2, Y2 \
	VEXTRACTF128 $1, Y2, X3 \
	VADDPD X3, X2, X2 \
	VPERMILPD $1, X2, X3 \
	VADDSD X3, X2, X2

// PROLOG32 sets Z0 = −m, Z20 = s, the constants, zero accumulators, and
// BX = 1 when s == 1 (no scaling needed).
#define PROLOG32(negm, s) \
	VBROADCASTSS negm, Z0 \
	VBROADCASTSS s, Z20 \
	VPXORD Z1, Z1, Z1 \
	VPXORD Z21, Z21, Z21 \
	VPXORD Z22, Z22, Z22 \
	CONSTS32 \
	XORQ BX, BX \
	MOVL s, AX \
	CMPL AX, $0x3f800000 \
	SETEQ BX

// EXP32GENERAL is exp of Z2 into Z6 with the edge cases of the general
// exponential: +Inf above the upper threshold, NaN for NaN.
#define EXP32GENERAL \
	VMOVAPS Z2, Z3 \
	VPXORD Z4, Z4, Z4 \
	EXPCORE32 \
	VCMPPS $0x1e, Z24, Z2, K3 \
	VMOVAPS Z25, K3, Z6 \
	VCMPPS $3, Z2, Z2, K4 \
	VADDPS Z2, Z2, K4, Z6

// func expSum32AVX512(x []float32, negm, s float32, pf uintptr) float64
// pf is an address the loop prefetches from, advancing with x (the next
// row's data, say), so its load from memory overlaps this row's compute.
TEXT ·expSum32AVX512(SB), NOSPLIT, $0-48
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	MOVQ pf+32(FP), R8
	PROLOG32(negm+24(FP), s+28(FP))
	TESTQ BX, BX
	JZ   es32zsblock

es32zblock:
	CMPQ CX, $128
	JB   es32zvec
	MOVQ $8, DX

es32zinner:
	ES32LOAD(NOSCALE)
	PREFETCHT0 (R8)
	ADDQ $64, R8
	VADDPS Z6, Z1, Z1
	ADDQ $64, SI
	DECQ DX
	JNZ  es32zinner
	SUBQ $128, CX
	FLUSH32
	JMP  es32zblock

es32zsblock:
	CMPQ CX, $128
	JB   es32zvec
	MOVQ $8, DX

es32zsinner:
	ES32LOAD(SCALE32)
	PREFETCHT0 (R8)
	ADDQ $64, R8
	VADDPS Z6, Z1, Z1
	ADDQ $64, SI
	DECQ DX
	JNZ  es32zsinner
	SUBQ $128, CX
	FLUSH32
	JMP  es32zsblock

es32zvec:
	CMPQ CX, $16
	JB   es32ztail
	ES32LOAD(SCALE32)
	VADDPS Z6, Z1, Z1
	ADDQ $64, SI
	SUBQ $16, CX
	JMP  es32zvec

es32ztail:
	TESTQ CX, CX
	JZ    es32zdone
	ES32TAIL
	VADDPS Z6, Z1, Z1

es32zdone:
	FLUSH32
	HSUM32
	VMOVSD X2, ret+40(FP)
	VZEROUPPER
	RET

// func expStoreSum32AVX512(dst, x []float32, negm, s float32, pf uintptr) float64
TEXT ·expStoreSum32AVX512(SB), NOSPLIT, $0-72
	MOVQ dst_base+0(FP), DI
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), CX
	MOVQ pf+56(FP), R8
	PROLOG32(negm+48(FP), s+52(FP))
	TESTQ BX, BX
	JZ   ess32zsblock

ess32zblock:
	CMPQ CX, $128
	JB   ess32zvec
	MOVQ $8, DX

ess32zinner:
	ES32LOAD(NOSCALE)
	PREFETCHT0 (R8)
	ADDQ $64, R8
	VMOVUPS Z6, (DI)
	ADDQ $64, DI
	VADDPS Z6, Z1, Z1
	ADDQ $64, SI
	DECQ DX
	JNZ  ess32zinner
	SUBQ $128, CX
	FLUSH32
	JMP  ess32zblock

ess32zsblock:
	CMPQ CX, $128
	JB   ess32zvec
	MOVQ $8, DX

ess32zsinner:
	ES32LOAD(SCALE32)
	PREFETCHT0 (R8)
	ADDQ $64, R8
	VMOVUPS Z6, (DI)
	ADDQ $64, DI
	VADDPS Z6, Z1, Z1
	ADDQ $64, SI
	DECQ DX
	JNZ  ess32zsinner
	SUBQ $128, CX
	FLUSH32
	JMP  ess32zsblock

ess32zvec:
	CMPQ CX, $16
	JB   ess32ztail
	ES32LOAD(SCALE32)
	VMOVUPS Z6, (DI)
	ADDQ $64, DI
	VADDPS Z6, Z1, Z1
	ADDQ $64, SI
	SUBQ $16, CX
	JMP  ess32zvec

ess32ztail:
	TESTQ CX, CX
	JZ    ess32zdone
	ES32TAIL
	VMOVUPS Z6, K1, (DI)
	VADDPS Z6, Z1, Z1

ess32zdone:
	FLUSH32
	HSUM32
	VMOVSD X2, ret+64(FP)
	VZEROUPPER
	RET

// func expAffine32AVX512(dst, x []float32, negm, s, c, b float32)
// dst = c·exp(s·(x − m)) − b, the product and difference fused.
TEXT ·expAffine32AVX512(SB), NOSPLIT, $0-64
	MOVQ dst_base+0(FP), DI
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), CX
	PROLOG32(negm+48(FP), s+52(FP))
	VBROADCASTSS c+56(FP), Z1
	VBROADCASTSS b+60(FP), Z23

esc32zvec:
	CMPQ CX, $16
	JB   esc32ztail
	ES32LOAD(SCALE32)
	VFMSUB213PS Z23, Z1, Z6
	VMOVUPS Z6, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  esc32zvec

esc32ztail:
	TESTQ CX, CX
	JZ    esc32zdone
	ES32TAIL
	VFMSUB213PS Z23, Z1, Z6
	VMOVUPS Z6, K1, (DI)

esc32zdone:
	VZEROUPPER
	RET

// func exp32AVX512(dst, x []float32)
// The general exponential: NaN → NaN, above the upper threshold → +Inf,
// below the lower one → 0.
TEXT ·exp32AVX512(SB), NOSPLIT, $0-48
	MOVQ dst_base+0(FP), DI
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), CX
	CONSTS32
	VBROADCASTSS z32hi<>(SB), Z24
	VBROADCASTSS z32inf<>(SB), Z25

e32zvec:
	CMPQ CX, $16
	JB   e32ztail
	VMOVUPS (SI), Z2
	EXP32GENERAL
	VMOVUPS Z6, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  e32zvec

e32ztail:
	TESTQ CX, CX
	JZ    e32zdone
	TAILK(K1)
	VMOVUPS.Z (SI), K1, Z2
	EXP32GENERAL
	VMOVUPS Z6, K1, (DI)

e32zdone:
	VZEROUPPER
	RET

// func maxNaN32AVX512(x []float32) (m float32, nan bool)
// VMAXP with the accumulator as second source returns the accumulator
// when either value is NaN, so a NaN never enters the running maxima.
// len(x) ≥ 1.
TEXT ·maxNaN32AVX512(SB), NOSPLIT, $0-29
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	VBROADCASTSS z32ninf<>(SB), Z0
	VMOVAPS Z0, Z1
	VMOVAPS Z0, Z2
	VMOVAPS Z0, Z3
	KXORW K5, K5, K5
	CMPQ CX, $16
	JB   mx32zsmall
	LEAQ -64(SI)(CX*4), R8 // the last full vector, read again at the end

mx32zloop4:
	CMPQ CX, $64
	JB   mx32zloop1
	VMOVUPS (SI), Z8
	VMOVUPS 64(SI), Z9
	VMOVUPS 128(SI), Z10
	VMOVUPS 192(SI), Z11
	VMAXPS Z0, Z8, Z0
	VMAXPS Z1, Z9, Z1
	VMAXPS Z2, Z10, Z2
	VMAXPS Z3, Z11, Z3
	VCMPPS $3, Z8, Z8, K1
	VCMPPS $3, Z9, Z9, K2
	VCMPPS $3, Z10, Z10, K3
	VCMPPS $3, Z11, Z11, K4
	KORW K1, K2, K1
	KORW K3, K4, K3
	KORW K1, K5, K5
	KORW K3, K5, K5
	ADDQ $256, SI
	SUBQ $64, CX
	JMP  mx32zloop4

mx32zloop1:
	CMPQ CX, $16
	JB   mx32zlast
	VMOVUPS (SI), Z8
	VMAXPS Z0, Z8, Z0
	VCMPPS $3, Z8, Z8, K1
	KORW K1, K5, K5
	ADDQ $64, SI
	SUBQ $16, CX
	JMP  mx32zloop1

mx32zlast:
	VMOVUPS (R8), Z8
	VMAXPS Z1, Z8, Z1
	VCMPPS $3, Z8, Z8, K1
	KORW K1, K5, K5
	JMP  mx32zreduce

mx32zsmall:
	TAILK(K1)
	VMOVAPS Z0, Z8
	VMOVUPS (SI), K1, Z8
	VMAXPS Z1, Z8, Z1
	VCMPPS $3, Z8, Z8, K2
	KORW K2, K5, K5

mx32zreduce:
	VMAXPS Z1, Z0, Z0
	VMAXPS Z3, Z2, Z2
	VMAXPS Z2, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VMAXPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0x4e, X0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0xb1, X0, X1
	VMAXPS X1, X0, X0
	VMOVSS X0, m+24(FP)
	KORTESTW K5, K5
	SETNE nan+28(FP)
	VZEROUPPER
	RET

// func sum32AVX512(x []float32) float64
TEXT ·sum32AVX512(SB), NOSPLIT, $0-32
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7

sm32zloop4:
	CMPQ CX, $32
	JB   sm32zloop1
	VCVTPS2PD (SI), Z8
	VCVTPS2PD 32(SI), Z9
	VCVTPS2PD 64(SI), Z10
	VCVTPS2PD 96(SI), Z11
	VADDPD Z8, Z4, Z4
	VADDPD Z9, Z5, Z5
	VADDPD Z10, Z6, Z6
	VADDPD Z11, Z7, Z7
	ADDQ $128, SI
	SUBQ $32, CX
	JMP  sm32zloop4

sm32zloop1:
	CMPQ CX, $8
	JB   sm32ztail
	VCVTPS2PD (SI), Z8
	VADDPD Z8, Z4, Z4
	ADDQ $32, SI
	SUBQ $8, CX
	JMP  sm32zloop1

sm32ztail:
	TESTQ CX, CX
	JZ    sm32zdone
	TAILK(K1)
	VMOVUPS.Z (SI), K1, Z8
	VCVTPS2PD Y8, Z9
	VADDPD Z9, Z5, Z5

sm32zdone:
	VADDPD Z5, Z4, Z4
	VADDPD Z7, Z6, Z6
	VADDPD Z6, Z4, Z4
	VEXTRACTF64X4 $1, Z4, Y5
	VADDPD Y5, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VADDPD X5, X4, X4
	VPERMILPD $1, X4, X5
	VADDSD X5, X4, X4
	VMOVSD X4, ret+24(FP)
	VZEROUPPER
	RET

// func scale32AVX512(dst, x []float32, c float32)
TEXT ·scale32AVX512(SB), NOSPLIT, $0-52
	MOVQ dst_base+0(FP), DI
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), CX
	VBROADCASTSS c+48(FP), Z0

sc32zloop4:
	CMPQ CX, $64
	JB   sc32zloop1
	VMULPS (SI), Z0, Z8
	VMULPS 64(SI), Z0, Z9
	VMULPS 128(SI), Z0, Z10
	VMULPS 192(SI), Z0, Z11
	VMOVUPS Z8, (DI)
	VMOVUPS Z9, 64(DI)
	VMOVUPS Z10, 128(DI)
	VMOVUPS Z11, 192(DI)
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $64, CX
	JMP  sc32zloop4

sc32zloop1:
	CMPQ CX, $16
	JB   sc32ztail
	VMULPS (SI), Z0, Z8
	VMOVUPS Z8, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  sc32zloop1

sc32ztail:
	TESTQ CX, CX
	JZ    sc32zdone
	TAILK(K1)
	VMOVUPS.Z (SI), K1, Z8
	VMULPS Z8, Z0, Z8
	VMOVUPS Z8, K1, (DI)

sc32zdone:
	VZEROUPPER
	RET

// func shiftScale32AVX512(dst, x []float32, m, s, c float32)
// dst = (x − m)·s − c
TEXT ·shiftScale32AVX512(SB), NOSPLIT, $0-60
	MOVQ dst_base+0(FP), DI
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), CX
	VBROADCASTSS m+48(FP), Z0
	VBROADCASTSS s+52(FP), Z1
	VBROADCASTSS c+56(FP), Z2

ss32zloop4:
	CMPQ CX, $64
	JB   ss32zloop1
	VMOVUPS (SI), Z8
	VMOVUPS 64(SI), Z9
	VMOVUPS 128(SI), Z10
	VMOVUPS 192(SI), Z11
	VSUBPS Z0, Z8, Z8
	VSUBPS Z0, Z9, Z9
	VSUBPS Z0, Z10, Z10
	VSUBPS Z0, Z11, Z11
	VMULPS Z1, Z8, Z8
	VMULPS Z1, Z9, Z9
	VMULPS Z1, Z10, Z10
	VMULPS Z1, Z11, Z11
	VSUBPS Z2, Z8, Z8
	VSUBPS Z2, Z9, Z9
	VSUBPS Z2, Z10, Z10
	VSUBPS Z2, Z11, Z11
	VMOVUPS Z8, (DI)
	VMOVUPS Z9, 64(DI)
	VMOVUPS Z10, 128(DI)
	VMOVUPS Z11, 192(DI)
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $64, CX
	JMP  ss32zloop4

ss32zloop1:
	CMPQ CX, $16
	JB   ss32ztail
	VMOVUPS (SI), Z8
	VSUBPS Z0, Z8, Z8
	VMULPS Z1, Z8, Z8
	VSUBPS Z2, Z8, Z8
	VMOVUPS Z8, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  ss32zloop1

ss32ztail:
	TESTQ CX, CX
	JZ    ss32zdone
	TAILK(K1)
	VMOVUPS.Z (SI), K1, Z8
	VSUBPS Z0, Z8, Z8
	VMULPS Z1, Z8, Z8
	VSUBPS Z2, Z8, Z8
	VMOVUPS Z8, K1, (DI)

ss32zdone:
	VZEROUPPER
	RET

// func axpy32AVX512(dst, x []float32, a float32)
// dst += a·x (fused multiply-add).
TEXT ·axpy32AVX512(SB), NOSPLIT, $0-52
	MOVQ dst_base+0(FP), DI
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), CX
	VBROADCASTSS a+48(FP), Z0

ax32zloop4:
	CMPQ CX, $64
	JB   ax32zloop1
	VMOVUPS (DI), Z8
	VMOVUPS 64(DI), Z9
	VMOVUPS 128(DI), Z10
	VMOVUPS 192(DI), Z11
	VFMADD231PS (SI), Z0, Z8
	VFMADD231PS 64(SI), Z0, Z9
	VFMADD231PS 128(SI), Z0, Z10
	VFMADD231PS 192(SI), Z0, Z11
	VMOVUPS Z8, (DI)
	VMOVUPS Z9, 64(DI)
	VMOVUPS Z10, 128(DI)
	VMOVUPS Z11, 192(DI)
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $64, CX
	JMP  ax32zloop4

ax32zloop1:
	CMPQ CX, $16
	JB   ax32ztail
	VMOVUPS (DI), Z8
	VFMADD231PS (SI), Z0, Z8
	VMOVUPS Z8, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  ax32zloop1

ax32ztail:
	TESTQ CX, CX
	JZ    ax32zdone
	TAILK(K1)
	VMOVUPS.Z (SI), K1, Z9
	VMOVUPS.Z (DI), K1, Z8
	VFMADD231PS Z9, Z0, Z8
	VMOVUPS Z8, K1, (DI)

ax32zdone:
	VZEROUPPER
	RET
