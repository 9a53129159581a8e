//go:build !purego

#include "textflag.h"

// The 12×32 float32 micro-kernel, AVX-512 (AVX512F instructions only).
//
// It multiplies two consecutive packed A panels (6 rows each) by two packed
// B panels (16 columns each): the four 6×16 tiles the AVX2 kernel would
// compute in four calls, with the same operations on every element.
//
// Register use: Z0 holds the 16 values of the first B panel for one k, Z1
// those of the second; Z2..Z5 take the broadcast values of packed A in
// turn; Z6..Z14 and Z16..Z30 are the 24 accumulators, two per row of the
// tile in that order (row 0 in Z6 (columns 0..15) and Z7 (columns
// 16..31), row 4 in Z14 and Z16, row 11 in Z29 and Z30). Z15 and Z31 are
// not touched (X15 is the zero register of Go's internal ABI).
//
// SI points at the first A panel and SI+R12 at the second; DI at the first
// B panel and DI+R13 at the second.

// KSTEP performs one rank-1 update of the tile: the A values at ao(SI) and
// ao(SI)(R12*1), the B values at bo(DI) and bo(DI)(R13*1).
#define KSTEP(ao, bo) \
	VMOVUPS bo(DI), Z0 \
	VMOVUPS bo(DI)(R13*1), Z1 \
	VBROADCASTSS ao(SI), Z2 \
	VFMADD231PS Z0, Z2, Z6 \
	VFMADD231PS Z1, Z2, Z7 \
	VBROADCASTSS 4+ao(SI), Z3 \
	VFMADD231PS Z0, Z3, Z8 \
	VFMADD231PS Z1, Z3, Z9 \
	VBROADCASTSS 8+ao(SI), Z4 \
	VFMADD231PS Z0, Z4, Z10 \
	VFMADD231PS Z1, Z4, Z11 \
	VBROADCASTSS 12+ao(SI), Z5 \
	VFMADD231PS Z0, Z5, Z12 \
	VFMADD231PS Z1, Z5, Z13 \
	VBROADCASTSS 16+ao(SI), Z2 \
	VFMADD231PS Z0, Z2, Z14 \
	VFMADD231PS Z1, Z2, Z16 \
	VBROADCASTSS 20+ao(SI), Z3 \
	VFMADD231PS Z0, Z3, Z17 \
	VFMADD231PS Z1, Z3, Z18 \
	VBROADCASTSS ao(SI)(R12*1), Z4 \
	VFMADD231PS Z0, Z4, Z19 \
	VFMADD231PS Z1, Z4, Z20 \
	VBROADCASTSS 4+ao(SI)(R12*1), Z5 \
	VFMADD231PS Z0, Z5, Z21 \
	VFMADD231PS Z1, Z5, Z22 \
	VBROADCASTSS 8+ao(SI)(R12*1), Z2 \
	VFMADD231PS Z0, Z2, Z23 \
	VFMADD231PS Z1, Z2, Z24 \
	VBROADCASTSS 12+ao(SI)(R12*1), Z3 \
	VFMADD231PS Z0, Z3, Z25 \
	VFMADD231PS Z1, Z3, Z26 \
	VBROADCASTSS 16+ao(SI)(R12*1), Z4 \
	VFMADD231PS Z0, Z4, Z27 \
	VFMADD231PS Z1, Z4, Z28 \
	VBROADCASTSS 20+ao(SI)(R12*1), Z5 \
	VFMADD231PS Z0, Z5, Z29 \
	VFMADD231PS Z1, Z5, Z30

// STOREROW writes row accumulators lo, hi to (R8) and advances R8 by ldc.
#define STOREROW(lo, hi) \
	VMOVUPS lo, (R8) \
	VMOVUPS hi, 64(R8) \
	ADDQ BX, R8

// func kern12x32AVX512(k int, a0, a1, b0, b1, c *float32, ldc int, alpha, beta float32, accum bool, pf0, pf1 *float32)
//
// With acc = Σ_{p<k} A[p][i]·B[p][j] (one FMA per term, p ascending), where
// A[p][i] is a0[6p+i] for i < 6 and a1[6p+i−6] for 6 ≤ i < 12, and
// B[p][j] is b0[16p+j] for j < 16 and b1[16p+j−16] for 16 ≤ j < 32, it
// sets c[i·ldc+j] = alpha·acc + beta·c[i·ldc+j] (the product by alpha
// rounded, then one FMA) when accum, else alpha·acc (c is not read), for
// i < 12, j < 32: per element the operations of kern6x16AVX2. k ≥ 1. The C
// tile is prefetched at the start, and one cache line from each of pf0
// and pf1 onwards every four k steps (the caller points them at the B
// panels the next call will use, 16k values each).
TEXT ·kern12x32AVX512(SB), NOSPLIT, $0-88
	MOVQ k+0(FP), CX
	MOVQ a0+8(FP), SI
	MOVQ a1+16(FP), R12
	SUBQ SI, R12
	MOVQ b0+24(FP), DI
	MOVQ b1+32(FP), R13
	SUBQ DI, R13
	MOVQ c+40(FP), DX
	MOVQ ldc+48(FP), BX
	SHLQ $2, BX
	MOVQ pf0+72(FP), R11
	MOVQ pf1+80(FP), R10
	SUBQ R11, R10

	// Bring the C tile towards L1 while the products are computed: each
	// row is 128 bytes, three cache lines at most.
	MOVQ DX, R8
	PREFETCHT0 (R8)
	PREFETCHT0 64(R8)
	PREFETCHT0 124(R8)
	ADDQ BX, R8
	PREFETCHT0 (R8)
	PREFETCHT0 64(R8)
	PREFETCHT0 124(R8)
	ADDQ BX, R8
	PREFETCHT0 (R8)
	PREFETCHT0 64(R8)
	PREFETCHT0 124(R8)
	ADDQ BX, R8
	PREFETCHT0 (R8)
	PREFETCHT0 64(R8)
	PREFETCHT0 124(R8)
	ADDQ BX, R8
	PREFETCHT0 (R8)
	PREFETCHT0 64(R8)
	PREFETCHT0 124(R8)
	ADDQ BX, R8
	PREFETCHT0 (R8)
	PREFETCHT0 64(R8)
	PREFETCHT0 124(R8)
	ADDQ BX, R8
	PREFETCHT0 (R8)
	PREFETCHT0 64(R8)
	PREFETCHT0 124(R8)
	ADDQ BX, R8
	PREFETCHT0 (R8)
	PREFETCHT0 64(R8)
	PREFETCHT0 124(R8)
	ADDQ BX, R8
	PREFETCHT0 (R8)
	PREFETCHT0 64(R8)
	PREFETCHT0 124(R8)
	ADDQ BX, R8
	PREFETCHT0 (R8)
	PREFETCHT0 64(R8)
	PREFETCHT0 124(R8)
	ADDQ BX, R8
	PREFETCHT0 (R8)
	PREFETCHT0 64(R8)
	PREFETCHT0 124(R8)
	ADDQ BX, R8
	PREFETCHT0 (R8)
	PREFETCHT0 64(R8)
	PREFETCHT0 124(R8)

	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	VPXORD Z24, Z24, Z24
	VPXORD Z25, Z25, Z25
	VPXORD Z26, Z26, Z26
	VPXORD Z27, Z27, Z27
	VPXORD Z28, Z28, Z28
	VPXORD Z29, Z29, Z29
	VPXORD Z30, Z30, Z30

	MOVQ CX, AX
	SHRQ $2, AX
	ANDQ $3, CX
	TESTQ AX, AX
	JZ   k1

kN:
	PREFETCHT0 (R11)
	PREFETCHT0 (R11)(R10*1)
	ADDQ $64, R11
	KSTEP(0, 0)
	KSTEP(24, 64)
	KSTEP(48, 128)
	KSTEP(72, 192)
	ADDQ $96, SI
	ADDQ $256, DI
	DECQ AX
	JNZ  kN

k1:
	TESTQ CX, CX
	JZ    done

k1loop:
	KSTEP(0, 0)
	ADDQ $24, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  k1loop

done:
	VBROADCASTSS alpha+56(FP), Z0
	VMULPS Z0, Z6, Z6
	VMULPS Z0, Z7, Z7
	VMULPS Z0, Z8, Z8
	VMULPS Z0, Z9, Z9
	VMULPS Z0, Z10, Z10
	VMULPS Z0, Z11, Z11
	VMULPS Z0, Z12, Z12
	VMULPS Z0, Z13, Z13
	VMULPS Z0, Z14, Z14
	VMULPS Z0, Z16, Z16
	VMULPS Z0, Z17, Z17
	VMULPS Z0, Z18, Z18
	VMULPS Z0, Z19, Z19
	VMULPS Z0, Z20, Z20
	VMULPS Z0, Z21, Z21
	VMULPS Z0, Z22, Z22
	VMULPS Z0, Z23, Z23
	VMULPS Z0, Z24, Z24
	VMULPS Z0, Z25, Z25
	VMULPS Z0, Z26, Z26
	VMULPS Z0, Z27, Z27
	VMULPS Z0, Z28, Z28
	VMULPS Z0, Z29, Z29
	VMULPS Z0, Z30, Z30
	MOVQ DX, R8
	MOVBLZX accum+64(FP), AX
	TESTQ AX, AX
	JNZ  beta

	STOREROW(Z6, Z7)
	STOREROW(Z8, Z9)
	STOREROW(Z10, Z11)
	STOREROW(Z12, Z13)
	STOREROW(Z14, Z16)
	STOREROW(Z17, Z18)
	STOREROW(Z19, Z20)
	STOREROW(Z21, Z22)
	STOREROW(Z23, Z24)
	STOREROW(Z25, Z26)
	STOREROW(Z27, Z28)
	STOREROW(Z29, Z30)
	VZEROUPPER
	RET

beta:
	// All loads of C before any store, as in kern6x16AVX2.
	VBROADCASTSS beta+60(FP), Z1
	LEAQ (BX)(BX*2), R9
	LEAQ (DX)(BX*4), R8
	LEAQ (R8)(BX*4), R10
	VFMADD231PS (DX), Z1, Z6
	VFMADD231PS 64(DX), Z1, Z7
	VFMADD231PS (DX)(BX*1), Z1, Z8
	VFMADD231PS 64(DX)(BX*1), Z1, Z9
	VFMADD231PS (DX)(BX*2), Z1, Z10
	VFMADD231PS 64(DX)(BX*2), Z1, Z11
	VFMADD231PS (DX)(R9*1), Z1, Z12
	VFMADD231PS 64(DX)(R9*1), Z1, Z13
	VFMADD231PS (R8), Z1, Z14
	VFMADD231PS 64(R8), Z1, Z16
	VFMADD231PS (R8)(BX*1), Z1, Z17
	VFMADD231PS 64(R8)(BX*1), Z1, Z18
	VFMADD231PS (R8)(BX*2), Z1, Z19
	VFMADD231PS 64(R8)(BX*2), Z1, Z20
	VFMADD231PS (R8)(R9*1), Z1, Z21
	VFMADD231PS 64(R8)(R9*1), Z1, Z22
	VFMADD231PS (R10), Z1, Z23
	VFMADD231PS 64(R10), Z1, Z24
	VFMADD231PS (R10)(BX*1), Z1, Z25
	VFMADD231PS 64(R10)(BX*1), Z1, Z26
	VFMADD231PS (R10)(BX*2), Z1, Z27
	VFMADD231PS 64(R10)(BX*2), Z1, Z28
	VFMADD231PS (R10)(R9*1), Z1, Z29
	VFMADD231PS 64(R10)(R9*1), Z1, Z30
	MOVQ DX, R8
	STOREROW(Z6, Z7)
	STOREROW(Z8, Z9)
	STOREROW(Z10, Z11)
	STOREROW(Z12, Z13)
	STOREROW(Z14, Z16)
	STOREROW(Z17, Z18)
	STOREROW(Z19, Z20)
	STOREROW(Z21, Z22)
	STOREROW(Z23, Z24)
	STOREROW(Z25, Z26)
	STOREROW(Z27, Z28)
	STOREROW(Z29, Z30)
	VZEROUPPER
	RET
