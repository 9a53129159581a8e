package softmax

import (
	"fmt"
	"math"
)

// OrdinalSoftmax writes the class probabilities of K ordered classes from
// K−1 cumulative logits per row, the "ordinal softmax" of the CORAL
// (consistent rank logits) model of Cao, Mirjalili and Raschka, "Rank
// consistent ordinal regression for neural networks with application to
// age estimation" (Pattern Recognition Letters, 2020), as released in the
// coral-ordinal package (catalog A3). x holds rows of cols = K−1 logits
// z_k with P(y > k) = σ(z_k); dst receives rows of K = cols+1
// probabilities:
//
//	P(y = 0) = 1 − σ(z_0),  P(y = k) = σ(z_{k−1}) − σ(z_k),  P(y = K−1) = σ(z_{K−2}).
//
// They are non-negative and sum to 1 when the logits are non-increasing,
// as CORAL's shared weights and ordered biases make them at the optimum;
// for arbitrary logits a negative difference is clamped to 0 (the package
// returns it negative), so the row then sums to more than 1.
//
// Stable form: 1 − σ(z) = σ(−z), and σ(a) − σ(b) = σ(a)·σ(−b)·(−expm1(b − a))
// in float64, exact to a few ulp also where both σ are near 1 or 0
// (the plain difference loses every digit there). ±Inf logits saturate;
// a NaN makes the whole row NaN. The Temperature option divides x by T.
// dst must not overlap x.
func OrdinalSoftmax[T Float](dst, x []T, cols int, opts ...Option) error {
	const name = "OrdinalSoftmax"
	if cols <= 0 {
		return fmt.Errorf("softmax.%s: cols = %d, want ≥ 1 (K−1 cumulative logits): %w", name, cols, ErrShape)
	}
	if len(x)%cols != 0 {
		return fmt.Errorf("softmax.%s: len(x) = %d is not a multiple of cols = %d: %w", name, len(x), cols, ErrShape)
	}
	rows := len(x) / cols
	if len(dst) != rows*(cols+1) {
		return fmt.Errorf("softmax.%s: len(dst) = %d, want %d (rows × (cols+1)): %w", name, len(dst), rows*(cols+1), ErrShape)
	}
	if shares(dst, x) {
		return fmt.Errorf("softmax.%s: dst overlaps x: %w", name, ErrShape)
	}
	c, err := configure(opts)
	if err != nil {
		return err
	}
	s := 1 / c.temperature
	forRows(rows, cols, c.threads, func(r int) {
		z, out := x[r*cols:(r+1)*cols], dst[r*(cols+1):(r+1)*(cols+1)]
		if nan, _ := rowSpecial(z); nan {
			fillT(out, math.NaN())
			return
		}
		out[0] = T(sigmoid(-float64(z[0]) * s))
		for k := 1; k < cols; k++ {
			out[k] = T(sigmoidDiff(float64(z[k-1])*s, float64(z[k])*s))
		}
		out[cols] = T(sigmoid(float64(z[cols-1]) * s))
	})
	return nil
}

// sigmoidDiff returns max(σ(a) − σ(b), 0) without cancellation.
func sigmoidDiff(a, b float64) float64 {
	switch {
	case !(a > b):
		return 0
	case math.IsInf(a, 0) || math.IsInf(b, 0):
		if math.IsInf(b, -1) {
			return sigmoid(a)
		}
		return sigmoid(-b) // a = +Inf
	}
	return sigmoid(a) * sigmoid(-b) * -math.Expm1(b-a)
}

// OrdinalPredict writes each row's predicted class of the cumulative
// logits x (cols = K−1 per row): the number of k with σ(z_k) > 0.5, i.e.
// z_k > 0 (CORAL's rule with threshold 0.5). A row with a NaN gets −1.
func OrdinalPredict[T Float](dst []int32, x []T, cols int) error {
	const name = "OrdinalPredict"
	if cols <= 0 || len(x)%cols != 0 {
		return fmt.Errorf("softmax.%s: len(x) = %d, cols = %d: %w", name, len(x), cols, ErrShape)
	}
	if cols > math.MaxInt32 {
		return fmt.Errorf("softmax.%s: cols = %d: a prediction up to cols does not fit dst's int32: %w", name, cols, ErrShape)
	}
	if len(dst) != len(x)/cols {
		return fmt.Errorf("softmax.%s: len(dst) = %d, want %d (one per row): %w", name, len(dst), len(x)/cols, ErrShape)
	}
	for r := range dst {
		n := int32(0)
		for _, v := range x[r*cols : (r+1)*cols] {
			if v != v {
				n = -1
				break
			}
			if v > 0 {
				n++
			}
		}
		dst[r] = n
	}
	return nil
}
