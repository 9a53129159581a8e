package softmax_test

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/xentlab/xent/softmax"
)

func ExampleTopKSoftmax() {
	// A mixture-of-experts gate over four experts, two active.
	gate := make([]float64, 4)
	if err := softmax.TopKSoftmax(gate, []float64{1, 3, 2, -1}, 4, 2); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%.4f\n", gate)
	// Output: [0.0000 0.7311 0.2689 0.0000]
}

func ExampleGumbelSoftmaxST() {
	// The same seed gives the same sample, bit for bit.
	logits := []float32{0, 1, 2}
	hard, soft := make([]float32, 3), make([]float32, 3)
	rng := rand.New(rand.NewPCG(42, 0))
	if err := softmax.GumbelSoftmaxST(hard, soft, logits, 3, 0.5, rng); err != nil {
		fmt.Println(err)
		return
	}
	var sum float32
	for _, v := range soft {
		sum += v
	}
	fmt.Println(hard, math.Abs(float64(sum)-1) < 1e-6)
	// Output: [0 1 0] true
}

func ExampleSigmoid() {
	// Sigmoid attention weights for three keys, bias −log 3.
	a := make([]float64, 3)
	if err := softmax.Sigmoid(a, []float64{2, 0, -1}, 3, softmax.SigmoidBias(3)); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%.4f\n", a)
	// Output: [0.7112 0.2500 0.1092]
}

func ExampleSoftplusNorm() {
	x := []float64{2, 0, -1}
	kappa, _ := softmax.LengthScale(x, 3, math.E) // κ = ln 3
	a := make([]float64, 3)
	if err := softmax.SoftplusNorm(a, x, 3, kappa); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%.4f\n", a)
	// Output: [0.7013 0.2111 0.0876]
}

func ExampleSelectiveSoftmax() {
	// A causal score row that sees four keys; β = 1.5.
	a := make([]float64, 4)
	if err := softmax.SelectiveSoftmax(a, []float64{1, 0.5, 0, -0.5}, 4, 1.5, nil); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%.4f\n", a)
	// Output: [0.4583 0.2758 0.1660 0.0999]
}

func ExampleTwoPassLogSumExp() {
	// No max pass, no overflow: exp(1001) is carried as p·2ⁿ.
	lse := make([]float32, 1)
	if err := softmax.TwoPassLogSumExp(lse, []float32{1000, 1001, 999}, 3); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%.3f\n", lse)
	// Output: [1001.408]
}

func ExampleStableMax() {
	// StableMax keeps a trace of the losing classes at gaps where float32
	// softmax rounds them away.
	p := make([]float32, 3)
	if err := softmax.StableMax(p, []float32{200, 0, -50}, 3); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%.7f\n", p)
	// Output: [0.9949529 0.0049500 0.0000971]
}
