package calibrate_test

import (
	"fmt"

	"github.com/xentlab/xent/calibrate"
)

func ExampleFitTemperature() {
	// Held-out logits of an overconfident 3-class model and their labels:
	// 5 of 7 right, so the calibrated top probability is 5/7 and
	// T = 6/ln 5.
	logits := []float32{
		6, 0, 0,
		0, 6, 0,
		0, 0, 6,
		6, 0, 0,
		0, 6, 0,
		6, 0, 0, // wrong: the label is 2
		0, 6, 0, // wrong: the label is 0
	}
	labels := []int32{0, 1, 2, 0, 1, 2, 0}
	t, err := calibrate.FitTemperature(logits, 3, labels)
	if err != nil {
		panic(err)
	}
	before, _ := calibrate.NLL(logits, 3, labels, 1)
	after, _ := calibrate.NLL(logits, 3, labels, t)
	fmt.Printf("T = %.3f, NLL %.3f -> %.3f\n", t, before, after)

	// Calibrated logits for new data.
	scaled := make([]float32, 3)
	calibrate.Apply(calibrate.Temperature(t), scaled, []float32{3, 0, 0}, 3)
	fmt.Printf("%.3f\n", scaled[0])
	// Output:
	// T = 3.728, NLL 1.719 -> 0.796
	// 0.805
}

func ExampleFitTemperatureBlocks() {
	// The data set of ExampleFitTemperature, given two rows at a time as
	// a reader of a large file would give it: the fit reads it once per
	// iteration of the solver, holding one block.
	logits := []float64{6, 0, 0, 0, 6, 0, 0, 0, 6, 6, 0, 0, 0, 6, 0, 6, 0, 0, 0, 6, 0}
	labels := []int32{0, 1, 2, 0, 1, 2, 0}
	data := func(fn func(x []float64, y []int32) error) error {
		for lo := 0; lo < len(labels); lo += 2 {
			hi := min(lo+2, len(labels))
			if err := fn(logits[lo*3:hi*3], labels[lo:hi]); err != nil {
				return err
			}
		}
		return nil
	}
	t, err := calibrate.FitTemperatureBlocks(3, data)
	if err != nil {
		panic(err)
	}
	after, _ := calibrate.NLLBlocks(3, data, t)
	// At T = 6/ln 5 the right rows have NLL ln(7/5), the wrong ones ln 7.
	fmt.Printf("T = %.3f, NLL %.3f\n", t, after)
	// Output: T = 3.728, NLL 0.796
}
