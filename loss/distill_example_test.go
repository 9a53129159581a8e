package loss_test

import (
	"fmt"
	"math"

	"github.com/xentlab/xent/loss"
)

// Symmetric cross-entropy between a student and its mean teacher.
func ExampleSCE() {
	sce, err := loss.NewSCE(0.5, math.Inf(-1))
	if err != nil {
		fmt.Println(err)
		return
	}
	student := []float64{1, 0, -1}
	teacher := []float64{0.5, 0.5, 0}
	grad := make([]float64, 3)
	v, err := sce.Eval64(loss.Input[float64]{Logits: student, Cols: 3, Teacher: teacher}, loss.Output[float64]{Grad: grad})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("loss %.6f\ngrad %.6f\n", v, grad)
	// Output:
	// loss 1.129843
	// grad [0.125822 -0.074970 -0.050852]
}

// The KL-DRO aggregate of per-row losses and its worst-case weights.
func ExampleDROAggregate() {
	w := make([]float64, 3)
	v, err := loss.DROAggregate([]float64{0.5, 1, 2}, nil, 1, w)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("V %.6f\nw %.6f\n", v, w)
	// Output:
	// V 1.365756
	// w [0.140244 0.231224 0.628532]
}

// A bag of three binary predictions whose only known label is that two of
// the three are positive.
func ExampleBag_ForBags() {
	bag, _ := loss.NewBag(0) // bag level
	bag = bag.ForBags([]int32{7, 7, 7})
	logits := []float64{0, 1, -1}
	rate := []float64{2.0 / 3, 2.0 / 3, 2.0 / 3}
	grad := make([]float64, 3)
	v, err := bag.Eval64(loss.Input[float64]{Logits: logits, Cols: 1, Targets: rate}, loss.Output[float64]{Grad: grad})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("loss %.6f\ngrad %.6f\n", v, grad)
	// Output:
	// loss 0.693147
	// grad [-0.055556 -0.043692 -0.043692]
}
