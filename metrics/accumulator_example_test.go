package metrics_test

import (
	"fmt"

	"github.com/xentlab/xent/metrics"
)

func ExampleAccumulator() {
	// Two shards of a data set, evaluated apart (on two machines, say),
	// carried as bytes and merged: the report is the one of a single pass.
	cfg := metrics.AccConfig{Cols: 3, TopK: []int{1, 2}}
	logits := []float32{
		2, 1, 0,
		0, 3, 1,
		1, 0, 4,
		0, 2, 1,
	}
	labels := []int32{0, 2, 2, 1}

	a, _ := metrics.NewAccumulator(cfg)
	b, _ := metrics.NewAccumulator(cfg)
	a.Add32(logits[:6], labels[:2])
	b.Add32(logits[6:], labels[2:])
	wire, _ := b.MarshalBinary()

	var c metrics.Accumulator
	c.UnmarshalBinary(wire)
	a.Merge(&c)
	r, _ := a.Report()
	fmt.Printf("N %d, accuracy@1 %.2f, accuracy@2 %.2f, NLL %.4f\n", r.N, r.Accuracy[0], r.Accuracy[1], r.NLL)
	// Output: N 4, accuracy@1 0.75, accuracy@2 1.00, NLL 0.7627
}

func ExamplePassKAccumulator() {
	a, _ := metrics.NewPassKAccumulator(1, 10)
	a.Add(20, 3) // 20 samples, 3 correct
	a.Add(20, 0)
	p, _ := a.PassAtK()
	fmt.Printf("pass@1 %.4f, pass@10 %.4f\n", p[0], p[1])
	// Output: pass@1 0.0750, pass@10 0.4474
}
