package gemm

// kernelGo is the portable twin of the 6×16 micro-kernel: with
// acc[i][j] = Σ_{p<k} a[6p+i]·b[16p+j] (p ascending, one accumulator per
// element, each product and each sum rounded to float32: the conversions
// keep the compiler from fusing them) it stores alpha·acc + beta·c
// (accum; each operation rounded) or alpha·acc (c not read) to
// c[i·ldc+j] for i < 6, j < 16.
func kernelGo(k int, a, b, c []float32, ldc int, alpha, beta float32, accum bool) {
	a = a[:6*k]
	b = b[:16*k]
	_ = c[5*ldc+15]
	var acc [6][16]float32
	// Blocks of 2 rows × 4 columns keep the eight sums in registers.
	for i := 0; i < 6; i += 2 {
		for j := 0; j < 16; j += 4 {
			var c00, c01, c02, c03, c10, c11, c12, c13 float32
			for p := 0; p < k; p++ {
				ap := a[p*6+i : p*6+i+2 : p*6+i+2]
				bp := b[p*16+j : p*16+j+4 : p*16+j+4]
				a0, a1 := ap[0], ap[1]
				b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
				c00 += float32(a0 * b0)
				c01 += float32(a0 * b1)
				c02 += float32(a0 * b2)
				c03 += float32(a0 * b3)
				c10 += float32(a1 * b0)
				c11 += float32(a1 * b1)
				c12 += float32(a1 * b2)
				c13 += float32(a1 * b3)
			}
			acc[i][j], acc[i][j+1], acc[i][j+2], acc[i][j+3] = c00, c01, c02, c03
			acc[i+1][j], acc[i+1][j+1], acc[i+1][j+2], acc[i+1][j+3] = c10, c11, c12, c13
		}
	}
	for i := range 6 {
		row := c[i*ldc : i*ldc+16 : i*ldc+16]
		for j, v := range acc[i] {
			v = alpha * v
			if accum {
				v += float32(beta * row[j])
			}
			row[j] = v
		}
	}
}
