package softmax

import (
	"fmt"
	"math"
)

// TopKSoftmax writes the top-k sparse softmax gate of every row of x into
// dst (same shape; dst may be x): the softmax over the row's k largest
// entries, 0 elsewhere,
//
//	G(x) = softmax(TopK(x/T, k)),  TopK(v, k)_i = v_i if i is among the k largest, −∞ otherwise,
//
// as in the gates of sparse mixtures of experts (catalog B10: Nguyen et
// al., "Statistical Perspective of Top-K Sparse Softmax Gating Mixture of
// Experts", 2024; Shazeer et al., "Outrageously Large Neural Networks",
// 2017).
//
// Ties are broken deterministically: among equal values the lower column
// index is selected first, so [1, 3, 3, 0] with k = 1 selects column 1.
// The gate is not differentiable at a boundary tie; its backward pass,
// SoftmaxBackward on the output (with the same Temperature), uses the
// selection made here: ∂G_i/∂x_j = G_i(δ_ij − G_j)/T for i, j selected, 0
// otherwise.
//
// Special rows follow Softmax: −Inf entries are masked (selected only when
// fewer than k entries are finite, with weight 0); an all −Inf row gives
// zeros; a NaN or +Inf entry makes the row NaN. k must be in [1, cols].
// The selection costs O(cols·log k) per row; the softmax over the k
// values is computed in float64, so each weight has relative error ≤ 2⁻²⁴
// (float32) or (6 + k + 2|z_i − max z|)·2⁻⁵³ (float64).
func TopKSoftmax[T Float](dst, x []T, cols, k int, opts ...Option) error {
	const name = "TopKSoftmax"
	rows, err := checkRowwise(name, dst, x, cols)
	if err != nil {
		return err
	}
	if k < 1 || k > cols {
		return fmt.Errorf("softmax.%s: k = %d, want 1 ≤ k ≤ cols = %d: %w", name, k, cols, ErrShape)
	}
	c, err := configure(opts)
	if err != nil {
		return err
	}
	s := 1 / c.temperature
	forRows(rows, cols, c.threads, func(r int) {
		row, out := x[r*cols:(r+1)*cols], dst[r*cols:(r+1)*cols]
		if nan, inf := rowSpecial(row); nan || inf {
			fillT(out, math.NaN())
			return
		}
		idx := topK(row, k)
		v := make([]float64, len(idx))
		for i, j := range idx {
			v[i] = float64(row[j])
		}
		p := make([]float64, len(idx))
		rowSoftmax64(p, v, s)
		fillT(out, 0)
		for i, j := range idx {
			out[j] = T(p[i])
		}
	})
	return nil
}

// TopKIndices returns the columns TopKSoftmax selects in row (the k
// largest, ties to the lower index), ordered from the largest value down.
// NaN entries are never selected before a number; k is clamped to
// [0, len(row)].
func TopKIndices[T Float](row []T, k int) []int {
	k = max(0, min(k, len(row)))
	idx := topK(row, k)
	// Heap order to descending order (insertion sort: k is small).
	for i := 1; i < len(idx); i++ {
		for j := i; j > 0 && better(row, idx[j], idx[j-1]); j-- {
			idx[j], idx[j-1] = idx[j-1], idx[j]
		}
	}
	return idx
}

// better reports whether column a ranks before column b: a larger value,
// or an equal value at a lower index. NaN ranks last.
func better[T Float](row []T, a, b int) bool {
	va, vb := row[a], row[b]
	switch {
	case va != va:
		return false
	case vb != vb:
		return true
	case va != vb:
		return va > vb
	}
	return a < b
}

// topK returns the k best columns of row as a min-heap (the worst kept
// column at the root).
func topK[T Float](row []T, k int) []int {
	if k == 0 {
		return nil
	}
	h := make([]int, 0, k)
	for j := range row {
		if len(h) < k {
			h = append(h, j)
			// Sift up: the worst column rises to the root.
			for i := len(h) - 1; i > 0; {
				p := (i - 1) / 2
				if !better(row, h[p], h[i]) {
					break
				}
				h[p], h[i] = h[i], h[p]
				i = p
			}
			continue
		}
		if !better(row, j, h[0]) {
			continue
		}
		h[0] = j
		for i := 0; ; {
			l, rr, w := 2*i+1, 2*i+2, i
			if l < k && better(row, h[w], h[l]) {
				w = l
			}
			if rr < k && better(row, h[w], h[rr]) {
				w = rr
			}
			if w == i {
				break
			}
			h[w], h[i] = h[i], h[w]
			i = w
		}
	}
	return h
}
