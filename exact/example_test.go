package exact_test

import (
	"fmt"

	"github.com/xentlab/xent/exact"
)

func Example() {
	// Naive float64 addition loses the 1 to rounding; the exact sum does
	// not, and gives the same bits whatever the order and the grouping.
	xs := []float64{1e300, 1, -1e300}
	naive := xs[0] + xs[1] + xs[2]

	var a, b exact.Sum
	a.Add(xs[0])
	b.Add(xs[2])
	b.Add(xs[1])
	a.Merge(&b)
	fmt.Println(naive, a.Value())
	// Output: 0 1
}
