// Package mnist holds the MNIST database of handwritten digits, embedded
// (11.6 MB of gzipped idx files), as data.Set values. It is a package of
// its own so that a program that reads CSV, LibSVM, idx or .npy files
// with package data does not link the images.
package mnist

import (
	"bytes"
	_ "embed"
	"fmt"
	"sync"

	"github.com/xentlab/xent/data"
)

// The MNIST database of handwritten digits, by Yann LeCun, Corinna Cortes
// and Christopher J.C. Burges, available under the Creative Commons
// Attribution-Share Alike 3.0 licence; see README.md.
var (
	//go:embed train-images-idx3-ubyte.gz
	trainImages []byte
	//go:embed train-labels-idx1-ubyte.gz
	trainLabels []byte
	//go:embed t10k-images-idx3-ubyte.gz
	testImages []byte
	//go:embed t10k-labels-idx1-ubyte.gz
	testLabels []byte
)

// Load returns the MNIST database of handwritten digits, embedded in the
// package: 60 000 training and 10 000 test images of 28×28 pixels, as
// rows of 784 features scaled to [0, 1] (row-major pixels, 0 is white),
// with the digit 0–9 as the class (Classes is 10). Each call decodes the
// data afresh, so the caller owns the returned slices.
//
// The MNIST database is by Yann LeCun, Corinna Cortes and Christopher J.C.
// Burges, made available under the Creative Commons Attribution-Share
// Alike 3.0 licence.
func Load() (train, test data.Set, err error) {
	var wg sync.WaitGroup
	var testErr error
	wg.Go(func() {
		test, testErr = data.ReadIDX(bytes.NewReader(testImages), bytes.NewReader(testLabels))
	})
	train, err = data.ReadIDX(bytes.NewReader(trainImages), bytes.NewReader(trainLabels))
	wg.Wait()
	if err == nil {
		err = testErr
	}
	if err != nil {
		return data.Set{}, data.Set{}, fmt.Errorf("mnist: %w", err)
	}
	train.Classes, test.Classes = 10, 10
	return train, test, nil
}
