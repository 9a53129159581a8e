package data

import (
	"bytes"
	_ "embed"
	"fmt"
	"sync"
)

// The MNIST database of handwritten digits, by Yann LeCun, Corinna Cortes
// and Christopher J.C. Burges, available under the Creative Commons
// Attribution-Share Alike 3.0 licence; see mnist/README.md.
var (
	//go:embed mnist/train-images-idx3-ubyte.gz
	mnistTrainImages []byte
	//go:embed mnist/train-labels-idx1-ubyte.gz
	mnistTrainLabels []byte
	//go:embed mnist/t10k-images-idx3-ubyte.gz
	mnistTestImages []byte
	//go:embed mnist/t10k-labels-idx1-ubyte.gz
	mnistTestLabels []byte
)

// MNIST returns the MNIST database of handwritten digits, embedded in the
// package: 60 000 training and 10 000 test images of 28×28 pixels, as
// rows of 784 features scaled to [0, 1] (row-major pixels, 0 is white),
// with the digit 0–9 as the class (Classes is 10). Each call decodes the
// data afresh, so the caller owns the returned slices.
//
// The MNIST database is by Yann LeCun, Corinna Cortes and Christopher J.C.
// Burges, made available under the Creative Commons Attribution-Share
// Alike 3.0 licence.
func MNIST() (train, test Set, err error) {
	var wg sync.WaitGroup
	var testErr error
	wg.Go(func() {
		test, testErr = readIDX(bytes.NewReader(mnistTestImages), bytes.NewReader(mnistTestLabels), true)
	})
	train, err = readIDX(bytes.NewReader(mnistTrainImages), bytes.NewReader(mnistTrainLabels), true)
	wg.Wait()
	if err == nil {
		err = testErr
	}
	if err != nil {
		return Set{}, Set{}, fmt.Errorf("data: MNIST: %w", err)
	}
	train.Classes, test.Classes = 10, 10
	return train, test, nil
}
