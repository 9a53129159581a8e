package metrics_test

import (
	"fmt"

	"github.com/xentlab/xent/metrics"
)

func ExampleEvaluate() {
	// Three examples, four classes.
	logits := []float32{
		2.0, 0.5, 0.1, -1.0, // label 0: correct
		0.2, 1.5, 1.4, 0.0, // label 2: second
		0.0, 0.0, 3.0, 0.1, // label 1: fourth (the tie with class 0 goes to 0)
	}
	labels := []int32{0, 2, 1}
	r, err := metrics.Evaluate(logits, 4, labels, metrics.TopK(1, 2))
	if err != nil {
		panic(err)
	}
	fmt.Printf("acc@1 %.3f acc@2 %.3f NLL %.3f\n", r.Accuracy[0], r.Accuracy[1], r.NLL)
	e, _ := r.Calibration.Errors(10, metrics.EqualWidth)
	fmt.Printf("ECE %.3f\n", e.ECE)
	// Output:
	// acc@1 0.333 acc@2 0.667 NLL 1.491
	// ECE 0.527
}

func ExamplePassAtK() {
	// 20 samples per problem, 3 of them correct: chance that 5 random
	// samples contain a correct one.
	p, _ := metrics.PassAtK(20, 3, 5)
	fmt.Printf("%.4f\n", p)
	// Output: 0.6009
}

func ExampleAUROC() {
	in := []float64{0.9, 0.8, 0.7, 0.6}   // scores of in-distribution inputs
	out := []float64{0.65, 0.3, 0.2, 0.1} // scores of OOD inputs
	a, _ := metrics.AUROC(in, out)
	fpr, _, _ := metrics.FPRAtTPR(in, out, 0.95)
	fmt.Println(a, fpr)
	// Output: 0.9375 0.25
}
