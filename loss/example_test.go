package loss_test

import (
	"fmt"

	"github.com/xentlab/xent/loss"
)

func ExampleCrossEntropy() {
	// Two rows of three classes; the second row is ignored (label −100).
	logits := []float32{2, 1, 0.1, 5, 5, 5}
	labels := []int32{0, -100}
	ce, err := loss.NewCrossEntropy(loss.WithLabelSmoothing(0.1))
	if err != nil {
		fmt.Println(err)
		return
	}
	grad := make([]float32, len(logits))
	v, err := ce.Eval32(loss.Input[float32]{Logits: logits, Cols: 3, Labels: labels}, loss.Output[float32]{Grad: grad})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("loss %.4f\ngrad %.4f\n", v, grad)
	// Output:
	// loss 0.5137
	// grad [-0.2743 0.2091 0.0652 0.0000 0.0000 0.0000]
}

// The gradient can overwrite the logits, saving the memory of a second
// matrix.
func ExampleCrossEntropy_inPlace() {
	logits := []float32{0, 20, 0, 0}
	ce, _ := loss.NewCrossEntropy(loss.WithReduction(loss.Sum))
	v, _ := ce.Eval32(loss.Input[float32]{Logits: logits, Cols: 4, Labels: []int32{1}}, loss.Output[float32]{Grad: logits})
	// A confident row keeps its tiny loss and gradient (no Softmax Collapse).
	fmt.Printf("loss %.4g\ngrad %.4g\n", v, logits)
	// Output:
	// loss 6.183e-09
	// grad [2.061e-09 -6.183e-09 2.061e-09 2.061e-09]
}
