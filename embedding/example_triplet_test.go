package embedding_test

import (
	"fmt"

	"github.com/xentlab/xent/embedding"
)

// PyTorch's triplet_margin_loss on two triplets (margin 1, p = 2,
// ε = 1e-6), with the gradient for the negatives.
func ExampleTripletMargin() {
	l, _ := embedding.NewTripletMargin(1, 2, 1e-6, false)
	gn := make([]float64, 4)
	v, err := l.Eval64(embedding.Input[float64]{
		Embeddings: []float64{0, 0, 1, 1},
		Positives:  []float64{0.1, 0.1, 1.1, 1.1},
		Negatives:  []float64{1, 0, 0, 1},
		Dim:        2,
	}, embedding.Output[float64]{GradNegatives: gn})
	fmt.Printf("loss %.4f %v\ngrad negatives %.4f\n", v, err, gn)
	// Output:
	// loss 0.1414 <nil>
	// grad negatives [-0.5000 0.0000 0.5000 0.0000]
}
