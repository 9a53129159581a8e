//go:build !purego

#include "textflag.h"

// The sampler's kernels, AVX-512 (AVX512F + POPCNT). Sums are kept in
// sixteen float64 lanes, element i in lane i mod 16 (lanes 0–7 in one ZMM
// register, 8–15 in another), and combined as reduce16 does: lane k with
// k+8, then k with k+4, k with k+2, and the last two. Tails use masked
// loads (opmask K7), so no kernel reads outside its slices.

DATA iota<>+0(SB)/4, $0
DATA iota<>+4(SB)/4, $1
DATA iota<>+8(SB)/4, $2
DATA iota<>+12(SB)/4, $3
DATA iota<>+16(SB)/4, $4
DATA iota<>+20(SB)/4, $5
DATA iota<>+24(SB)/4, $6
DATA iota<>+28(SB)/4, $7
DATA iota<>+32(SB)/4, $8
DATA iota<>+36(SB)/4, $9
DATA iota<>+40(SB)/4, $10
DATA iota<>+44(SB)/4, $11
DATA iota<>+48(SB)/4, $12
DATA iota<>+52(SB)/4, $13
DATA iota<>+56(SB)/4, $14
DATA iota<>+60(SB)/4, $15
GLOBL iota<>(SB), RODATA|NOPTR, $64

// TAILMASK sets K7 to the low CX bits (0 < CX < 16); clobbers AX.
#define TAILMASK \
	MOVL  $1, AX   \
	SHLL  CX, AX   \
	DECL  AX       \
	KMOVW AX, K7

// REDUCE combines the lane sums in LO (lanes 0–7) and HI (8–15) into X0
// in the fixed order; clobbers Z0 and Z1.
#define REDUCE(LO, HI) \
	VADDPD        HI, LO, Z0 \
	VEXTRACTF64X4 $1, Z0, Y1 \
	VADDPD        Y1, Y0, Y0 \
	VEXTRACTF128  $1, Y0, X1 \
	VADDPD        X1, X0, X0 \
	VUNPCKHPD     X0, X0, X1 \
	VADDSD        X1, X0, X0

// func sum64AVX512(x []float32) float64
TEXT ·sum64AVX512(SB), NOSPLIT, $0-32
	MOVQ   x_base+0(FP), SI
	MOVQ   x_len+8(FP), CX
	VPXORQ Z2, Z2, Z2
	VPXORQ Z3, Z3, Z3

sumloop:
	CMPQ      CX, $16
	JLT       sumtail
	VCVTPS2PD (SI), Z4
	VCVTPS2PD 32(SI), Z5
	VADDPD    Z4, Z2, Z2
	VADDPD    Z5, Z3, Z3
	ADDQ      $64, SI
	SUBQ      $16, CX
	JMP       sumloop

sumtail:
	TESTQ         CX, CX
	JZ            sumdone
	TAILMASK
	KSHIFTRW      $8, K7, K6
	VMOVUPS.Z     (SI), K7, Z6
	VCVTPS2PD     Y6, Z4
	VEXTRACTF64X4 $1, Z6, Y7
	VCVTPS2PD     Y7, Z5
	VADDPD        Z4, Z2, K7, Z2
	VADDPD        Z5, Z3, K6, Z3

sumdone:
	REDUCE(Z2, Z3)
	VZEROUPPER
	MOVSD X0, ret+24(FP)
	RET

// STEP adds the e lanes (Z25, Z26) to the accumulators LO, HI of the
// threshold in T where key (Z24) ≥ T, within the lanes of mask KM.
#define STEP(T, LO, HI, KM) \
	VCMPPS   $0x1d, T, Z24, KM, K1 \
	KSHIFTRW $8, K1, K2            \
	VADDPD   Z25, LO, K1, LO       \
	VADDPD   Z26, HI, K2, HI

#define STEPS(KM) \
	STEP(Z0, Z8, Z9, KM)   \
	STEP(Z1, Z10, Z11, KM) \
	STEP(Z2, Z12, Z13, KM) \
	STEP(Z3, Z14, Z15, KM) \
	STEP(Z4, Z16, Z17, KM) \
	STEP(Z5, Z18, Z19, KM) \
	STEP(Z6, Z20, Z21, KM) \
	STEP(Z7, Z22, Z23, KM)

// func massAboveAVX512(key, e []float32, thr *[8]float32, out *[8]float64)
TEXT ·massAboveAVX512(SB), NOSPLIT, $0-64
	MOVQ         key_base+0(FP), SI
	MOVQ         key_len+8(FP), CX
	MOVQ         e_base+24(FP), DI
	MOVQ         thr+48(FP), R8
	MOVQ         out+56(FP), R9
	VBROADCASTSS 0(R8), Z0
	VBROADCASTSS 4(R8), Z1
	VBROADCASTSS 8(R8), Z2
	VBROADCASTSS 12(R8), Z3
	VBROADCASTSS 16(R8), Z4
	VBROADCASTSS 20(R8), Z5
	VBROADCASTSS 24(R8), Z6
	VBROADCASTSS 28(R8), Z7
	VPXORQ       Z8, Z8, Z8
	VPXORQ       Z9, Z9, Z9
	VPXORQ       Z10, Z10, Z10
	VPXORQ       Z11, Z11, Z11
	VPXORQ       Z12, Z12, Z12
	VPXORQ       Z13, Z13, Z13
	VPXORQ       Z14, Z14, Z14
	VPXORQ       Z15, Z15, Z15
	VPXORQ       Z16, Z16, Z16
	VPXORQ       Z17, Z17, Z17
	VPXORQ       Z18, Z18, Z18
	VPXORQ       Z19, Z19, Z19
	VPXORQ       Z20, Z20, Z20
	VPXORQ       Z21, Z21, Z21
	VPXORQ       Z22, Z22, Z22
	VPXORQ       Z23, Z23, Z23
	MOVL         $0xffff, AX
	KMOVW        AX, K3

massloop:
	CMPQ      CX, $16
	JLT       masstail
	VMOVUPS   (SI), Z24
	VCVTPS2PD (DI), Z25
	VCVTPS2PD 32(DI), Z26
	STEPS(K3)
	ADDQ      $64, SI
	ADDQ      $64, DI
	SUBQ      $16, CX
	JMP       massloop

masstail:
	TESTQ         CX, CX
	JZ            massdone
	TAILMASK
	VMOVUPS.Z     (SI), K7, Z24
	VMOVUPS.Z     (DI), K7, Z27
	VCVTPS2PD     Y27, Z25
	VEXTRACTF64X4 $1, Z27, Y28
	VCVTPS2PD     Y28, Z26
	STEPS(K7)

massdone:
	REDUCE(Z8, Z9)
	MOVSD X0, 0(R9)
	REDUCE(Z10, Z11)
	MOVSD X0, 8(R9)
	REDUCE(Z12, Z13)
	MOVSD X0, 16(R9)
	REDUCE(Z14, Z15)
	MOVSD X0, 24(R9)
	REDUCE(Z16, Z17)
	MOVSD X0, 32(R9)
	REDUCE(Z18, Z19)
	MOVSD X0, 40(R9)
	REDUCE(Z20, Z21)
	MOVSD X0, 48(R9)
	REDUCE(Z22, Z23)
	MOVSD X0, 56(R9)
	VZEROUPPER
	RET

// CSELECT sets K1 to the lanes of Z4 (keys) in [lo, hi) = [Z0, Z1)
// within the mask KM, and AX to their bit pattern.
#define CSELECT(KM) \
	VCMPPS $0x1d, Z0, Z4, KM, K1 \
	VCMPPS $0x11, Z1, Z4, K1, K1 \
	KMOVW  K1, AX

// CSTORE writes the selected lanes of Z4 (keys), Z6 (payload) and IDS
// at output position R12 and advances R12.
#define CSTORE(IDS) \
	POPCNTL     AX, AX           \
	VCOMPRESSPS Z4, K1, Z5       \
	VMOVUPS     Z5, (R10)(R12*4) \
	VCOMPRESSPS Z6, K1, Z7       \
	VMOVUPS     Z7, (R11)(R12*4) \
	VPCOMPRESSD IDS, K1, Z8      \
	VMOVDQU32   Z8, (R9)(R12*4)  \
	ADDQ        AX, R12

// func compressAVX512(key, a []float32, ids []int32, base int32, lo, hi float32, oIds []int32, oKey, oA []float32) int
TEXT ·compressAVX512(SB), NOSPLIT, $0-168
	MOVQ         key_base+0(FP), SI
	MOVQ         key_len+8(FP), CX
	MOVQ         a_base+24(FP), DI
	MOVQ         ids_base+48(FP), R8
	MOVQ         oIds_base+88(FP), R9
	MOVQ         oKey_base+112(FP), R10
	MOVQ         oA_base+136(FP), R11
	VBROADCASTSS lo+76(FP), Z0
	VBROADCASTSS hi+80(FP), Z1
	MOVL         base+72(FP), AX
	VPBROADCASTD AX, Z2
	VPADDD       iota<>(SB), Z2, Z2
	MOVL         $16, AX
	VPBROADCASTD AX, Z3
	MOVL         $0xffff, AX
	KMOVW        AX, K3
	XORQ         R12, R12
	XORQ         BX, BX
	TESTQ        R8, R8
	JNZ          sparse

dense:
	LEAQ 16(BX), DX
	CMPQ DX, CX
	JGT  densetail
	VMOVUPS (SI)(BX*4), Z4
	CSELECT(K3)
	TESTL AX, AX
	JZ    densenext
	VMOVUPS (DI)(BX*4), Z6
	CSTORE(Z2)

densenext:
	VPADDD Z3, Z2, Z2
	MOVQ   DX, BX
	JMP    dense

densetail:
	CMPQ BX, CX
	JGE  cdone
	SUBQ BX, CX
	TAILMASK
	VMOVUPS.Z (SI)(BX*4), K7, Z4
	CSELECT(K7)
	TESTL AX, AX
	JZ    cdone
	VMOVUPS.Z (DI)(BX*4), K7, Z6
	CSTORE(Z2)
	JMP cdone

sparse:
	LEAQ 16(BX), DX
	CMPQ DX, CX
	JGT  sparsetail
	VMOVUPS (SI)(BX*4), Z4
	CSELECT(K3)
	TESTL AX, AX
	JZ    sparsenext
	VMOVUPS   (DI)(BX*4), Z6
	VMOVDQU32 (R8)(BX*4), Z9
	CSTORE(Z9)

sparsenext:
	MOVQ DX, BX
	JMP  sparse

sparsetail:
	CMPQ BX, CX
	JGE  cdone
	SUBQ BX, CX
	TAILMASK
	VMOVUPS.Z (SI)(BX*4), K7, Z4
	CSELECT(K7)
	TESTL AX, AX
	JZ    cdone
	VMOVUPS.Z   (DI)(BX*4), K7, Z6
	VMOVDQU32.Z (R8)(BX*4), K7, Z9
	CSTORE(Z9)

cdone:
	VZEROUPPER
	MOVQ R12, ret+160(FP)
	RET

// SSELECT sets K1 to the lanes of Z4 (keys) in [lo, hi) = [Z0, Z1) and
// K2 to those ≥ hi, within the mask KM, AX to K1's bit pattern, and adds
// the count of K2 to R13.
#define SSELECT(KM) \
	VCMPPS  $0x1d, Z1, Z4, KM, K2 \
	VCMPPS  $0x1d, Z0, Z4, KM, K1 \
	KANDNW  K1, K2, K1             \
	KMOVW   K1, AX                 \
	KMOVW   K2, DX                 \
	POPCNTL DX, DX                 \
	ADDQ    DX, R13

// SSUMS adds the e lanes (Z5: float32) to the totals (Z10, Z11) within
// KM and to the masses above hi (Z12, Z13) within K2.
#define SSUMS(KM) \
	VCVTPS2PD     Y5, Z6           \
	VEXTRACTF64X4 $1, Z5, Y7       \
	VCVTPS2PD     Y7, Z7           \
	KSHIFTRW      $8, KM, K4       \
	VADDPD        Z6, Z10, KM, Z10 \
	VADDPD        Z7, Z11, K4, Z11 \
	KSHIFTRW      $8, K2, K5       \
	VADDPD        Z6, Z12, K2, Z12 \
	VADDPD        Z7, Z13, K5, Z13

// SSTORE writes the ids (IDS) of the lanes of K1 at position R12 of the
// output R9 and advances R12 by their count (AX).
#define SSTORE(IDS) \
	POPCNTL     AX, AX          \
	VPCOMPRESSD IDS, K1, Z8     \
	VMOVDQU32   Z8, (R9)(R12*4) \
	ADDQ        AX, R12

// func splitAVX512(key, e []float32, ids []int32, base int32, lo, hi float32, out []int32) (n int, total, above float64, nAbove int)
TEXT ·splitAVX512(SB), NOSPLIT, $0-144
	MOVQ         key_base+0(FP), SI
	MOVQ         key_len+8(FP), CX
	MOVQ         e_base+24(FP), DI
	MOVQ         ids_base+48(FP), R8
	MOVQ         out_base+88(FP), R9
	VBROADCASTSS lo+76(FP), Z0
	VBROADCASTSS hi+80(FP), Z1
	MOVL         base+72(FP), AX
	VPBROADCASTD AX, Z2
	VPADDD       iota<>(SB), Z2, Z2
	MOVL         $16, AX
	VPBROADCASTD AX, Z3
	VPXORQ       Z10, Z10, Z10
	VPXORQ       Z11, Z11, Z11
	VPXORQ       Z12, Z12, Z12
	VPXORQ       Z13, Z13, Z13
	MOVL         $0xffff, AX
	KMOVW        AX, K3
	XORQ         R12, R12
	XORQ         R13, R13

sloop:
	CMPQ    CX, $16
	JLT     stail
	VMOVUPS (SI), Z4
	VMOVUPS (DI), Z5
	TESTQ   R8, R8
	JZ      sdense
	VMOVDQU32 (R8), Z2
	ADDQ      $64, R8

sdense:
	SSELECT(K3)
	SSUMS(K3)
	SSTORE(Z2) // no branch: the lanes in [lo, hi) are rare but not predictable
	VPADDD Z3, Z2, Z2
	ADDQ   $64, SI
	ADDQ   $64, DI
	SUBQ   $16, CX
	JMP    sloop

stail:
	TESTQ CX, CX
	JZ    sdone
	TAILMASK
	VMOVUPS.Z (SI), K7, Z4
	VMOVUPS.Z (DI), K7, Z5
	TESTQ     R8, R8
	JZ        stdense
	VMOVDQU32.Z (R8), K7, Z2

stdense:
	SSELECT(K7)
	SSUMS(K7)
	TESTL AX, AX
	JZ    sdone
	SSTORE(Z2)

sdone:
	MOVQ R12, n+112(FP)
	MOVQ R13, nAbove+136(FP)
	REDUCE(Z10, Z11)
	MOVSD X0, total+120(FP)
	REDUCE(Z12, Z13)
	MOVSD X0, above+128(FP)
	VZEROUPPER
	RET

// func sumAboveAVX512(key, e []float32, thr float32) (sum float64, count int)
TEXT ·sumAboveAVX512(SB), NOSPLIT, $0-72
	MOVQ         key_base+0(FP), SI
	MOVQ         key_len+8(FP), CX
	MOVQ         e_base+24(FP), DI
	VBROADCASTSS thr+48(FP), Z0
	VPXORQ       Z2, Z2, Z2
	VPXORQ       Z3, Z3, Z3
	XORQ         R8, R8

taloop:
	CMPQ          CX, $16
	JLT           tatail
	VCMPPS        $0x12, (SI), Z0, K1 // thr ≤ key
	KMOVW         K1, AX
	POPCNTL       AX, AX
	ADDQ          AX, R8
	KSHIFTRW      $8, K1, K2
	VCVTPS2PD     (DI), Z4
	VCVTPS2PD     32(DI), Z5
	VADDPD        Z4, Z2, K1, Z2
	VADDPD        Z5, Z3, K2, Z3
	ADDQ          $64, SI
	ADDQ          $64, DI
	SUBQ          $16, CX
	JMP           taloop

tatail:
	TESTQ         CX, CX
	JZ            tadone
	TAILMASK
	VMOVUPS.Z     (SI), K7, Z6
	VCMPPS        $0x1d, Z0, Z6, K7, K1
	KMOVW         K1, AX
	POPCNTL       AX, AX
	ADDQ          AX, R8
	KSHIFTRW      $8, K1, K2
	VMOVUPS.Z     (DI), K7, Z6
	VCVTPS2PD     Y6, Z4
	VEXTRACTF64X4 $1, Z6, Y7
	VCVTPS2PD     Y7, Z5
	VADDPD        Z4, Z2, K1, Z2
	VADDPD        Z5, Z3, K2, Z3

tadone:
	MOVQ R8, count+64(FP)
	REDUCE(Z2, Z3)
	VZEROUPPER
	MOVSD X0, sum+56(FP)
	RET
