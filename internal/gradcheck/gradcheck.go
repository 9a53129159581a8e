// Package gradcheck checks analytic gradients against central finite
// differences in float64. Every loss of the project uses it in its tests.
package gradcheck

import (
	"fmt"
	"math"
)

// Numeric returns the central-difference gradient of f at x:
// (f(x + h_i·e_i) − f(x − h_i·e_i)) / (2h_i) with h_i = h·max(1, |x_i|).
// Entries that are ±Inf (masks) are left out (their gradient reads 0). x
// is restored before returning.
func Numeric(f func(x []float64) float64, x []float64, h float64) []float64 {
	g := make([]float64, len(x))
	for i, v := range x {
		if math.IsInf(v, 0) {
			continue
		}
		step := h * max(1, math.Abs(v))
		x[i] = v + step
		fp := f(x)
		x[i] = v - step
		fm := f(x)
		x[i] = v
		g[i] = (fp - fm) / (2 * step)
	}
	return g
}

// Compare returns an error naming the first index where
// |got − want| > atol + rtol·|want|, or nil.
func Compare(got, want []float64, atol, rtol float64) error {
	if len(got) != len(want) {
		return fmt.Errorf("gradient has %d entries, want %d", len(got), len(want))
	}
	for i := range got {
		if math.IsNaN(got[i]) || math.Abs(got[i]-want[i]) > atol+rtol*math.Abs(want[i]) {
			return fmt.Errorf("entry %d: analytic %.12g, numeric %.12g (diff %.3g)", i, got[i], want[i], got[i]-want[i])
		}
	}
	return nil
}

// Check compares grad with the numeric gradient of f at x using step h,
// with the tolerance atol + rtol·|numeric|.
func Check(f func(x []float64) float64, grad, x []float64, h, atol, rtol float64) error {
	return Compare(grad, Numeric(f, x, h), atol, rtol)
}
