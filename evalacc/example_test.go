package evalacc_test

import (
	"bytes"
	"fmt"
	"os"

	"github.com/xentlab/xent/evalacc"
	"github.com/xentlab/xent/npy"
)

// Two shards of a data set evaluated apart, their partials carried as
// bytes and merged: the report is the one of a single pass.
func Example() {
	logits := [][]float32{{2, 1, 0, 0, 3, 1}, {1, 0, 4}}
	labels := [][]int64{{0, 2}, {2}}

	cfg := evalacc.DefaultConfig("cross-entropy")
	cfg.Cols, cfg.Targets, cfg.Metrics = 3, evalacc.Labels, evalacc.EvalMetrics(3)
	var wire [][]byte
	for i := range logits {
		var lb, tb bytes.Buffer
		npy.Write(&lb, logits[i], len(labels[i]), 3)
		npy.Write(&tb, labels[i], len(labels[i]))
		lr, _ := npy.NewRowReader(&lb)
		tr, _ := npy.NewRowReader(&tb)
		e, err := evalacc.NewEvaluator(cfg)
		if err != nil {
			fmt.Println(err)
			return
		}
		if err := e.Add(evalacc.Shard{Logits: lr, Targets: tr, LogitsName: "logits", TargetsName: "labels"}); err != nil {
			fmt.Println(err)
			return
		}
		b, _ := e.Partial().MarshalBinary()
		wire = append(wire, b)
	}
	var total evalacc.Partial
	total.UnmarshalBinary(wire[1])
	var first evalacc.Partial
	first.UnmarshalBinary(wire[0])
	total.Merge(&first)
	r, _ := total.Report()
	r.WriteText(os.Stdout)
	// Output:
	// loss 0.881111992 (cross-entropy, mean over 3 rows × 3 columns)
	// accuracy 0.666667  top-5 1.000000
	// nll 0.881112  brier 0.561666
	// ece 0.414105  ece-adaptive 0.414105  mce 0.843795 (15 bins)
}
