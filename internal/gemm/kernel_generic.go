package gemm

import "github.com/xentlab/xent/internal/vek"

// kernelGo is the portable twin of the micro-kernels: with
// acc[i][j] = Σ_{p<k} a[6p+i]·b[16p+j] (p ascending, one accumulator per
// element, each step a fused multiply-add rounded once to float32, as the
// assembly's VFMADD231PS) it stores fma(beta, c, alpha·acc) (accum) or
// alpha·acc (c not read) to c[i·ldc+j] for i < 6, j < 16: the assembly's
// operations, so the same bits.
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
				c00 = vek.FMA32(a0, b0, c00)
				c01 = vek.FMA32(a0, b1, c01)
				c02 = vek.FMA32(a0, b2, c02)
				c03 = vek.FMA32(a0, b3, c03)
				c10 = vek.FMA32(a1, b0, c10)
				c11 = vek.FMA32(a1, b1, c11)
				c12 = vek.FMA32(a1, b2, c12)
				c13 = vek.FMA32(a1, b3, c13)
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
				v = vek.FMA32(beta, row[j], v)
			}
			row[j] = v
		}
	}
}
