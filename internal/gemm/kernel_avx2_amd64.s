//go:build !purego

#include "textflag.h"

// The 6×16 float32 micro-kernel, AVX2+FMA.
//
// Register use: Y0, Y1 hold the 16 values of packed B for one k, Y2 the
// broadcast value of packed A; Y3..Y14 are the twelve accumulators, row r
// of the tile in Y(3+2r) (columns 0..7) and Y(4+2r) (columns 8..15). Y15 is
// never touched (it is the zero register of Go's internal ABI).

// KSTEP performs one rank-1 update of the tile: the A values at ao(SI), the
// B values at bo(DI).
#define KSTEP(ao, bo) \
	VMOVUPS bo(DI), Y0 \
	VMOVUPS 32+bo(DI), Y1 \
	VBROADCASTSS ao(SI), Y2 \
	VFMADD231PS Y0, Y2, Y3 \
	VFMADD231PS Y1, Y2, Y4 \
	VBROADCASTSS 4+ao(SI), Y2 \
	VFMADD231PS Y0, Y2, Y5 \
	VFMADD231PS Y1, Y2, Y6 \
	VBROADCASTSS 8+ao(SI), Y2 \
	VFMADD231PS Y0, Y2, Y7 \
	VFMADD231PS Y1, Y2, Y8 \
	VBROADCASTSS 12+ao(SI), Y2 \
	VFMADD231PS Y0, Y2, Y9 \
	VFMADD231PS Y1, Y2, Y10 \
	VBROADCASTSS 16+ao(SI), Y2 \
	VFMADD231PS Y0, Y2, Y11 \
	VFMADD231PS Y1, Y2, Y12 \
	VBROADCASTSS 20+ao(SI), Y2 \
	VFMADD231PS Y0, Y2, Y13 \
	VFMADD231PS Y1, Y2, Y14

// STOREROW writes row accumulators lo, hi to (R8) and advances R8 by ldc.
#define STOREROW(lo, hi) \
	VMOVUPS lo, (R8) \
	VMOVUPS hi, 32(R8) \
	ADDQ BX, R8

// func kern6x16AVX2(k int, a, b, c *float32, ldc int, alpha, beta float32, accum bool, pf *float32)
//
// With acc = Σ_{p<k} a[6p+i]·b[16p+j] (one FMA per term, p ascending), it
// sets c[i·ldc+j] = alpha·acc + beta·c[i·ldc+j] when accum, else alpha·acc
// (c is not read), for i < 6, j < 16. k ≥ 1. The C tile is prefetched at
// the start, and one cache line from pf onwards every four k steps (the
// caller points pf at the B panel the next call will use, 16k values).
TEXT ·kern6x16AVX2(SB), NOSPLIT, $0-64
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), BX
	SHLQ $2, BX
	MOVQ pf+56(FP), R11

	// Bring the C tile towards L1 while the products are computed.
	MOVQ DX, R8
	PREFETCHT0 (R8)
	PREFETCHT0 60(R8)
	ADDQ BX, R8
	PREFETCHT0 (R8)
	PREFETCHT0 60(R8)
	ADDQ BX, R8
	PREFETCHT0 (R8)
	PREFETCHT0 60(R8)
	ADDQ BX, R8
	PREFETCHT0 (R8)
	PREFETCHT0 60(R8)
	ADDQ BX, R8
	PREFETCHT0 (R8)
	PREFETCHT0 60(R8)
	ADDQ BX, R8
	PREFETCHT0 (R8)
	PREFETCHT0 60(R8)

	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	VXORPS Y14, Y14, Y14

	MOVQ CX, AX
	SHRQ $2, AX
	ANDQ $3, CX
	TESTQ AX, AX
	JZ   k1

kN:
	PREFETCHT0 (R11)
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
	VBROADCASTSS alpha+40(FP), Y0
	VMULPS Y0, Y3, Y3
	VMULPS Y0, Y4, Y4
	VMULPS Y0, Y5, Y5
	VMULPS Y0, Y6, Y6
	VMULPS Y0, Y7, Y7
	VMULPS Y0, Y8, Y8
	VMULPS Y0, Y9, Y9
	VMULPS Y0, Y10, Y10
	VMULPS Y0, Y11, Y11
	VMULPS Y0, Y12, Y12
	VMULPS Y0, Y13, Y13
	VMULPS Y0, Y14, Y14
	MOVQ DX, R8
	MOVBLZX accum+48(FP), AX
	TESTQ AX, AX
	JNZ  beta

	STOREROW(Y3, Y4)
	STOREROW(Y5, Y6)
	STOREROW(Y7, Y8)
	STOREROW(Y9, Y10)
	STOREROW(Y11, Y12)
	STOREROW(Y13, Y14)
	VZEROUPPER
	RET

beta:
	// All loads of C before any store: rows ldc apart may alias (4 KiB
	// strides), and a load behind a store to an aliasing address waits.
	VBROADCASTSS beta+44(FP), Y1
	LEAQ (BX)(BX*2), R9
	LEAQ (DX)(BX*4), R10
	VFMADD231PS (DX), Y1, Y3
	VFMADD231PS 32(DX), Y1, Y4
	VFMADD231PS (DX)(BX*1), Y1, Y5
	VFMADD231PS 32(DX)(BX*1), Y1, Y6
	VFMADD231PS (DX)(BX*2), Y1, Y7
	VFMADD231PS 32(DX)(BX*2), Y1, Y8
	VFMADD231PS (DX)(R9*1), Y1, Y9
	VFMADD231PS 32(DX)(R9*1), Y1, Y10
	VFMADD231PS (R10), Y1, Y11
	VFMADD231PS 32(R10), Y1, Y12
	VFMADD231PS (R10)(BX*1), Y1, Y13
	VFMADD231PS 32(R10)(BX*1), Y1, Y14
	STOREROW(Y3, Y4)
	STOREROW(Y5, Y6)
	STOREROW(Y7, Y8)
	STOREROW(Y9, Y10)
	STOREROW(Y11, Y12)
	STOREROW(Y13, Y14)
	VZEROUPPER
	RET
