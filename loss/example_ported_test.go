package loss_test

import (
	"fmt"

	"github.com/xentlab/xent/loss"
)

// CTC on a batch of two sequences of three frames over four classes
// (blank 0), logits time-major [T, N, C] as PyTorch's, padded targets.
func ExampleCTC_EvalBatch32() {
	logits := []float32{
		0.5, -1, 2, 0.25, 1, 0, -0.5, 0.75, // t = 0: sequences 0 and 1
		-0.25, 1.5, 0, 1, 0.5, 0.5, 2, -1, // t = 1
		1, 0, 0.5, -2, -1, 1, 0, 0.25, // t = 2
	}
	ctc, err := loss.NewCTC(0, false, loss.WithReduction(loss.None))
	if err != nil {
		fmt.Println(err)
		return
	}
	rows := make([]float32, 2)
	grad := make([]float32, len(logits))
	_, err = ctc.EvalBatch32(loss.CTCInput[float32]{
		Logits: logits, Batch: 2, Classes: 4,
		Targets: []int32{1, 3, 2, 0}, TargetCols: 2, // [[1, 3], [2, pad]]
		TargetLengths: []int64{2, 1},
	}, loss.CTCOutput[float32]{Grad: grad, Rows: rows})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("losses %.4f\n", rows)
	fmt.Printf("∂/∂logits at t = 0, sequence 0: %.4f\n", grad[:4])
	// Output:
	// losses [4.8545 2.2970]
	// ∂/∂logits at t = 0, sequence 0: [-0.0887 -0.7226 0.6912 0.1201]
}

// The sigmoid focal loss with torchvision's defaults (α = 0.25, γ = 2) on
// a logit vector [N] (Cols 1) with binary targets.
func ExampleSigmoidFocal() {
	f, _ := loss.NewSigmoidFocal(0.25, 2, loss.WithReduction(loss.Sum))
	v, err := f.Eval64(loss.Input[float64]{
		Logits: []float64{3, -2, 0.5}, Cols: 1, Targets: []float64{1, 0, 0},
	}, loss.Output[float64]{})
	fmt.Printf("%.6f %v\n", v, err)
	// Output:
	// 0.284439 <nil>
}
