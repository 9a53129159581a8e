//go:build !purego

#include "textflag.h"

// Counting kernels, AVX2: the number of elements of x greater than t. The
// comparison is VCMPPS/VCMPPD with predicate LT_OS (t < x_i); each true
// lane is all ones (−1), subtracted from a per-lane counter. len(x) must
// be a multiple of 8 (float32) or 4 (float64); the caller does the tail.

// func countGT32AVX2(x []float32, t float32) int
TEXT ·countGT32AVX2(SB), NOSPLIT, $0-40
	MOVQ         x_base+0(FP), SI
	MOVQ         x_len+8(FP), CX
	VBROADCASTSS t+24(FP), Y0
	VPXOR        Y1, Y1, Y1
	VPXOR        Y2, Y2, Y2

loop16:
	CMPQ   CX, $16
	JLT    tail8
	VCMPPS $0x01, (SI), Y0, Y3
	VCMPPS $0x01, 32(SI), Y0, Y4
	VPSUBD Y3, Y1, Y1
	VPSUBD Y4, Y2, Y2
	ADDQ   $64, SI
	SUBQ   $16, CX
	JMP    loop16

tail8:
	CMPQ   CX, $8
	JLT    done
	VCMPPS $0x01, (SI), Y0, Y3
	VPSUBD Y3, Y1, Y1

done:
	VPADDD       Y2, Y1, Y1
	VEXTRACTI128 $1, Y1, X2
	VPADDD       X2, X1, X1
	VPSHUFD      $0x4e, X1, X2
	VPADDD       X2, X1, X1
	VPSHUFD      $0xb1, X1, X2
	VPADDD       X2, X1, X1
	VMOVD        X1, AX
	VZEROUPPER
	MOVQ         AX, ret+32(FP)
	RET

// func countGT64AVX2(x []float64, t float64) int
TEXT ·countGT64AVX2(SB), NOSPLIT, $0-40
	MOVQ         x_base+0(FP), SI
	MOVQ         x_len+8(FP), CX
	VBROADCASTSD t+24(FP), Y0
	VPXOR        Y1, Y1, Y1
	VPXOR        Y2, Y2, Y2

loop8:
	CMPQ   CX, $8
	JLT    tail4
	VCMPPD $0x01, (SI), Y0, Y3
	VCMPPD $0x01, 32(SI), Y0, Y4
	VPSUBQ Y3, Y1, Y1
	VPSUBQ Y4, Y2, Y2
	ADDQ   $64, SI
	SUBQ   $8, CX
	JMP    loop8

tail4:
	CMPQ   CX, $4
	JLT    done
	VCMPPD $0x01, (SI), Y0, Y3
	VPSUBQ Y3, Y1, Y1

done:
	VPADDQ       Y2, Y1, Y1
	VEXTRACTI128 $1, Y1, X2
	VPADDQ       X2, X1, X1
	VPSHUFD      $0x4e, X1, X2
	VPADDQ       X2, X1, X1
	VMOVQ        X1, AX
	VZEROUPPER
	MOVQ         AX, ret+32(FP)
	RET
