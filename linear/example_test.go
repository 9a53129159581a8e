package linear_test

import (
	"fmt"

	"github.com/xentlab/xent/linear"
)

func ExampleHead_Eval() {
	// Two tokens, hidden size 2, vocabulary of 3.
	in := linear.Input{
		Hidden: []float32{1, 0, 0, 1}, N: 2, D: 2,
		Weight: []float32{1, 0, 0, 1, 1, 1}, V: 3,
		Targets: []int32{0, 2},
	}
	out := linear.Output{GradHidden: make([]float32, 4), GradWeight: make([]float32, 6)}
	st, err := linear.Head{}.Eval(in, out)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("loss %.4f\ndH %.4f\n", st.Loss, out.GradHidden)
	// Output:
	// loss 0.8620
	// dH [-0.0777 0.2888 -0.2112 -0.0777]
}

// The vocabulary split in three slices (as on three machines): each slice
// reduces its logits to per-row states, the states merge (a tiny
// all-reduce), and each slice's backward needs only the merged states.
func ExampleMergeShards() {
	in := linear.Input{
		Hidden: []float32{1, 0, 0, 1}, N: 2, D: 2,
		Weight: []float32{1, 0, 0, 1, 1, 1}, V: 3,
		Targets: []int32{0, 2},
	}
	var h linear.Head
	part := func(v0, v1 int) linear.Input {
		s := in
		s.Weight, s.V = in.Weight[2*v0:2*v1], v1-v0
		return s
	}
	var states [][]linear.ShardState
	for v0 := 0; v0 < 3; v0++ {
		st, _ := h.ShardForward(part(v0, v0+1), v0, 3)
		states = append(states, st)
	}
	merged, _ := linear.MergeShards(states...)
	l, _ := h.ShardLoss(in, 3, merged, nil)
	dH := make([]float32, 4) // the slices' contributions add up here
	for v0 := 0; v0 < 3; v0++ {
		dW := make([]float32, 2) // this slice's rows of ∂W
		h.ShardBackward(part(v0, v0+1), v0, 3, merged, linear.Output{GradHidden: dH, GradWeight: dW})
	}
	whole, _ := h.Eval(in, linear.Output{})
	fmt.Printf("sharded %.4f, whole %.4f\ndH %.4f\n", l, whole.Loss, dH)
	// Output:
	// sharded 0.8620, whole 0.8620
	// dH [-0.0777 0.2888 -0.2112 -0.0777]
}

// The hidden states of a large evaluation read a block of rows at a time
// (here from a slice; from a file, say, with npy.RowReader): the head
// never holds more than one token block of them.
func ExampleHead_EvalStream() {
	hidden := []float32{1, 0, 0, 1, 1, 1}
	in := linear.Input{
		N: 3, D: 2, // Hidden stays nil
		Weight: []float32{1, 0, 0, 1, 1, 1}, V: 3,
		Targets: []int32{0, 2, 2},
	}
	s := linear.HiddenStream{Read: func(dst []float32, row int) error {
		fmt.Printf("rows %d to %d\n", row, row+len(dst)/2-1)
		copy(dst, hidden[2*row:])
		return nil
	}}
	st, err := linear.Head{BlockRows: 2}.EvalStream(in, s, linear.Output{})
	if err != nil {
		fmt.Println(err)
		return
	}
	whole, _ := linear.Head{BlockRows: 2}.Eval(linear.Input{Hidden: hidden, N: 3, D: 2, Weight: in.Weight, V: 3, Targets: in.Targets}, linear.Output{})
	fmt.Printf("streamed %.4f, whole %.4f\n", st.Loss, whole.Loss)
	// Output:
	// rows 0 to 1
	// rows 2 to 2
	// streamed 0.7585, whole 0.7585
}
