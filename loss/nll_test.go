package loss

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestNLLSuite(t *testing.T) {
	hardSuite{
		build:   func(opts ...Option) (Loss, error) { return NewNLL(opts...) },
		ref:     func(x []float64, y int) float64 { return -x[y] },
		weights: true, masks: true,
	}.run(t)
}

// TestNLLOfLogSoftmax: NLL of log-softmax rows equals cross-entropy of
// the logits (PyTorch's identity), with weights and an ignored row; and
// PyTorch's weighted-mean value on a hand case.
func TestNLLOfLogSoftmax(t *testing.T) {
	rng := rand.New(rand.NewPCG(401, 402))
	const rows, cols = 6, 5
	z := randLogits(rng, rows*cols, 3)
	lp := make([]float64, len(z))
	for i := 0; i < rows; i++ {
		copy(lp[i*cols:], refLogSoftmax(z[i*cols:(i+1)*cols]))
	}
	labels := []int64{0, 4, -100, 2, 2, 1}
	w := []float64{1, 0.5, 2, 3, 0.25}
	nll, _ := NewNLL(WithClassWeights(w))
	ce, _ := NewCrossEntropy(WithClassWeights(w))
	a, err := nll.Eval64(Input[float64]{Logits: lp, Cols: cols, Labels64: labels}, Output[float64]{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ce.Eval64(Input[float64]{Logits: z, Cols: cols, Labels64: labels}, Output[float64]{})
	if math.Abs(a-b) > 1e-14*b {
		t.Errorf("nll of log-softmax %v, cross-entropy %v", a, b)
	}
	// PyTorch: nll_loss([[-1, -2], [-0.5, -3]], [1, -100], weight=[1, 2]) = 2.
	v, _ := NewNLL(WithClassWeights([]float64{1, 2}))
	got, _ := v.Eval64(Input[float64]{Logits: []float64{-1, -2, -0.5, -3}, Cols: 2, Labels: []int32{1, -100}}, Output[float64]{})
	if got != 2 {
		t.Errorf("PyTorch's case: %v, want 2", got)
	}
}
