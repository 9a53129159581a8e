//go:build !purego

#include "textflag.h"

// float64 kernels, AVX-512 (AVX512F only: no DQ, BW or VL instruction, so
// opmask moves are word-sized and bitwise operations on ZMM registers use
// the integer forms).
//
// Each kernel computes, lane by lane, exactly what its AVX2 twin in
// kernels64_avx2_amd64.s computes: same constants, same operations in the
// same order, same fused and unfused steps. Only the order in which the
// sums add their terms differs.
//
// Register conventions inside the exp kernels: Z0 = m, Z1 = s, Z5 and Z6
// accumulators or extra constants, Z8 = x, Z9 = z, Z11 and Z12 scratch,
// Z16..Z31 the constants of the exponential (EXPSETUP64Z). K1 is the tail
// mask, K2 the mask of the lanes whose exponential is not flushed to zero.
// Tails shorter than eight elements use masked loads and stores, which
// touch no memory in the disabled lanes.

#define CONST64(name, bits) \
	DATA name<>+0(SB)/8, $bits \
	GLOBL name<>(SB), RODATA|NOPTR, $8

CONST64(z64log2e, 0x3ff71547652b82fe)
CONST64(z64shift, 0x4338000000000000)
CONST64(z64nln2hi, 0xbfe62e42fee00000)
CONST64(z64nln2lo, 0xbdea39ef35793c76)
CONST64(z64lo, 0xc086232bdd7abcd2)
CONST64(z64hi, 0x40862e42fefa39ee)
CONST64(z64inf, 0x7ff0000000000000)
CONST64(z64ninf, 0xfff0000000000000)
CONST64(z64d0, 0x3ff0000000000000)
CONST64(z64d2, 0x3fe0000000000014)
CONST64(z64d3, 0x3fc555555555555c)
CONST64(z64d4, 0x3fa555555554df8b)
CONST64(z64d5, 0x3f8111111110ecd5)
CONST64(z64d6, 0x3f56c16c18b8168d)
CONST64(z64d7, 0x3f2a01a01b36e144)
CONST64(z64d8, 0x3efa0198870013eb)
CONST64(z64d9, 0x3ec71ddefc60226b)
CONST64(z64d10, 0x3e928bc65896719e)
CONST64(z64d11, 0x3e5af6d6aee710e8)

// TAILMASK64Z sets K1 to enable the first CX (1..7) lanes. Clobbers AX.
#define TAILMASK64Z \
	MOVL  $1, AX \
	SHLL  CX, AX \
	DECL  AX \
	KMOVW AX, K1

// EXPSETUP64Z broadcasts the constants of the exponential into Z16..Z31.
#define EXPSETUP64Z \
	VBROADCASTSD z64log2e<>(SB), Z16 \
	VBROADCASTSD z64shift<>(SB), Z17 \
	VBROADCASTSD z64nln2hi<>(SB), Z18 \
	VBROADCASTSD z64nln2lo<>(SB), Z19 \
	VBROADCASTSD z64lo<>(SB), Z20 \
	VBROADCASTSD z64d0<>(SB), Z21 \
	VBROADCASTSD z64d2<>(SB), Z22 \
	VBROADCASTSD z64d3<>(SB), Z23 \
	VBROADCASTSD z64d4<>(SB), Z24 \
	VBROADCASTSD z64d5<>(SB), Z25 \
	VBROADCASTSD z64d6<>(SB), Z26 \
	VBROADCASTSD z64d7<>(SB), Z27 \
	VBROADCASTSD z64d8<>(SB), Z28 \
	VBROADCASTSD z64d9<>(SB), Z29 \
	VBROADCASTSD z64d10<>(SB), Z30 \
	VBROADCASTSD z64d11<>(SB), Z31

// SHIFTED64Z computes z = (x − m)·s from x in Z8 into Z9.
#define SHIFTED64Z \
	VSUBPD Z0, Z8, Z9 \
	VMULPD Z1, Z9, Z9

// LOMASK64Z sets K2 to the lanes of Z9 with z ≥ the lower threshold (false
// for NaN); LOMASK64ZT does so only within the tail mask K1.
#define LOMASK64Z \
	VCMPPD $0x1d, Z20, Z9, K2

#define LOMASK64ZT \
	VCMPPD $0x1d, Z20, Z9, K1, K2

// EXPCORE64Z turns z in Z9 into exp(z) in Z12, zero in the lanes where K2
// is clear. Uses Z11; Z9 is destroyed.
#define EXPCORE64Z \
	VMOVAPD     Z17, Z11 \
	VFMADD231PD Z16, Z9, Z11 \
	VSUBPD      Z17, Z11, Z12 \
	VFMADD231PD Z18, Z12, Z9 \
	VFMADD231PD Z19, Z12, Z9 \
	VMOVAPD     Z31, Z12 \
	VFMADD213PD Z30, Z9, Z12 \
	VFMADD213PD Z29, Z9, Z12 \
	VFMADD213PD Z28, Z9, Z12 \
	VFMADD213PD Z27, Z9, Z12 \
	VFMADD213PD Z26, Z9, Z12 \
	VFMADD213PD Z25, Z9, Z12 \
	VFMADD213PD Z24, Z9, Z12 \
	VFMADD213PD Z23, Z9, Z12 \
	VFMADD213PD Z22, Z9, Z12 \
	VFMADD213PD Z21, Z9, Z12 \
	VFMADD213PD Z21, Z9, Z12 \
	VPSLLQ      $52, Z11, Z11 \
	VPADDQ.Z    Z11, Z12, K2, Z12

// HSUM64Z reduces Z5 + Z6 to a float64 in X5.
#define HSUM64Z \
	VADDPD        Z6, Z5, Z5 \
	VEXTRACTF64X4 $1, Z5, Y6 \
	VADDPD        Y6, Y5, Y5 \
	VEXTRACTF128  $1, Y5, X6 \
	VADDPD        X6, X5, X5 \
	VPERMILPD     $1, X5, X6 \
	VADDSD        X6, X5, X5

// func expSum64AVX512(x []float64, m, s float64) float64
TEXT ·expSum64AVX512(SB), NOSPLIT, $0-48
	MOVQ         x_base+0(FP), SI
	MOVQ         x_len+8(FP), CX
	VBROADCASTSD m+24(FP), Z0
	VBROADCASTSD s+32(FP), Z1
	EXPSETUP64Z
	VPXORQ       Z5, Z5, Z5
	VPXORQ       Z6, Z6, Z6

es64zloop2:
	CMPQ    CX, $16
	JB      es64zloop1
	VMOVUPD (SI), Z8
	SHIFTED64Z
	LOMASK64Z
	EXPCORE64Z
	VADDPD  Z12, Z5, Z5
	VMOVUPD 64(SI), Z8
	SHIFTED64Z
	LOMASK64Z
	EXPCORE64Z
	VADDPD  Z12, Z6, Z6
	ADDQ    $128, SI
	SUBQ    $16, CX
	JMP     es64zloop2

es64zloop1:
	CMPQ    CX, $8
	JB      es64ztail
	VMOVUPD (SI), Z8
	SHIFTED64Z
	LOMASK64Z
	EXPCORE64Z
	VADDPD  Z12, Z5, Z5
	ADDQ    $64, SI
	SUBQ    $8, CX

es64ztail:
	TESTQ     CX, CX
	JZ        es64zdone
	TAILMASK64Z
	VMOVUPD.Z (SI), K1, Z8
	SHIFTED64Z
	LOMASK64ZT
	EXPCORE64Z
	VADDPD    Z12, Z6, Z6

es64zdone:
	HSUM64Z
	VMOVSD X5, ret+40(FP)
	VZEROUPPER
	RET

// func expAffine64AVX512(dst, x []float64, m, s, c, b float64)
// dst = c·exp(s·(x − m)) − b (fused).
TEXT ·expAffine64AVX512(SB), NOSPLIT, $0-80
	MOVQ         dst_base+0(FP), DI
	MOVQ         x_base+24(FP), SI
	MOVQ         x_len+32(FP), CX
	VBROADCASTSD m+48(FP), Z0
	VBROADCASTSD s+56(FP), Z1
	VBROADCASTSD c+64(FP), Z5
	VBROADCASTSD b+72(FP), Z6
	EXPSETUP64Z

esc64zloop2:
	CMPQ        CX, $16
	JB          esc64zloop1
	VMOVUPD     (SI), Z8
	SHIFTED64Z
	LOMASK64Z
	EXPCORE64Z
	VFMSUB213PD Z6, Z5, Z12
	VMOVUPD     Z12, (DI)
	VMOVUPD     64(SI), Z8
	SHIFTED64Z
	LOMASK64Z
	EXPCORE64Z
	VFMSUB213PD Z6, Z5, Z12
	VMOVUPD     Z12, 64(DI)
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $16, CX
	JMP         esc64zloop2

esc64zloop1:
	CMPQ        CX, $8
	JB          esc64ztail
	VMOVUPD     (SI), Z8
	SHIFTED64Z
	LOMASK64Z
	EXPCORE64Z
	VFMSUB213PD Z6, Z5, Z12
	VMOVUPD     Z12, (DI)
	ADDQ        $64, SI
	ADDQ        $64, DI
	SUBQ        $8, CX

esc64ztail:
	TESTQ       CX, CX
	JZ          esc64zdone
	TAILMASK64Z
	VMOVUPD.Z   (SI), K1, Z8
	SHIFTED64Z
	LOMASK64Z
	EXPCORE64Z
	VFMSUB213PD Z6, Z5, Z12
	VMOVUPD     Z12, K1, (DI)

esc64zdone:
	VZEROUPPER
	RET

// func expStoreSum64AVX512(dst, x []float64, m, s float64) float64
TEXT ·expStoreSum64AVX512(SB), NOSPLIT, $0-72
	MOVQ         dst_base+0(FP), DI
	MOVQ         x_base+24(FP), SI
	MOVQ         x_len+32(FP), CX
	VBROADCASTSD m+48(FP), Z0
	VBROADCASTSD s+56(FP), Z1
	EXPSETUP64Z
	VPXORQ       Z5, Z5, Z5
	VPXORQ       Z6, Z6, Z6

ess64zloop2:
	CMPQ    CX, $16
	JB      ess64zloop1
	VMOVUPD (SI), Z8
	SHIFTED64Z
	LOMASK64Z
	EXPCORE64Z
	VMOVUPD Z12, (DI)
	VADDPD  Z12, Z5, Z5
	VMOVUPD 64(SI), Z8
	SHIFTED64Z
	LOMASK64Z
	EXPCORE64Z
	VMOVUPD Z12, 64(DI)
	VADDPD  Z12, Z6, Z6
	ADDQ    $128, SI
	ADDQ    $128, DI
	SUBQ    $16, CX
	JMP     ess64zloop2

ess64zloop1:
	CMPQ    CX, $8
	JB      ess64ztail
	VMOVUPD (SI), Z8
	SHIFTED64Z
	LOMASK64Z
	EXPCORE64Z
	VMOVUPD Z12, (DI)
	VADDPD  Z12, Z5, Z5
	ADDQ    $64, SI
	ADDQ    $64, DI
	SUBQ    $8, CX

ess64ztail:
	TESTQ     CX, CX
	JZ        ess64zdone
	TAILMASK64Z
	VMOVUPD.Z (SI), K1, Z8
	SHIFTED64Z
	LOMASK64ZT
	EXPCORE64Z
	VMOVUPD   Z12, K1, (DI)
	VADDPD    Z12, Z6, Z6

ess64zdone:
	HSUM64Z
	VMOVSD X5, ret+64(FP)
	VZEROUPPER
	RET

// EXPFIX64Z patches exp(x) in Z12 for x in Z8: +Inf above the upper
// threshold (Z5, +Inf in Z6), x + x (quiet NaN) for NaN.
#define EXPFIX64Z \
	VCMPPD  $0x1e, Z5, Z8, K3 \
	VMOVAPD Z6, K3, Z12 \
	VCMPPD  $3, Z8, Z8, K4 \
	VADDPD  Z8, Z8, K4, Z12

// func exp64AVX512(dst, x []float64)
TEXT ·exp64AVX512(SB), NOSPLIT, $0-48
	MOVQ         dst_base+0(FP), DI
	MOVQ         x_base+24(FP), SI
	MOVQ         x_len+32(FP), CX
	EXPSETUP64Z
	VBROADCASTSD z64hi<>(SB), Z5
	VBROADCASTSD z64inf<>(SB), Z6

e64zloop2:
	CMPQ    CX, $16
	JB      e64zloop1
	VMOVUPD (SI), Z8
	VMOVAPD Z8, Z9
	LOMASK64Z
	EXPCORE64Z
	EXPFIX64Z
	VMOVUPD Z12, (DI)
	VMOVUPD 64(SI), Z8
	VMOVAPD Z8, Z9
	LOMASK64Z
	EXPCORE64Z
	EXPFIX64Z
	VMOVUPD Z12, 64(DI)
	ADDQ    $128, SI
	ADDQ    $128, DI
	SUBQ    $16, CX
	JMP     e64zloop2

e64zloop1:
	CMPQ    CX, $8
	JB      e64ztail
	VMOVUPD (SI), Z8
	VMOVAPD Z8, Z9
	LOMASK64Z
	EXPCORE64Z
	EXPFIX64Z
	VMOVUPD Z12, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	SUBQ    $8, CX

e64ztail:
	TESTQ     CX, CX
	JZ        e64zdone
	TAILMASK64Z
	VMOVUPD.Z (SI), K1, Z8
	VMOVAPD   Z8, Z9
	LOMASK64Z
	EXPCORE64Z
	EXPFIX64Z
	VMOVUPD   Z12, K1, (DI)

e64zdone:
	VZEROUPPER
	RET

// func maxNaN64AVX512(x []float64) (m float64, nan bool)
// len(x) ≥ 1. Each maximum takes x as its first source (Intel operand
// order) and the accumulator as its second, which VMAXPD returns when x is
// NaN: the accumulators never hold a NaN and m is the largest non-NaN
// element even when x holds a NaN. K4 and K5 collect the NaN lanes.
TEXT ·maxNaN64AVX512(SB), NOSPLIT, $0-33
	MOVQ         x_base+0(FP), SI
	MOVQ         x_len+8(FP), CX
	VBROADCASTSD z64ninf<>(SB), Z0
	VMOVAPD      Z0, Z1
	VMOVAPD      Z0, Z2
	VMOVAPD      Z0, Z3
	KXORW        K4, K4, K4
	KXORW        K5, K5, K5
	CMPQ         CX, $8
	JB           mx64zsmall
	LEAQ         -64(SI)(CX*8), R8

mx64zloop4:
	CMPQ    CX, $32
	JB      mx64zloop1
	VMOVUPD (SI), Z8
	VMOVUPD 64(SI), Z9
	VMOVUPD 128(SI), Z10
	VMOVUPD 192(SI), Z11
	VMAXPD  Z0, Z8, Z0
	VMAXPD  Z1, Z9, Z1
	VMAXPD  Z2, Z10, Z2
	VMAXPD  Z3, Z11, Z3
	VCMPPD  $3, Z8, Z8, K1
	VCMPPD  $3, Z9, Z9, K2
	VCMPPD  $3, Z10, Z10, K3
	VCMPPD  $3, Z11, Z11, K6
	KORW    K1, K4, K4
	KORW    K2, K5, K5
	KORW    K3, K4, K4
	KORW    K6, K5, K5
	ADDQ    $256, SI
	SUBQ    $32, CX
	JMP     mx64zloop4

mx64zloop1:
	CMPQ    CX, $8
	JB      mx64zlast
	VMOVUPD (SI), Z8
	VMAXPD  Z0, Z8, Z0
	VCMPPD  $3, Z8, Z8, K1
	KORW    K1, K4, K4
	ADDQ    $64, SI
	SUBQ    $8, CX
	JMP     mx64zloop1

mx64zlast:
	// The last eight elements, overlapping ones already seen.
	TESTQ   CX, CX
	JZ      mx64zreduce
	VMOVUPD (R8), Z8
	VMAXPD  Z1, Z8, Z1
	VCMPPD  $3, Z8, Z8, K1
	KORW    K1, K5, K5
	JMP     mx64zreduce

mx64zsmall:
	TAILMASK64Z
	VMOVAPD Z0, Z8
	VMOVUPD (SI), K1, Z8
	VMAXPD  Z1, Z8, Z1
	VCMPPD  $3, Z8, Z8, K5

mx64zreduce:
	VMAXPD        Z1, Z0, Z0
	VMAXPD        Z3, Z2, Z2
	VMAXPD        Z2, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VMAXPD        Y1, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VMAXPD        X1, X0, X0
	VPERMILPD     $1, X0, X1
	VMAXSD        X1, X0, X0
	VMOVSD        X0, m+24(FP)
	KORW          K5, K4, K4
	KORTESTW      K4, K4
	SETNE         nan+32(FP)
	VZEROUPPER
	RET

// func sum64AVX512(x []float64) float64
TEXT ·sum64AVX512(SB), NOSPLIT, $0-32
	MOVQ   x_base+0(FP), SI
	MOVQ   x_len+8(FP), CX
	VPXORQ Z5, Z5, Z5
	VPXORQ Z6, Z6, Z6
	VPXORQ Z7, Z7, Z7
	VPXORQ Z8, Z8, Z8

sm64zloop4:
	CMPQ   CX, $32
	JB     sm64zloop1
	VADDPD (SI), Z5, Z5
	VADDPD 64(SI), Z6, Z6
	VADDPD 128(SI), Z7, Z7
	VADDPD 192(SI), Z8, Z8
	ADDQ   $256, SI
	SUBQ   $32, CX
	JMP    sm64zloop4

sm64zloop1:
	CMPQ   CX, $8
	JB     sm64ztail
	VADDPD (SI), Z5, Z5
	ADDQ   $64, SI
	SUBQ   $8, CX
	JMP    sm64zloop1

sm64ztail:
	TESTQ     CX, CX
	JZ        sm64zdone
	TAILMASK64Z
	VMOVUPD.Z (SI), K1, Z9
	VADDPD    Z9, Z6, Z6

sm64zdone:
	VADDPD Z7, Z5, Z5
	VADDPD Z8, Z6, Z6
	HSUM64Z
	VMOVSD X5, ret+24(FP)
	VZEROUPPER
	RET

// func scale64AVX512(dst, x []float64, c float64)
TEXT ·scale64AVX512(SB), NOSPLIT, $0-56
	MOVQ         dst_base+0(FP), DI
	MOVQ         x_base+24(FP), SI
	MOVQ         x_len+32(FP), CX
	VBROADCASTSD c+48(FP), Z0

sc64zloop4:
	CMPQ    CX, $32
	JB      sc64zloop1
	VMULPD  (SI), Z0, Z8
	VMULPD  64(SI), Z0, Z9
	VMULPD  128(SI), Z0, Z10
	VMULPD  192(SI), Z0, Z11
	VMOVUPD Z8, (DI)
	VMOVUPD Z9, 64(DI)
	VMOVUPD Z10, 128(DI)
	VMOVUPD Z11, 192(DI)
	ADDQ    $256, SI
	ADDQ    $256, DI
	SUBQ    $32, CX
	JMP     sc64zloop4

sc64zloop1:
	CMPQ    CX, $8
	JB      sc64ztail
	VMULPD  (SI), Z0, Z8
	VMOVUPD Z8, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	SUBQ    $8, CX
	JMP     sc64zloop1

sc64ztail:
	TESTQ     CX, CX
	JZ        sc64zdone
	TAILMASK64Z
	VMOVUPD.Z (SI), K1, Z8
	VMULPD    Z8, Z0, Z8
	VMOVUPD   Z8, K1, (DI)

sc64zdone:
	VZEROUPPER
	RET

// func shiftScale64AVX512(dst, x []float64, m, s, c float64)
TEXT ·shiftScale64AVX512(SB), NOSPLIT, $0-72
	MOVQ         dst_base+0(FP), DI
	MOVQ         x_base+24(FP), SI
	MOVQ         x_len+32(FP), CX
	VBROADCASTSD m+48(FP), Z0
	VBROADCASTSD s+56(FP), Z1
	VBROADCASTSD c+64(FP), Z2

ss64zloop2:
	CMPQ    CX, $16
	JB      ss64zloop1
	VMOVUPD (SI), Z8
	VMOVUPD 64(SI), Z9
	VSUBPD  Z0, Z8, Z8
	VSUBPD  Z0, Z9, Z9
	VMULPD  Z1, Z8, Z8
	VMULPD  Z1, Z9, Z9
	VSUBPD  Z2, Z8, Z8
	VSUBPD  Z2, Z9, Z9
	VMOVUPD Z8, (DI)
	VMOVUPD Z9, 64(DI)
	ADDQ    $128, SI
	ADDQ    $128, DI
	SUBQ    $16, CX
	JMP     ss64zloop2

ss64zloop1:
	CMPQ    CX, $8
	JB      ss64ztail
	VMOVUPD (SI), Z8
	VSUBPD  Z0, Z8, Z8
	VMULPD  Z1, Z8, Z8
	VSUBPD  Z2, Z8, Z8
	VMOVUPD Z8, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	SUBQ    $8, CX

ss64ztail:
	TESTQ     CX, CX
	JZ        ss64zdone
	TAILMASK64Z
	VMOVUPD.Z (SI), K1, Z8
	VSUBPD    Z0, Z8, Z8
	VMULPD    Z1, Z8, Z8
	VSUBPD    Z2, Z8, Z8
	VMOVUPD   Z8, K1, (DI)

ss64zdone:
	VZEROUPPER
	RET

// func axpy64AVX512(dst, x []float64, a float64)
// dst += a·x (fused multiply-add).
TEXT ·axpy64AVX512(SB), NOSPLIT, $0-56
	MOVQ         dst_base+0(FP), DI
	MOVQ         x_base+24(FP), SI
	MOVQ         x_len+32(FP), CX
	VBROADCASTSD a+48(FP), Z0

ax64zloop4:
	CMPQ        CX, $32
	JB          ax64zloop1
	VMOVUPD     (DI), Z8
	VMOVUPD     64(DI), Z9
	VMOVUPD     128(DI), Z10
	VMOVUPD     192(DI), Z11
	VFMADD231PD (SI), Z0, Z8
	VFMADD231PD 64(SI), Z0, Z9
	VFMADD231PD 128(SI), Z0, Z10
	VFMADD231PD 192(SI), Z0, Z11
	VMOVUPD     Z8, (DI)
	VMOVUPD     Z9, 64(DI)
	VMOVUPD     Z10, 128(DI)
	VMOVUPD     Z11, 192(DI)
	ADDQ        $256, SI
	ADDQ        $256, DI
	SUBQ        $32, CX
	JMP         ax64zloop4

ax64zloop1:
	CMPQ        CX, $8
	JB          ax64ztail
	VMOVUPD     (DI), Z8
	VFMADD231PD (SI), Z0, Z8
	VMOVUPD     Z8, (DI)
	ADDQ        $64, SI
	ADDQ        $64, DI
	SUBQ        $8, CX
	JMP         ax64zloop1

ax64ztail:
	TESTQ       CX, CX
	JZ          ax64zdone
	TAILMASK64Z
	VMOVUPD.Z   (SI), K1, Z9
	VMOVUPD.Z   (DI), K1, Z8
	VFMADD231PD Z9, Z0, Z8
	VMOVUPD     Z8, K1, (DI)

ax64zdone:
	VZEROUPPER
	RET
