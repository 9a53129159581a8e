//go:build !purego

#include "textflag.h"

// float32 kernels, AVX2+FMA.
//
// Register conventions inside the exp kernels: Y0 = −m; Y1 = float32
// accumulator (sums) or the factor c (scaled stores); Y2 = x, Y3..Y7
// scratch; Y8..Y14 the most used constants (CONSTS32). The frame holds the
// broadcast scale s at 0(SP), the float64 accumulators at 32(SP) and
// 64(SP), and the tail mask at 96(SP). Y15 is never touched.

#define BCAST32(name, bits) \
	DATA name<>+0(SB)/4, $bits \
	DATA name<>+4(SB)/4, $bits \
	DATA name<>+8(SB)/4, $bits \
	DATA name<>+12(SB)/4, $bits \
	DATA name<>+16(SB)/4, $bits \
	DATA name<>+20(SB)/4, $bits \
	DATA name<>+24(SB)/4, $bits \
	DATA name<>+28(SB)/4, $bits \
	GLOBL name<>(SB), RODATA|NOPTR, $32

BCAST32(f32log2e, 0x3fb8aa3b)
BCAST32(f32shift, 0x4b400000)
BCAST32(f32nln2hi, 0xbf317200)
BCAST32(f32nln2lo, 0xb5bfbe8e)
BCAST32(f32lo, 0xc2aeac4f)
BCAST32(f32hi, 0x42b17217)
BCAST32(f32inf, 0x7f800000)
BCAST32(f32ninf, 0xff800000)
BCAST32(f32c0, 0x3f800000)
BCAST32(f32c2, 0x3f000000)
BCAST32(f32c3, 0x3e2aa9f4)
BCAST32(f32c4, 0x3d2aaa4f)
BCAST32(f32c5, 0x3c093eec)
BCAST32(f32c6, 0x3ab6c1b0)

// tail32 holds eight all-ones lanes then eight zero lanes: the 32 bytes at
// tail32+32−4t enable the first t lanes.
DATA tail32<>+0(SB)/8, $-1
DATA tail32<>+8(SB)/8, $-1
DATA tail32<>+16(SB)/8, $-1
DATA tail32<>+24(SB)/8, $-1
DATA tail32<>+32(SB)/8, $0
DATA tail32<>+40(SB)/8, $0
DATA tail32<>+48(SB)/8, $0
DATA tail32<>+56(SB)/8, $0
GLOBL tail32<>(SB), RODATA|NOPTR, $64

// TAILMASK32(Y) loads into Y the mask enabling the first CX (1..7) lanes.
#define TAILMASK32(Y) \
	LEAQ tail32<>+32(SB), AX \
	MOVQ CX, DX \
	SHLQ $2, DX \
	SUBQ DX, AX \
	VMOVUPS (AX), Y

// CONSTS32 loads the constants the exp core keeps in registers.
#define CONSTS32 \
	VBROADCASTSS f32shift<>(SB), Y8 \
	VBROADCASTSS f32log2e<>(SB), Y9 \
	VBROADCASTSS f32lo<>(SB), Y10 \
	VBROADCASTSS f32nln2hi<>(SB), Y11 \
	VBROADCASTSS f32nln2lo<>(SB), Y12 \
	VBROADCASTSS f32c6<>(SB), Y13 \
	VBROADCASTSS f32c5<>(SB), Y14

// TWOSUM32 splits x − m exactly: Y3 = x + (−m) rounded, Y4 = its rounding
// error (Knuth's two-sum, no branch, valid for any magnitudes).
#define TWOSUM32 \
	VADDPS Y0, Y2, Y3 \
	VSUBPS Y0, Y3, Y4 \
	VSUBPS Y4, Y3, Y5 \
	VSUBPS Y4, Y2, Y4 \
	VSUBPS Y5, Y0, Y5 \
	VADDPS Y5, Y4, Y4

// SCALE32 multiplies both parts by s (kept at 0(SP)).
#define SCALE32 \
	VMULPS 0(SP), Y3, Y3 \
	VMULPS 0(SP), Y4, Y4

// EXPCORE32 turns z = Y3 + Y4 (high part, low correction) into exp(z) in
// Y6, zero where Y3 < the lower threshold. Scratch Y5, Y7; Y3, Y4 are
// destroyed. n = round(z·log2e) through the shifter, r = z − n·ln2 in two
// parts, a degree-6 Horner polynomial, and 2ⁿ added to the exponent bits.
#define EXPCORE32 \
	VMOVAPS Y8, Y5 \
	VFMADD231PS Y9, Y3, Y5 \
	VSUBPS Y8, Y5, Y6 \
	VCMPPS $0x1d, Y10, Y3, Y7 \
	VFMADD231PS Y11, Y6, Y3 \
	VFMADD231PS Y12, Y6, Y4 \
	VADDPS Y4, Y3, Y3 \
	VMOVAPS Y13, Y6 \
	VFMADD213PS Y14, Y3, Y6 \
	VFMADD213PS f32c4<>(SB), Y3, Y6 \
	VFMADD213PS f32c3<>(SB), Y3, Y6 \
	VFMADD213PS f32c2<>(SB), Y3, Y6 \
	VFMADD213PS f32c0<>(SB), Y3, Y6 \
	VFMADD213PS f32c0<>(SB), Y3, Y6 \
	VPSLLD $23, Y5, Y5 \
	VPADDD Y5, Y6, Y6 \
	VANDPS Y7, Y6, Y6

// FLUSH32 adds the float32 accumulator Y1 into the float64 accumulators
// at 32(SP) and 64(SP) and clears it. Scratch Y2.
#define FLUSH32 \
	VCVTPS2PD X1, Y2 \
	VADDPD 32(SP), Y2, Y2 \
	VMOVUPD Y2, 32(SP) \
	VEXTRACTF128 $1, Y1, X2 \
	VCVTPS2PD X2, Y2 \
	VADDPD 64(SP), Y2, Y2 \
	VMOVUPD Y2, 64(SP) \
	VXORPS Y1, Y1, Y1

// HSUM32 returns in X2 the float64 sum of the accumulators in the frame.
#define HSUM32 \
	VMOVUPD 32(SP), Y2 \
	VADDPD 64(SP), Y2, Y2 \
	VEXTRACTF128 $1, Y2, X3 \
	VADDPD X3, X2, X2 \
	VPERMILPD $1, X2, X3 \
	VADDSD X3, X2, X2

// HSUM64 reduces Y6 + Y7 to a float64 in X6.
#define HSUM64 \
	VADDPD Y7, Y6, Y6 \
	VEXTRACTF128 $1, Y6, X7 \
	VADDPD X7, X6, X6 \
	VPERMILPD $1, X6, X7 \
	VADDSD X7, X6, X6

// PROLOG32 sets Y0 = −m, the constants, s at 0(SP), zero accumulators,
// and BX = 1 when s == 1 (no scaling needed).
#define PROLOG32(negm, s) \
	VBROADCASTSS negm, Y0 \
	VBROADCASTSS s, Y2 \
	VMOVUPS Y2, 0(SP) \
	VXORPS Y1, Y1, Y1 \
	VMOVUPS Y1, 32(SP) \
	VMOVUPS Y1, 64(SP) \
	CONSTS32 \
	XORQ BX, BX \
	MOVL s, AX \
	CMPL AX, $0x3f800000 \
	SETEQ BX

// ES32BODY(scaled): the exp of one vector at (SI) into Y6.
#define ES32LOAD(scaled) \
	VMOVUPS (SI), Y2 \
	TWOSUM32 \
	scaled \
	EXPCORE32

#define NOSCALE

// ES32TAIL computes the masked tail (CX lanes, 1..7) into Y6, saving the
// lane mask at 96(SP).
#define ES32TAIL \
	TAILMASK32(Y5) \
	VMOVUPS Y5, 96(SP) \
	VMASKMOVPS (SI), Y5, Y2 \
	TWOSUM32 \
	VMULPS 0(SP), Y3, Y3 \
	VMULPS 0(SP), Y4, Y4 \
	EXPCORE32 \
	VANDPS 96(SP), Y6, Y6

// EXP32GENERAL is exp of Y2 into Y6 with the edge cases of the general
// exponential: +Inf above the upper threshold, NaN for NaN.
#define EXP32GENERAL \
	VMOVAPS Y2, Y3 \
	VXORPS Y4, Y4, Y4 \
	EXPCORE32 \
	VCMPPS $0x1e, f32hi<>(SB), Y2, Y7 \
	VMOVUPS f32inf<>(SB), Y5 \
	VBLENDVPS Y7, Y5, Y6, Y6 \
	VCMPPS $3, Y2, Y2, Y7 \
	VADDPS Y2, Y2, Y2 \
	VBLENDVPS Y7, Y2, Y6, Y6

// func expSum32AVX2(x []float32, negm, s float32, pf uintptr) float64
// pf is an address the loop prefetches from, advancing with x (the next
// row's data, say), so its load from memory overlaps this row's compute.
TEXT ·expSum32AVX2(SB), NOSPLIT, $128-48
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	MOVQ pf+32(FP), R8
	PROLOG32(negm+24(FP), s+28(FP))
	TESTQ BX, BX
	JZ   es32sblock

es32block:
	CMPQ CX, $64
	JB   es32vec
	MOVQ $8, DX

es32inner:
	ES32LOAD(NOSCALE)
	PREFETCHT0 (R8)
	ADDQ $32, R8
	VADDPS Y6, Y1, Y1
	ADDQ $32, SI
	DECQ DX
	JNZ  es32inner
	SUBQ $64, CX
	FLUSH32
	JMP  es32block

es32sblock:
	CMPQ CX, $64
	JB   es32vec
	MOVQ $8, DX

es32sinner:
	ES32LOAD(SCALE32)
	PREFETCHT0 (R8)
	ADDQ $32, R8
	VADDPS Y6, Y1, Y1
	ADDQ $32, SI
	DECQ DX
	JNZ  es32sinner
	SUBQ $64, CX
	FLUSH32
	JMP  es32sblock

es32vec:
	CMPQ CX, $8
	JB   es32tail
	ES32LOAD(SCALE32)
	VADDPS Y6, Y1, Y1
	ADDQ $32, SI
	SUBQ $8, CX
	JMP  es32vec

es32tail:
	TESTQ CX, CX
	JZ    es32done
	ES32TAIL
	VADDPS Y6, Y1, Y1

es32done:
	FLUSH32
	HSUM32
	VMOVSD X2, ret+40(FP)
	VZEROUPPER
	RET

// func expStoreSum32AVX2(dst, x []float32, negm, s float32, pf uintptr) float64
TEXT ·expStoreSum32AVX2(SB), NOSPLIT, $128-72
	MOVQ dst_base+0(FP), DI
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), CX
	MOVQ pf+56(FP), R8
	PROLOG32(negm+48(FP), s+52(FP))
	TESTQ BX, BX
	JZ   ess32sblock

ess32block:
	CMPQ CX, $64
	JB   ess32vec
	MOVQ $8, DX

ess32inner:
	ES32LOAD(NOSCALE)
	PREFETCHT0 (R8)
	ADDQ $32, R8
	VMOVUPS Y6, (DI)
	VADDPS Y6, Y1, Y1
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ DX
	JNZ  ess32inner
	SUBQ $64, CX
	FLUSH32
	JMP  ess32block

ess32sblock:
	CMPQ CX, $64
	JB   ess32vec
	MOVQ $8, DX

ess32sinner:
	ES32LOAD(SCALE32)
	PREFETCHT0 (R8)
	ADDQ $32, R8
	VMOVUPS Y6, (DI)
	VADDPS Y6, Y1, Y1
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ DX
	JNZ  ess32sinner
	SUBQ $64, CX
	FLUSH32
	JMP  ess32sblock

ess32vec:
	CMPQ CX, $8
	JB   ess32tail
	ES32LOAD(SCALE32)
	VMOVUPS Y6, (DI)
	VADDPS Y6, Y1, Y1
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  ess32vec

ess32tail:
	TESTQ CX, CX
	JZ    ess32done
	ES32TAIL
	VMOVUPS 96(SP), Y5
	VMASKMOVPS Y6, Y5, (DI)
	VADDPS Y6, Y1, Y1

ess32done:
	FLUSH32
	HSUM32
	VMOVSD X2, ret+64(FP)
	VZEROUPPER
	RET

// func expAffine32AVX2(dst, x []float32, negm, s, c, b float32)
// dst = c·exp(s·(x − m)) − b, the product and difference fused (one rounding).
TEXT ·expAffine32AVX2(SB), NOSPLIT, $128-64
	MOVQ dst_base+0(FP), DI
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), CX
	PROLOG32(negm+48(FP), s+52(FP))
	VBROADCASTSS c+56(FP), Y1
	VBROADCASTSS b+60(FP), Y2
	VMOVUPS Y2, 32(SP)

esc32vec:
	CMPQ CX, $8
	JB   esc32tail
	ES32LOAD(SCALE32)
	VFMSUB213PS 32(SP), Y1, Y6
	VMOVUPS Y6, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  esc32vec

esc32tail:
	TESTQ CX, CX
	JZ    esc32done
	ES32TAIL
	VFMSUB213PS 32(SP), Y1, Y6
	VMOVUPS 96(SP), Y5
	VMASKMOVPS Y6, Y5, (DI)

esc32done:
	VZEROUPPER
	RET

// func exp32AVX2(dst, x []float32)
// The general exponential: NaN → NaN, above the upper threshold → +Inf,
// below the lower one → 0.
TEXT ·exp32AVX2(SB), NOSPLIT, $128-48
	MOVQ dst_base+0(FP), DI
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), CX
	CONSTS32

e32vec:
	CMPQ CX, $8
	JB   e32tail
	VMOVUPS (SI), Y2
	EXP32GENERAL
	VMOVUPS Y6, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  e32vec

e32tail:
	TESTQ CX, CX
	JZ    e32done
	TAILMASK32(Y5)
	VMOVUPS Y5, 96(SP)
	VMASKMOVPS (SI), Y5, Y2
	EXP32GENERAL
	VMOVUPS 96(SP), Y5
	VMASKMOVPS Y6, Y5, (DI)

e32done:
	VZEROUPPER
	RET

// func maxNaN32AVX2(x []float32) (m float32, nan bool)
// VMAXP with the accumulator as second source returns the accumulator
// when either value is NaN, so a NaN never enters the running maxima.
// len(x) ≥ 1.
TEXT ·maxNaN32AVX2(SB), NOSPLIT, $0-29
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	VBROADCASTSS f32ninf<>(SB), Y0
	VMOVAPS Y0, Y1
	VMOVAPS Y0, Y2
	VMOVAPS Y0, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	CMPQ CX, $8
	JB   mx32small
	LEAQ -32(SI)(CX*4), R8 // the last full vector, read again at the end

mx32loop4:
	CMPQ CX, $32
	JB   mx32loop1
	VMOVUPS (SI), Y8
	VMOVUPS 32(SI), Y9
	VMOVUPS 64(SI), Y10
	VMOVUPS 96(SI), Y11
	VMAXPS Y0, Y8, Y0
	VMAXPS Y1, Y9, Y1
	VMAXPS Y2, Y10, Y2
	VMAXPS Y3, Y11, Y3
	VCMPPS $3, Y8, Y8, Y8
	VCMPPS $3, Y9, Y9, Y9
	VCMPPS $3, Y10, Y10, Y10
	VCMPPS $3, Y11, Y11, Y11
	VORPS Y8, Y4, Y4
	VORPS Y9, Y5, Y5
	VORPS Y10, Y4, Y4
	VORPS Y11, Y5, Y5
	ADDQ $128, SI
	SUBQ $32, CX
	JMP  mx32loop4

mx32loop1:
	CMPQ CX, $8
	JB   mx32last
	VMOVUPS (SI), Y8
	VMAXPS Y0, Y8, Y0
	VCMPPS $3, Y8, Y8, Y8
	VORPS Y8, Y4, Y4
	ADDQ $32, SI
	SUBQ $8, CX
	JMP  mx32loop1

mx32last:
	VMOVUPS (R8), Y8
	VMAXPS Y1, Y8, Y1
	VCMPPS $3, Y8, Y8, Y8
	VORPS Y8, Y5, Y5
	JMP  mx32reduce

mx32small:
	TAILMASK32(Y14)
	VMASKMOVPS (SI), Y14, Y8
	VBLENDVPS Y14, Y8, Y0, Y8
	VMAXPS Y1, Y8, Y1
	VCMPPS $3, Y8, Y8, Y8
	VORPS Y8, Y5, Y5

mx32reduce:
	VMAXPS Y1, Y0, Y0
	VMAXPS Y3, Y2, Y2
	VMAXPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0x4e, X0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0xb1, X0, X1
	VMAXPS X1, X0, X0
	VMOVSS X0, m+24(FP)
	VORPS Y5, Y4, Y4
	VMOVMSKPS Y4, AX
	TESTL AX, AX
	SETNE nan+28(FP)
	VZEROUPPER
	RET

// func sum32AVX2(x []float32) float64
TEXT ·sum32AVX2(SB), NOSPLIT, $0-32
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5

sm32loop2:
	CMPQ CX, $16
	JB   sm32loop1
	VCVTPS2PD (SI), Y8
	VCVTPS2PD 16(SI), Y9
	VCVTPS2PD 32(SI), Y10
	VCVTPS2PD 48(SI), Y11
	VADDPD Y8, Y4, Y4
	VADDPD Y9, Y5, Y5
	VADDPD Y10, Y6, Y6
	VADDPD Y11, Y7, Y7
	ADDQ $64, SI
	SUBQ $16, CX
	JMP  sm32loop2

sm32loop1:
	CMPQ CX, $8
	JB   sm32tail
	VCVTPS2PD (SI), Y8
	VCVTPS2PD 16(SI), Y9
	VADDPD Y8, Y4, Y4
	VADDPD Y9, Y5, Y5
	ADDQ $32, SI
	SUBQ $8, CX

sm32tail:
	TESTQ CX, CX
	JZ    sm32done
	TAILMASK32(Y14)
	VMASKMOVPS (SI), Y14, Y8
	VCVTPS2PD X8, Y9
	VEXTRACTF128 $1, Y8, X8
	VCVTPS2PD X8, Y8
	VADDPD Y9, Y4, Y4
	VADDPD Y8, Y5, Y5

sm32done:
	VADDPD Y4, Y6, Y6
	VADDPD Y5, Y7, Y7
	HSUM64
	VMOVSD X6, ret+24(FP)
	VZEROUPPER
	RET

// func scale32AVX2(dst, x []float32, c float32)
TEXT ·scale32AVX2(SB), NOSPLIT, $0-52
	MOVQ dst_base+0(FP), DI
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), CX
	VBROADCASTSS c+48(FP), Y0

sc32loop4:
	CMPQ CX, $32
	JB   sc32loop1
	VMULPS (SI), Y0, Y8
	VMULPS 32(SI), Y0, Y9
	VMULPS 64(SI), Y0, Y10
	VMULPS 96(SI), Y0, Y11
	VMOVUPS Y8, (DI)
	VMOVUPS Y9, 32(DI)
	VMOVUPS Y10, 64(DI)
	VMOVUPS Y11, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  sc32loop4

sc32loop1:
	CMPQ CX, $8
	JB   sc32tail
	VMULPS (SI), Y0, Y8
	VMOVUPS Y8, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  sc32loop1

sc32tail:
	TESTQ CX, CX
	JZ    sc32done
	TAILMASK32(Y14)
	VMASKMOVPS (SI), Y14, Y8
	VMULPS Y8, Y0, Y8
	VMASKMOVPS Y8, Y14, (DI)

sc32done:
	VZEROUPPER
	RET

// func shiftScale32AVX2(dst, x []float32, m, s, c float32)
// dst = (x − m)·s − c
TEXT ·shiftScale32AVX2(SB), NOSPLIT, $0-60
	MOVQ dst_base+0(FP), DI
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), CX
	VBROADCASTSS m+48(FP), Y0
	VBROADCASTSS s+52(FP), Y1
	VBROADCASTSS c+56(FP), Y2

ss32loop4:
	CMPQ CX, $32
	JB   ss32loop1
	VMOVUPS (SI), Y8
	VMOVUPS 32(SI), Y9
	VMOVUPS 64(SI), Y10
	VMOVUPS 96(SI), Y11
	VSUBPS Y0, Y8, Y8
	VSUBPS Y0, Y9, Y9
	VSUBPS Y0, Y10, Y10
	VSUBPS Y0, Y11, Y11
	VMULPS Y1, Y8, Y8
	VMULPS Y1, Y9, Y9
	VMULPS Y1, Y10, Y10
	VMULPS Y1, Y11, Y11
	VSUBPS Y2, Y8, Y8
	VSUBPS Y2, Y9, Y9
	VSUBPS Y2, Y10, Y10
	VSUBPS Y2, Y11, Y11
	VMOVUPS Y8, (DI)
	VMOVUPS Y9, 32(DI)
	VMOVUPS Y10, 64(DI)
	VMOVUPS Y11, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  ss32loop4

ss32loop1:
	CMPQ CX, $8
	JB   ss32tail
	VMOVUPS (SI), Y8
	VSUBPS Y0, Y8, Y8
	VMULPS Y1, Y8, Y8
	VSUBPS Y2, Y8, Y8
	VMOVUPS Y8, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  ss32loop1

ss32tail:
	TESTQ CX, CX
	JZ    ss32done
	TAILMASK32(Y14)
	VMASKMOVPS (SI), Y14, Y8
	VSUBPS Y0, Y8, Y8
	VMULPS Y1, Y8, Y8
	VSUBPS Y2, Y8, Y8
	VMASKMOVPS Y8, Y14, (DI)

ss32done:
	VZEROUPPER
	RET

// func axpy32AVX2(dst, x []float32, a float32)
// dst += a·x (fused multiply-add).
TEXT ·axpy32AVX2(SB), NOSPLIT, $0-52
	MOVQ dst_base+0(FP), DI
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), CX
	VBROADCASTSS a+48(FP), Y0

ax32loop4:
	CMPQ CX, $32
	JB   ax32loop1
	VMOVUPS (DI), Y8
	VMOVUPS 32(DI), Y9
	VMOVUPS 64(DI), Y10
	VMOVUPS 96(DI), Y11
	VFMADD231PS (SI), Y0, Y8
	VFMADD231PS 32(SI), Y0, Y9
	VFMADD231PS 64(SI), Y0, Y10
	VFMADD231PS 96(SI), Y0, Y11
	VMOVUPS Y8, (DI)
	VMOVUPS Y9, 32(DI)
	VMOVUPS Y10, 64(DI)
	VMOVUPS Y11, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  ax32loop4

ax32loop1:
	CMPQ CX, $8
	JB   ax32tail
	VMOVUPS (DI), Y8
	VFMADD231PS (SI), Y0, Y8
	VMOVUPS Y8, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  ax32loop1

ax32tail:
	TESTQ CX, CX
	JZ    ax32done
	TAILMASK32(Y14)
	VMASKMOVPS (SI), Y14, Y9
	VMASKMOVPS (DI), Y14, Y8
	VFMADD231PS Y9, Y0, Y8
	VMASKMOVPS Y8, Y14, (DI)

ax32done:
	VZEROUPPER
	RET
