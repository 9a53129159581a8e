package attention_test

import (
	"fmt"
	"math"

	"github.com/xentlab/xent/attention"
)

// Causal self-attention of one head over three positions (d = 2): the
// first query sees only the first key, the last sees all three.
func Example() {
	x := []float32{1, 0, 0, 1, 1, 1} // three positions, used as queries, keys and values
	in := attention.Input[float32]{Q: x, K: x, V: x,
		Shape: attention.Shape{Batch: 1, Heads: 1, Queries: 3, Keys: 3, Dim: 2}}
	out := attention.Output[float32]{Out: make([]float32, 6), LSE: make([]float32, 3)}
	if err := attention.Forward(attention.Config{Causal: true}, in, out); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("out %.4f\nlse %.4f\n", out.Out, out.LSE)
	// Output:
	// out [1.0000 0.0000 0.3302 0.6698 0.7517 0.7517]
	// lse [0.7071 1.1079 2.1004]
}

// Gradients of L = Σ dOut·out with respect to Q, K and V; grouped-query
// attention: two query heads share one key/value head, whose gradients
// sum over both.
func ExampleBackward() {
	q := []float32{1, 0, 0, 1} // two heads, one query each
	k := []float32{1, 0, 0, 1} // one key/value head, two keys
	v := []float32{1, 2, 3, 4}
	in := attention.Input[float32]{Q: q, K: k, V: v,
		Shape: attention.Shape{Batch: 1, Heads: 2, KVHeads: 1, Queries: 1, Keys: 2, Dim: 2}}
	out := attention.Output[float32]{Out: make([]float32, 4), LSE: make([]float32, 2)}
	cfg := attention.Config{Scale: 1}
	if err := attention.Forward(cfg, in, out); err != nil {
		fmt.Println(err)
		return
	}
	g := attention.Grad[float32]{DQ: make([]float32, 4), DK: make([]float32, 4), DV: make([]float32, 4)}
	if err := attention.Backward(cfg, in, out, []float32{1, 0, 1, 0}, &g); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("out %.4f\ndQ %.4f\ndK %.4f\ndV %.4f\n", out.Out, g.DQ, g.DK, g.DV)
	// Output:
	// out [1.5379 2.5379 2.4621 3.4621]
	// dQ [-0.3932 0.3932 -0.3932 0.3932]
	// dK [-0.3932 -0.3932 0.3932 0.3932]
	// dV [1.0000 0.0000 1.0000 0.0000]
}

// Sigmoid attention (catalog A20) against two keys, bias −ln 2: the
// weights σ(s − ln 2) do not sum to 1; LSE reports the log of their sum.
func ExampleConfig_sigmoid() {
	in := attention.Input[float64]{Q: []float64{1, -1}, K: []float64{1, 0, 0, 1}, V: []float64{1, 0, 0, 1},
		Shape: attention.Shape{Batch: 1, Heads: 1, Queries: 1, Keys: 2, Dim: 2}}
	out := attention.Output[float64]{Out: make([]float64, 2), LSE: make([]float64, 1)}
	if err := attention.Forward(attention.Config{Normalizer: attention.Sigmoid, Scale: 1}, in, out); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("weights %.4f, sum %.4f\n", out.Out, math.Exp(out.LSE[0]))
	// Output: weights [0.5761 0.1554], sum 0.7315
}

// LoLCATs' hybrid: the two most recent keys by softmax (weight γ = 0.1
// on exp(s − max)), the older ones by the linear kernel φ(q)·φ(k) of the
// softmax feature map.
func ExampleLinearAttention() {
	const d, f = 2, 2
	x := []float32{1, 0, 0, 1, 1, 1, -1, 0} // four positions, used as q, k and v
	w := []float32{1, -1, 0.5, 2}           // the feature map's W [d, f]
	phi := make([]float32, 4*2*f)
	if err := attention.FeatureMap(phi, x, 4, d, w, f); err != nil {
		fmt.Println(err)
		return
	}
	in := attention.LinearInput[float32]{Q: x, K: x, V: x, FQ: phi, FK: phi, Features: 2 * f,
		Shape: attention.Shape{Batch: 1, Heads: 1, Queries: 4, Keys: 4, Dim: d}}
	out := make([]float32, 4*d)
	if err := attention.LinearAttention(attention.LinearConfig{Window: 2, WindowFactor: 0.1}, in, out); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%.4f\n", out)
	// Output: [1.0000 0.0000 0.3302 0.6698 0.9631 0.1118 0.1698 0.7436]
}
