//go:build !purego

#include "textflag.h"

// The two-pass softmax kernels (catalog A14), AVX-512 (AVX512F only), for
// whole 64-element blocks (extExpScale32AVX512: any length). See
// twopass.go. Each element goes through the operations of the AVX2
// kernels in the same order, and a block's eight per-lane reference
// exponents are those of the AVX2 layout (lane j of a ZMM vector and lane
// j+8 both belong to AVX2 lane j), so stored mantissas, references and
// pass-2 outputs are bit-identical between the tiers; block sums group
// their terms differently.
//
// Registers: Z8 shifter, Z9 log2e, Z10 −ln2hi, Z11 −ln2lo, Z12 c5, Z13 c4,
// Z14 −TwoPassLimit, Z16 c3, Z17 c2, Z18 c1, Z19 1, Z20 −127, Z21 127
// (integer); Z4..Z7 scratch; Z22..Z25 p and Z26..Z29 n of a block's four
// vectors. Pass 1 keeps the running state in Z0 (exponent E, float32,
// lanes 0-7) and Z1 (mantissa sum M, float64, 8 lanes).

#define TPZ(name, bits) \
	DATA name<>+0(SB)/4, $bits \
	GLOBL name<>(SB), RODATA|NOPTR, $4

TPZ(tpzlog2e, 0x3fb8aa3b)
TPZ(tpzshift, 0x4b400000)
TPZ(tpznln2hi, 0xbf317218)
TPZ(tpznln2lo, 0x3102e308)
TPZ(tpzone, 0x3f800000)
TPZ(tpzc1, 0x3f7ffffb)
TPZ(tpzc2, 0x3efffee3)
TPZ(tpzc3, 0x3e2aad40)
TPZ(tpzc4, 0x3d2b9d0d)
TPZ(tpzc5, 0x3c07cfce)
TPZ(tpznlimit, 0xca000000)
TPZ(tpzm127, 0xc2fe0000)
TPZ(tpzi127, 0x0000007f)
TPZ(tpzninf, 0xff800000)

#define TPZCONSTS \
	VBROADCASTSS tpzshift<>(SB), Z8 \
	VBROADCASTSS tpzlog2e<>(SB), Z9 \
	VBROADCASTSS tpznln2hi<>(SB), Z10 \
	VBROADCASTSS tpznln2lo<>(SB), Z11 \
	VBROADCASTSS tpzc5<>(SB), Z12 \
	VBROADCASTSS tpzc4<>(SB), Z13 \
	VBROADCASTSS tpznlimit<>(SB), Z14 \
	VBROADCASTSS tpzc3<>(SB), Z16 \
	VBROADCASTSS tpzc2<>(SB), Z17 \
	VBROADCASTSS tpzc1<>(SB), Z18 \
	VBROADCASTSS tpzone<>(SB), Z19 \
	VBROADCASTSS tpzm127<>(SB), Z20 \
	VPBROADCASTD tpzi127<>(SB), Z21

// EXPCOREZ turns x in Z4 into p (Z6) and n (Z5, an integer-valued float)
// with exp(max(x, −limit)) ≈ p·2ⁿ; Z4 is destroyed. A NaN stays NaN.
#define EXPCOREZ \
	VMAXPS Z4, Z14, Z4 \
	VMOVAPS Z8, Z5 \
	VFMADD231PS Z9, Z4, Z5 \
	VSUBPS Z8, Z5, Z5 \
	VFMADD231PS Z10, Z5, Z4 \
	VFMADD231PS Z11, Z5, Z4 \
	VMOVAPS Z12, Z6 \
	VFMADD213PS Z13, Z4, Z6 \
	VFMADD213PS Z16, Z4, Z6 \
	VFMADD213PS Z17, Z4, Z6 \
	VFMADD213PS Z18, Z4, Z6 \
	VFMADD213PS Z19, Z4, Z6

// POW2Z(Z) turns the integer-valued floats d ≤ 0 in Z into 2^d, or 0 for
// d < −126.
#define POW2Z(Z) \
	VMAXPS Z20, Z, Z \
	VCVTPS2DQ Z, Z \
	VPADDD Z21, Z, Z \
	VPSLLD $23, Z, Z

// PAZ(xoff, p, n): p and n of the vector at xoff(SI), the block's per-lane
// max exponent into Z7.
#define PAZ(xoff, p, n) \
	VMOVUPS xoff(SI), Z4 \
	EXPCOREZ \
	VMOVAPS Z6, p \
	VMOVAPS Z5, n \
	VMAXPS Z5, Z7, Z7

// FOLDMAX turns the 16 lane maxima of Z7 into the eight of the AVX2 layout,
// in both halves of Z7.
#define FOLDMAX \
	VEXTRACTF64X4 $1, Z7, Y4 \
	VMAXPS Y4, Y7, Y7 \
	VINSERTF64X4 $1, Y7, Z7, Z7

// PBZ(p, n): Z5 += p·2^(n − blockmax).
#define PBZ(p, n) \
	VSUBPS Z7, n, Z4 \
	POW2Z(Z4) \
	VFMADD231PS p, Z4, Z5

// PBSZ(p, n, doff): as PBZ, also storing p·2^(n − blockmax) at doff(DI).
#define PBSZ(p, n, doff) \
	VSUBPS Z7, n, Z4 \
	POW2Z(Z4) \
	VMULPS p, Z4, Z6 \
	VMOVUPS Z6, doff(DI) \
	VADDPS Z6, Z5, Z5

// FOLDSUM adds the upper eight lanes of Z5 to the lower eight.
#define FOLDSUM \
	VEXTRACTF64X4 $1, Z5, Y4 \
	VADDPS Y4, Y5, Y5

// MERGEZ folds a block state (M in Z5, float32; E in Z7; lanes 0-7) into
// the running state (Z0; Z1).
#define MERGEZ \
	VMAXPS Z7, Z0, Z6 \
	VSUBPS Z6, Z0, Z4 \
	VSUBPS Z6, Z7, Z7 \
	VMOVAPS Z6, Z0 \
	POW2Z(Z4) \
	POW2Z(Z7) \
	VMULPS Z7, Z5, Z5 \
	VCVTPS2PD Y5, Z6 \
	VCVTPS2PD Y4, Z7 \
	VFMADD213PD Z6, Z7, Z1

// BLOCKA: p and n of the 64 elements at (SI), and the block's references.
#define BLOCKA \
	PREFETCHT0 2048(SI) \
	PREFETCHT0 2112(SI) \
	PREFETCHT0 2176(SI) \
	PREFETCHT0 2240(SI) \
	VBROADCASTSS tpzninf<>(SB), Z7 \
	PAZ(0, Z22, Z26) \
	PAZ(64, Z23, Z27) \
	PAZ(128, Z24, Z28) \
	PAZ(192, Z25, Z29) \
	FOLDMAX \
	VPXORD Z5, Z5, Z5

// func extExpSum32AVX512(x []float32, m *[8]float64, e *[8]float32)
// len(x) is a positive multiple of 64.
TEXT ·extExpSum32AVX512(SB), NOSPLIT, $0-40
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	VBROADCASTSS tpzninf<>(SB), Z0
	VPXORQ Z1, Z1, Z1
	TPZCONSTS

tpz1block:
	BLOCKA
	PBZ(Z22, Z26)
	PBZ(Z23, Z27)
	PBZ(Z24, Z28)
	PBZ(Z25, Z29)
	FOLDSUM
	MERGEZ
	ADDQ $256, SI
	SUBQ $64, CX
	JNZ  tpz1block

	MOVQ m+24(FP), DI
	VMOVUPD Z1, (DI)
	MOVQ e+32(FP), DI
	VMOVUPS Y0, (DI)
	VZEROUPPER
	RET

// func extExpSumStore32AVX512(dst, x []float32, m *[8]float64, e *[8]float32, refs *float32)
// len(x) is a positive multiple of 64; eight references per block.
TEXT ·extExpSumStore32AVX512(SB), NOSPLIT, $0-72
	MOVQ dst_base+0(FP), DI
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), CX
	MOVQ refs+64(FP), R8
	VBROADCASTSS tpzninf<>(SB), Z0
	VPXORQ Z1, Z1, Z1
	TPZCONSTS

tpzs1block:
	PREFETCHT0 2048(DI)
	PREFETCHT0 2112(DI)
	PREFETCHT0 2176(DI)
	PREFETCHT0 2240(DI)
	BLOCKA
	PBSZ(Z22, Z26, 0)
	PBSZ(Z23, Z27, 64)
	PBSZ(Z24, Z28, 128)
	PBSZ(Z25, Z29, 192)
	VMOVUPS Y7, (R8)
	FOLDSUM
	MERGEZ
	ADDQ $256, SI
	ADDQ $256, DI
	ADDQ $32, R8
	SUBQ $64, CX
	JNZ  tpzs1block

	MOVQ m+48(FP), DI
	VMOVUPD Z1, (DI)
	MOVQ e+56(FP), DI
	VMOVUPS Y0, (DI)
	VZEROUPPER
	RET

// SCALEOUTZ turns p (Z6), n (Z5) into c·p·2^(n − e) in Z6 (Z0 = e,
// Z1 = c).
#define SCALEOUTZ \
	VSUBPS Z0, Z5, Z5 \
	POW2Z(Z5) \
	VMULPS Z5, Z6, Z6 \
	VMULPS Z1, Z6, Z6

// func extExpScale32AVX512(dst, x []float32, e, c float32)
TEXT ·extExpScale32AVX512(SB), NOSPLIT, $0-56
	MOVQ dst_base+0(FP), DI
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), CX
	VBROADCASTSS e+48(FP), Z0
	VBROADCASTSS c+52(FP), Z1
	TPZCONSTS

tpz2loop2:
	CMPQ CX, $32
	JB   tpz2loop1
	VMOVUPS (SI), Z4
	EXPCOREZ
	SCALEOUTZ
	VMOVUPS Z6, (DI)
	VMOVUPS 64(SI), Z4
	EXPCOREZ
	SCALEOUTZ
	VMOVUPS Z6, 64(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  tpz2loop2

tpz2loop1:
	CMPQ CX, $16
	JB   tpz2tail
	VMOVUPS (SI), Z4
	EXPCOREZ
	SCALEOUTZ
	VMOVUPS Z6, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX

tpz2tail:
	TESTQ CX, CX
	JZ    tpz2done
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1
	VMOVUPS.Z (SI), K1, Z4
	EXPCOREZ
	SCALEOUTZ
	VMOVUPS Z6, K1, (DI)

tpz2done:
	VZEROUPPER
	RET

// func extRescale32AVX512(dst []float32, refs *float32, e, c float32)
// len(dst) is a positive multiple of 64: dst_i *= c·2^(r − e), the eight
// references of each block in both halves of a vector.
TEXT ·extRescale32AVX512(SB), NOSPLIT, $0-40
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ refs+24(FP), R8
	VBROADCASTSS e+32(FP), Z0
	VBROADCASTSS c+36(FP), Z1
	VBROADCASTSS tpzm127<>(SB), Z20
	VPBROADCASTD tpzi127<>(SB), Z21

tpzrblock:
	VBROADCASTF64X4 (R8), Z2
	VSUBPS Z0, Z2, Z2
	POW2Z(Z2)
	VMULPS Z1, Z2, Z2
	VMULPS (DI), Z2, Z4
	VMULPS 64(DI), Z2, Z5
	VMULPS 128(DI), Z2, Z6
	VMULPS 192(DI), Z2, Z7
	VMOVUPS Z4, (DI)
	VMOVUPS Z5, 64(DI)
	VMOVUPS Z6, 128(DI)
	VMOVUPS Z7, 192(DI)
	ADDQ $256, DI
	ADDQ $32, R8
	SUBQ $64, CX
	JNZ  tpzrblock

	VZEROUPPER
	RET
