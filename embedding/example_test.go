package embedding_test

import (
	"fmt"

	"github.com/xentlab/xent/embedding"
)

func ExampleInfoNCE() {
	// Two image embeddings and their two captions (CLIP-style, symmetric).
	l, err := embedding.NewInfoNCE(0.5, true, true)
	if err != nil {
		fmt.Println(err)
		return
	}
	in := embedding.Input[float32]{
		Embeddings: []float32{1, 0, 0, 1},
		Positives:  []float32{0.9, 0.1, 0.2, 0.8},
		Dim:        2,
	}
	grad := make([]float32, 4)
	v, err := embedding.Eval(l, in, embedding.Output[float32]{Grad: grad})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("loss %.4f\n", v)
	// Output: loss 0.1833
}

func ExampleParse() {
	// The registry builds any loss from "name:key=value,...".
	// With the margin, the true class (cos 0.8) only ties the other (cos 0.6).
	l, spec, err := embedding.Parse("cosface:scale=30,margin=0.2")
	if err != nil {
		fmt.Println(err)
		return
	}
	in := embedding.Input[float64]{
		Embeddings: []float64{3, 4},
		Dim:        2,
		Labels:     []int64{1},
		Classes:    []float64{1, 0, 0, 1},
	}
	v, err := l.Eval64(in, embedding.Output[float64]{})
	fmt.Printf("%s (%s): %.4f %v\n", spec.Name, spec.InputText(), v, err)
	// Output: cosface (embeddings [N, D], labels [N], class vectors [C, D]): 0.6931 <nil>
}

func ExampleImprint() {
	// A new class from two support examples: the normalised mean of their
	// normalised embeddings.
	w, err := embedding.Imprint([]float64{0, 2, 1, 1}, 2, []int64{0, 0}, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%.4f\n", w)
	// Output: [0.3827 0.9239]
}
