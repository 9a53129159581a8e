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

func ExampleLogSumExp() {
	// Two vocabulary shards of one row of logits, merged: the same bits as
	// one pass over the row, whichever shard comes first.
	var a, b exact.LogSumExp
	for _, z := range []float64{1, 2} {
		a.Add(z)
	}
	for _, z := range []float64{3, 4} {
		b.Add(z)
	}
	var one exact.LogSumExp
	for _, z := range []float64{4, 3, 2, 1} {
		one.Add(z)
	}
	b.Merge(&a)
	fmt.Printf("%.12f %v\n", b.Value(), b.Value() == one.Value())
	// Output: 4.440189698561 true
}
