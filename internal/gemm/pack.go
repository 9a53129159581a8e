package gemm

// The packed layouts, for a tier's (mr, nr). Packed A (m×k) is a sequence
// of ⌈m/mr⌉ panels of mr·k values: panel q holds rows q·mr … q·mr+mr−1,
// column by column, so element (i, p) is at (i/mr)·mr·k + p·mr + i%mr;
// rows past m are zero. Packed B (k×n) is a sequence of ⌈n/nr⌉ panels of
// nr·k values: element (p, j) is at (j/nr)·nr·k + p·nr + j%nr; columns
// past n are zero. Row i0 of packed A (i0 a multiple of mr) thus starts
// at i0·k, and column j0 of packed B (j0 a multiple of nr) at j0·k.
// Within Gemm, each k block is packed on its own (k = kc above).

// packGroup is the number of panels the row-copying packers fill in one
// pass over the source rows: more would make the stores conflict in L1
// when the panel stride is a multiple of 4 KiB.
const packGroup = 4

// packA packs rows [i0, i0+m) and columns [p0, p0+kc) of op(A) as panels
// of mr rows, panel q at dst[q·sa:]. op(A)(i, p) is a[i·lda+p], or
// a[p·lda+i] when trans.
func (t *tier) packA(dst []float32, sa int, trans bool, a []float32, lda, i0, m, p0, kc int) {
	mr := t.mr
	full := m / mr
	if t.asm && full > 0 {
		if trans {
			_ = a[(p0+kc-1)*lda+i0+full*mr-1]
			_ = dst[(full-1)*sa+mr*kc-1]
			for q := 0; q < full; q += packGroup {
				np := min(packGroup, full-q)
				if t.avx512 {
					packATAVX512(&dst[q*sa], &a[p0*lda+i0+q*mr], lda, kc, np, sa)
				} else {
					packATAVX2(&dst[q*sa], &a[p0*lda+i0+q*mr], lda, kc, np, sa)
				}
			}
		} else {
			for q := range full {
				o := (i0+q*mr)*lda + p0
				_ = a[o+(mr-1)*lda+kc-1]
				_ = dst[q*sa+mr*kc-1]
				if t.avx512 {
					packANAVX512(&dst[q*sa], &a[o], lda, kc)
				} else {
					packANAVX2(&dst[q*sa], &a[o], lda, kc)
				}
			}
		}
	} else {
		full = 0
	}
	for q := full; q*mr < m; q++ {
		packAPanel(mr, dst[q*sa:q*sa+mr*kc], trans, a, lda, i0+q*mr, min(mr, m-q*mr), p0, kc)
	}
}

// packB packs rows [p0, p0+kc) and columns [j0, j0+n) of op(B) as panels
// of nr columns, panel q at dst[q·sb:]. op(B)(p, j) is b[p·ldb+j], or
// b[j·ldb+p] when trans.
func (t *tier) packB(dst []float32, sb int, trans bool, b []float32, ldb, p0, kc, j0, n int) {
	nr := t.nr
	full := n / nr
	if t.asm && full > 0 {
		if trans {
			for q := range full {
				o := (j0+q*nr)*ldb + p0
				_ = b[o+(nr-1)*ldb+kc-1]
				_ = dst[q*sb+nr*kc-1]
				if t.avx512 {
					packBTAVX512(&dst[q*sb], &b[o], ldb, kc)
				} else {
					packBTAVX2(&dst[q*sb], &b[o], ldb, kc)
				}
			}
		} else {
			_ = b[(p0+kc-1)*ldb+j0+full*nr-1]
			_ = dst[(full-1)*sb+nr*kc-1]
			for q := 0; q < full; q += packGroup {
				np := min(packGroup, full-q)
				if t.avx512 {
					packBNAVX512(&dst[q*sb], &b[p0*ldb+j0+q*nr], ldb, kc, np, sb)
				} else {
					packBNAVX2(&dst[q*sb], &b[p0*ldb+j0+q*nr], ldb, kc, np, sb)
				}
			}
		}
	} else {
		full = 0
	}
	for q := full; q*nr < n; q++ {
		packBPanel(nr, dst[q*sb:q*sb+nr*kc], trans, b, ldb, p0, kc, j0+q*nr, min(nr, n-q*nr))
	}
}

// packAPanel writes rows [i0, i0+rows) (rows ≤ mr) and columns
// [p0, p0+kc) of op(A) into dst (mr·kc values) in panel order,
// zero-padding rows past rows.
func packAPanel(mr int, dst []float32, trans bool, a []float32, lda, i0, rows, p0, kc int) {
	if rows < mr {
		clear(dst)
	}
	for r := range rows {
		if trans {
			src := a[p0*lda+i0+r:]
			for p := range kc {
				dst[p*mr+r] = src[p*lda]
			}
			continue
		}
		src := a[(i0+r)*lda+p0 : (i0+r)*lda+p0+kc]
		for p, v := range src {
			dst[p*mr+r] = v
		}
	}
}

// packBPanel writes rows [p0, p0+kc) and columns [j0, j0+cols)
// (cols ≤ nr) of op(B) into dst (nr·kc values) in panel order,
// zero-padding columns past cols.
func packBPanel(nr int, dst []float32, trans bool, b []float32, ldb, p0, kc, j0, cols int) {
	if cols < nr {
		clear(dst)
	}
	if trans {
		for c := range cols {
			src := b[(j0+c)*ldb+p0 : (j0+c)*ldb+p0+kc]
			for p, v := range src {
				dst[p*nr+c] = v
			}
		}
		return
	}
	for p := range kc {
		o := (p0+p)*ldb + j0
		copy(dst[p*nr:p*nr+cols], b[o:o+cols])
	}
}
