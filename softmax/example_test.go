package softmax_test

import (
	"fmt"
	"math"

	"github.com/xentlab/xent/softmax"
)

func ExampleSoftmax() {
	// Two rows of three logits; the second has a masked entry.
	x := []float32{
		1, 2, 3,
		0, float32(math.Inf(-1)), 0,
	}
	p := make([]float32, len(x))
	if err := softmax.Softmax(p, x, 3); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%.4f\n", p)
	// Output: [0.0900 0.2447 0.6652 0.5000 0.0000 0.5000]
}

func ExampleLogSoftmax() {
	// Large offsets lose nothing: log-softmax is computed as
	// (x − max) − log Σ exp(x − max).
	x := []float32{30000, 30001, 30002}
	lp := make([]float32, 3)
	if err := softmax.LogSoftmax(lp, x, 3); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%.5f\n", lp)
	// Output: [-2.40761 -1.40761 -0.40761]
}

func ExampleLogSumExp() {
	x := []float64{1000, 1001, 999, 1, 2, 3}
	lse := make([]float64, 2)
	if err := softmax.LogSumExp(lse, x, 3, softmax.Temperature(1)); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%.5f\n", lse)
	// Output: [1001.40761 3.40761]
}

// A vocabulary split in shards (for example across machines): each shard
// reduces its part to a State, the states merge, and the result is the
// log-sum-exp of the whole row.
func ExampleState_Merge() {
	row := []float64{0.5, 2, -1, 4, 3, 0}
	var total softmax.State
	for _, shard := range [][]float64{row[:2], row[2:5], row[5:]} {
		s, err := softmax.Reduce(shard)
		if err != nil {
			fmt.Println(err)
			return
		}
		total = total.Merge(s)
	}
	whole, _ := softmax.Reduce(row)
	fmt.Printf("%.12f %.12f\n", total.LogSumExp(), whole.LogSumExp())
	// Output: 4.443701807611 4.443701807611
}
