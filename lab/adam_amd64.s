//go:build !purego

#include "textflag.h"

// func adamAVX2(p, grad, m, v *float32, n int, k *adamConsts)
//
// For each of the n elements (n a multiple of 8), with k = {b1, c1, b2,
// c2, step, eps, keep}:
//	m = b1·m + c1·g
//	v = b2·v + c2·(g·g)
//	p = keep·p − (step·m)/(√v + eps)
TEXT ·adamAVX2(SB), NOSPLIT, $0-48
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), R8
	MOVQ v+24(FP), R9
	MOVQ n+32(FP), CX
	MOVQ k+40(FP), AX
	VBROADCASTSS 0(AX), Y8
	VBROADCASTSS 4(AX), Y9
	VBROADCASTSS 8(AX), Y10
	VBROADCASTSS 12(AX), Y11
	VBROADCASTSS 16(AX), Y12
	VBROADCASTSS 20(AX), Y13
	VBROADCASTSS 24(AX), Y14
	XORQ BX, BX

loop:
	CMPQ BX, CX
	JGE  done
	VMOVUPS (SI)(BX*4), Y0
	VMULPS  (R8)(BX*4), Y8, Y1
	VMULPS  Y0, Y9, Y2
	VADDPS  Y2, Y1, Y1
	VMOVUPS Y1, (R8)(BX*4)
	VMULPS  Y0, Y0, Y3
	VMULPS  Y3, Y11, Y3
	VMULPS  (R9)(BX*4), Y10, Y4
	VADDPS  Y3, Y4, Y4
	VMOVUPS Y4, (R9)(BX*4)
	VSQRTPS Y4, Y5
	VADDPS  Y13, Y5, Y5
	VMULPS  Y1, Y12, Y6
	VDIVPS  Y5, Y6, Y6
	VMULPS  (DI)(BX*4), Y14, Y7
	VSUBPS  Y6, Y7, Y7
	VMOVUPS Y7, (DI)(BX*4)
	ADDQ    $8, BX
	JMP     loop

done:
	VZEROUPPER
	RET
