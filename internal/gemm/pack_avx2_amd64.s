//go:build !purego

#include "textflag.h"

// Packing routines, AVX2. Each copies whole panels of the layouts in
// pack.go; edge panels (fewer than mr rows or nr columns) and the k steps
// left over by the 4-step transposes are packed in Go. None reads outside
// the rows [p0, p0+kc) of the source rows or columns it packs. Y15 is
// never touched.

// func packB16N(dst, src *float32, ld, kc, np, stride int)
//
// Packs np ≤ 4 panels: dst[q·stride+16p+j] = src[p·ld+16q+j] for p < kc,
// q < np, j < 16. Each source row is read once, contiguously, and the same
// 256 bytes twelve rows ahead are prefetched (rows ld·4 bytes apart are
// on different pages, where the hardware prefetcher does not follow).
TEXT ·packB16N(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), BX
	SHLQ $2, BX
	MOVQ kc+24(FP), CX
	MOVQ np+32(FP), R8
	MOVQ stride+40(FP), R9
	SHLQ $2, R9
	LEAQ (BX)(BX*2), R12
	SHLQ $2, R12
	TESTQ CX, CX
	JZ    bndone
	TESTQ R8, R8
	JZ    bndone

bnrow:
	MOVQ SI, R10
	MOVQ DI, R11
	MOVQ R8, DX
	PREFETCHT0 (SI)(R12*1)
	PREFETCHT0 64(SI)(R12*1)
	PREFETCHT0 128(SI)(R12*1)
	PREFETCHT0 192(SI)(R12*1)

bnpanel:
	VMOVUPS (R10), Y0
	VMOVUPS 32(R10), Y1
	VMOVUPS Y0, (R11)
	VMOVUPS Y1, 32(R11)
	ADDQ $64, R10
	ADDQ R9, R11
	DECQ DX
	JNZ  bnpanel
	ADDQ BX, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  bnrow

bndone:
	VZEROUPPER
	RET

// TRANS4x8 transposes, in each 128-bit lane, the 4×4 blocks of Y0..Y3
// (lane rows) into Y8..Y11: Y(8+q) holds element q of Y0, Y1, Y2, Y3 in
// each lane. Uses Y4..Y7.
#define TRANS4x8 \
	VUNPCKLPS Y1, Y0, Y4 \
	VUNPCKHPS Y1, Y0, Y5 \
	VUNPCKLPS Y3, Y2, Y6 \
	VUNPCKHPS Y3, Y2, Y7 \
	VSHUFPS $0x44, Y6, Y4, Y8 \
	VSHUFPS $0xee, Y6, Y4, Y9 \
	VSHUFPS $0x44, Y7, Y5, Y10 \
	VSHUFPS $0xee, Y7, Y5, Y11

// LOAD8ROWS loads 4 steps of 8 rows: Y(r) low lane from row r at (base),
// high lane from row r+4 at (base4), for r < 4 (BX = ld bytes, R9 = 3·ld).
#define LOAD8ROWS(base, base4) \
	VMOVUPS (base), X0 \
	VINSERTF128 $1, (base4), Y0, Y0 \
	VMOVUPS (base)(BX*1), X1 \
	VINSERTF128 $1, (base4)(BX*1), Y1, Y1 \
	VMOVUPS (base)(BX*2), X2 \
	VINSERTF128 $1, (base4)(BX*2), Y2, Y2 \
	VMOVUPS (base)(R9*1), X3 \
	VINSERTF128 $1, (base4)(R9*1), Y3, Y3

// func packB16T(dst, src *float32, ld, kc4 int)
//
// dst[16p+j] = src[j·ld+p] for p < 4·kc4, j < 16: sixteen rows of src
// become the columns of the panel, four steps at a time.
TEXT ·packB16T(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), BX
	SHLQ $2, BX
	MOVQ kc4+24(FP), CX
	LEAQ (BX)(BX*2), R9
	LEAQ (SI)(BX*4), R10
	LEAQ (R10)(BX*4), R11
	LEAQ (R11)(BX*4), R12
	TESTQ CX, CX
	JZ    btdone

btloop:
	LOAD8ROWS(SI, R10)
	TRANS4x8
	VMOVUPS Y8, (DI)
	VMOVUPS Y9, 64(DI)
	VMOVUPS Y10, 128(DI)
	VMOVUPS Y11, 192(DI)
	LOAD8ROWS(R11, R12)
	TRANS4x8
	VMOVUPS Y8, 32(DI)
	VMOVUPS Y9, 96(DI)
	VMOVUPS Y10, 160(DI)
	VMOVUPS Y11, 224(DI)
	ADDQ $16, SI
	ADDQ $16, R10
	ADDQ $16, R11
	ADDQ $16, R12
	ADDQ $256, DI
	DECQ CX
	JNZ  btloop

btdone:
	VZEROUPPER
	RET

// func packA6N(dst, src *float32, ld, kc4 int)
//
// dst[6p+i] = src[i·ld+p] for p < 4·kc4, i < 6: six rows of src become
// the rows of the panel, four steps at a time.
TEXT ·packA6N(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), BX
	SHLQ $2, BX
	MOVQ kc4+24(FP), CX
	LEAQ (BX)(BX*2), R9
	LEAQ (SI)(BX*4), R10
	TESTQ CX, CX
	JZ    andone

anloop:
	VMOVUPS (SI), X0
	VMOVUPS (SI)(BX*1), X1
	VMOVUPS (SI)(BX*2), X2
	VMOVUPS (SI)(R9*1), X3
	VMOVUPS (R10), X12
	VMOVUPS (R10)(BX*1), X13
	// Rows 0..3: a 4×4 transpose; rows 4, 5: interleaved pairs.
	VUNPCKLPS X1, X0, X4
	VUNPCKHPS X1, X0, X5
	VUNPCKLPS X3, X2, X6
	VUNPCKHPS X3, X2, X7
	VSHUFPS $0x44, X6, X4, X8
	VSHUFPS $0xee, X6, X4, X9
	VSHUFPS $0x44, X7, X5, X10
	VSHUFPS $0xee, X7, X5, X11
	VUNPCKLPS X13, X12, X14
	VUNPCKHPS X13, X12, X12
	VMOVUPS X8, (DI)
	VMOVLPS X14, 16(DI)
	VMOVUPS X9, 24(DI)
	VMOVHPS X14, 40(DI)
	VMOVUPS X10, 48(DI)
	VMOVLPS X12, 64(DI)
	VMOVUPS X11, 72(DI)
	VMOVHPS X12, 88(DI)
	ADDQ $16, SI
	ADDQ $16, R10
	ADDQ $96, DI
	DECQ CX
	JNZ  anloop

andone:
	RET

// func packA6T(dst, src *float32, ld, kc, np, stride int)
//
// Packs np ≤ 4 panels: dst[q·stride+6p+i] = src[p·ld+6q+i] for p < kc,
// q < np, i < 6. Each source row is read once, contiguously, and the same
// 96 bytes twelve rows ahead are prefetched.
TEXT ·packA6T(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), BX
	SHLQ $2, BX
	MOVQ kc+24(FP), CX
	MOVQ np+32(FP), R8
	MOVQ stride+40(FP), R9
	SHLQ $2, R9
	LEAQ (BX)(BX*2), R12
	SHLQ $2, R12
	TESTQ CX, CX
	JZ    atdone
	TESTQ R8, R8
	JZ    atdone

atrow:
	MOVQ SI, R10
	MOVQ DI, R11
	MOVQ R8, DX
	PREFETCHT0 (SI)(R12*1)
	PREFETCHT0 48(SI)(R12*1)
	PREFETCHT0 95(SI)(R12*1)

atpanel:
	VMOVUPS (R10), X0
	VMOVSD 16(R10), X1
	VMOVUPS X0, (R11)
	VMOVSD X1, 16(R11)
	ADDQ $24, R10
	ADDQ R9, R11
	DECQ DX
	JNZ  atpanel
	ADDQ BX, SI
	ADDQ $24, DI
	DECQ CX
	JNZ  atrow

atdone:
	RET
