package gemm_test

import (
	"fmt"

	"github.com/xentlab/xent/internal/gemm"
)

func ExampleGemm() {
	// C = A·Bᵀ for A 2×3 and B 2×3 (rows of B as classifier weights).
	a := []float32{
		1, 2, 3,
		4, 5, 6,
	}
	b := []float32{
		1, 0, 1,
		0, 1, 0,
	}
	c := make([]float32, 2*2)
	gemm.Gemm(false, true, 2, 2, 3, 1, a, 3, b, 3, 0, c, 2, 1)
	fmt.Println(c)
	// Output: [4 2 10 5]
}

func ExampleMulPacked() {
	// Pack the weights once, then multiply several row blocks by them.
	const k, n = 3, 2
	w := []float32{ // n×k: C = H·Wᵀ
		1, 1, 1,
		1, -1, 0,
	}
	pw := make([]float32, gemm.PackBSize(k, n))
	gemm.PackB(true, k, n, w, k, pw)

	for _, h := range [][]float32{{1, 2, 3}, {2, 2, 2, 0, 1, 0}} {
		m := len(h) / k
		ph := make([]float32, gemm.PackASize(m, k))
		gemm.PackA(false, m, k, h, k, ph)
		c := make([]float32, m*n)
		gemm.MulPacked(m, n, k, 1, ph, pw, 0, c, n, 1)
		fmt.Println(c)
	}
	// Output:
	// [6 -1]
	// [6 0 1 -1]
}
