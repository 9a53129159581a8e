package loss_test

import (
	"fmt"

	"github.com/xentlab/xent/loss"
)

// The focal loss down-weights the confident row; its gradient stays exact
// where 1 − p_y is far below float32's epsilon.
func ExampleFocal() {
	logits := []float32{
		2, 1, 0.1, // a fairly confident right row
		0, 25, 0, // a confident right row: 1 − p_y ≈ 3e-11, ℓ ≈ 2e-32
	}
	f, err := loss.NewFocal(2, loss.WithReduction(loss.None))
	if err != nil {
		fmt.Println(err)
		return
	}
	rows := make([]float32, 2)
	grad := make([]float32, len(logits))
	_, err = f.Eval32(loss.Input[float32]{Logits: logits, Cols: 3, Labels: []int32{0, 1}}, loss.Output[float32]{Rows: rows, Grad: grad})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("rows %.4g\ngrad %.4g\n", rows, grad)
	// Output:
	// rows [0.04849 2.143e-32]
	// grad [-0.1036 0.07363 0.02994 3.214e-32 -6.429e-32 3.214e-32]
}

// The registry builds any loss from its name and parameters, as
// xent eval --loss does.
func ExampleParse() {
	l, spec, err := loss.Parse("gce:q=0.7")
	if err != nil {
		fmt.Println(err)
		return
	}
	v, err := l.Eval32(loss.Input[float32]{Logits: []float32{1, 2, 0.5}, Cols: 3, Labels: []int32{0}}, loss.Output[float32]{})
	fmt.Printf("%s (catalog %s): %.6f %v\n", spec.Name, spec.Catalog, v, err)
	// Output:
	// gce (catalog A2): 0.916035 <nil>
}

// DCOSequences scores whole sequences by pass@N: here two sequences of
// two tokens each, the second one already likely, so it is barely pushed.
func ExampleDCOSequences() {
	logits := []float64{
		0, 1, 0, // sequence 0, token 1
		1, 0, 0, // sequence 0, token 2
		5, 0, 0, // sequence 1, token 1
		0, 0, 6, // sequence 1, token 2
	}
	d, _ := loss.NewDCO(8, loss.WithReduction(loss.None))
	seq := make([]float64, 2)
	grad := make([]float64, len(logits))
	_, err := loss.DCOSequences(d, loss.Input[float64]{Logits: logits, Cols: 3, Labels: []int32{1, 0, 0, 2}}, []int32{0, 0, 1, 1}, grad, seq)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("sequence losses %.4g\ntarget gradients %.4g %.4g\n", seq, grad[1], grad[9+2])
	// Output:
	// sequence losses [0.0405 1.185e-14]
	// target gradients -0.06963 -2.528e-14
}

// ALDR-KL keeps one temperature per training sample; the caller gathers
// the batch's entries, Step updates them, and the caller scatters them
// back.
func ExampleALDRKL_Step32() {
	l, _ := loss.NewALDRKL(2, 10, 0.1)
	state := l.InitialState(4) // one λ per sample of the data set
	batch := []int{3, 1}       // the samples in this batch
	lambda := []float64{state[batch[0]], state[batch[1]]}
	logits := []float32{3, 0, 0, 0.2, 0.1, 0}
	if _, err := l.Step32(loss.Input[float32]{Logits: logits, Cols: 3, Labels: []int32{0, 2}}, loss.Output[float32]{}, lambda); err != nil {
		fmt.Println(err)
		return
	}
	for k, i := range batch {
		state[i] = lambda[k]
	}
	fmt.Printf("%.4f\n", state)
	// Output:
	// [10.0000 9.9998 10.0000 9.9518]
}

// HL-Gauss turns a scalar target into a histogram over bins; the
// prediction is the expected bin centre.
func ExampleHistogram_HLGauss() {
	h := loss.Histogram{Bins: 5, Min: 0, Max: 1}
	p := make([]float64, 5)
	if err := h.HLGauss(p, 0.43, 0.75); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("target %.4f\n", p)
	pred := make([]float64, 1)
	_ = loss.HistogramMean(pred, []float64{0, 1, 2, 1, 0}, h)
	fmt.Printf("prediction %.2f\n", pred[0])
	// Output:
	// target [0.0607 0.3589 0.4517 0.1220 0.0068]
	// prediction 0.50
}
