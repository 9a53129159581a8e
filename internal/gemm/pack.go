package gemm

// The packed layouts. Packed A (m×k) is a sequence of ⌈m/mr⌉ panels of
// mr·k values: panel q holds rows q·mr … q·mr+mr−1, column by column, so
// element (i, p) is at (i/mr)·mr·k + p·mr + i%mr; rows past m are zero.
// Packed B (k×n) is a sequence of ⌈n/nr⌉ panels of nr·k values: element
// (p, j) is at (j/nr)·nr·k + p·nr + j%nr; columns past n are zero. Row i0
// of packed A (i0 a multiple of mr) thus starts at i0·k, and column j0 of
// packed B (j0 a multiple of nr) at j0·k.

// packAPanel writes rows [i0, i0+rows) (rows ≤ mr) and columns
// [p0, p0+kc) of op(A) into dst[:mr·kc] in panel order, zero-padding rows
// past rows. op(A)(i, p) is a[i·lda+p], or a[p·lda+i] when trans. With
// avx2, full panels are packed by the assembly routines.
func packAPanel(avx2 bool, dst []float32, trans bool, a []float32, lda, i0, rows, p0, kc int) {
	dst = dst[:mr*kc]
	if avx2 && rows == mr && !trans {
		o := i0*lda + p0
		_ = a[o+(mr-1)*lda+kc-1]
		kc4 := kc / 4
		if kc4 > 0 {
			packA6NAVX2(&dst[0], &a[o], lda, kc4)
		}
		for p := 4 * kc4; p < kc; p++ {
			for r := range mr {
				dst[p*mr+r] = a[o+r*lda+p]
			}
		}
		return
	}
	switch {
	case !trans && rows == mr:
		o := i0*lda + p0
		r0 := a[o : o+kc]
		r1 := a[o+lda : o+lda+kc]
		r2 := a[o+2*lda : o+2*lda+kc]
		r3 := a[o+3*lda : o+3*lda+kc]
		r4 := a[o+4*lda : o+4*lda+kc]
		r5 := a[o+5*lda : o+5*lda+kc]
		for p := range kc {
			d := (*[mr]float32)(dst[p*mr:])
			d[0], d[1], d[2], d[3], d[4], d[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
		}
	case trans && rows == mr:
		for p := range kc {
			o := (p0+p)*lda + i0
			*(*[mr]float32)(dst[p*mr:]) = *(*[mr]float32)(a[o : o+mr])
		}
	default:
		clear(dst)
		for r := range rows {
			for p := range kc {
				if trans {
					dst[p*mr+r] = a[(p0+p)*lda+i0+r]
				} else {
					dst[p*mr+r] = a[(i0+r)*lda+p0+p]
				}
			}
		}
	}
}

// packBPanel writes rows [p0, p0+kc) and columns [j0, j0+cols)
// (cols ≤ nr) of op(B) into dst[:nr·kc] in panel order, zero-padding
// columns past cols. op(B)(p, j) is b[p·ldb+j], or b[j·ldb+p] when trans.
// With avx2, full panels are packed by the assembly routines.
func packBPanel(avx2 bool, dst []float32, trans bool, b []float32, ldb, p0, kc, j0, cols int) {
	dst = dst[:nr*kc]
	if avx2 && cols == nr && trans {
		o := j0*ldb + p0
		_ = b[o+(nr-1)*ldb+kc-1]
		kc4 := kc / 4
		if kc4 > 0 {
			packB16TAVX2(&dst[0], &b[o], ldb, kc4)
		}
		for p := 4 * kc4; p < kc; p++ {
			for c := range nr {
				dst[p*nr+c] = b[o+c*ldb+p]
			}
		}
		return
	}
	switch {
	case !trans && cols == nr:
		for p := range kc {
			o := (p0+p)*ldb + j0
			// Two 8-element copies: a 16-element one calls memmove.
			*(*[8]float32)(dst[p*nr:]) = *(*[8]float32)(b[o : o+8])
			*(*[8]float32)(dst[p*nr+8:]) = *(*[8]float32)(b[o+8 : o+nr])
		}
	case trans && cols == nr:
		// Gather from 16 rows of b, four at a time.
		for c := 0; c < nr; c += 4 {
			o := (j0+c)*ldb + p0
			r0 := b[o : o+kc]
			r1 := b[o+ldb : o+ldb+kc]
			r2 := b[o+2*ldb : o+2*ldb+kc]
			r3 := b[o+3*ldb : o+3*ldb+kc]
			for p := range kc {
				d := (*[4]float32)(dst[p*nr+c:])
				d[0], d[1], d[2], d[3] = r0[p], r1[p], r2[p], r3[p]
			}
		}
	default:
		clear(dst)
		for c := range cols {
			for p := range kc {
				if trans {
					dst[p*nr+c] = b[(j0+c)*ldb+p0+p]
				} else {
					dst[p*nr+c] = b[(p0+p)*ldb+j0+c]
				}
			}
		}
	}
}
