package lab

import (
	"context"
	"sync"
	"testing"

	"github.com/xentlab/xent/data"
)

var (
	benchOnce  sync.Once
	benchTrain data.Set
	benchTest  data.Set
	benchErr   error
)

// benchData returns MNIST standardised as Run does it, decoded once.
func benchData(b *testing.B) (train, test data.Set) {
	b.Helper()
	benchOnce.Do(func() {
		benchTrain, benchTest, benchErr = data.MNIST()
		if benchErr == nil {
			mean, std := scalarStats(benchTrain.X)
			normalize(benchTrain.X, mean, std)
			normalize(benchTest.X, mean, std)
		}
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchTrain, benchTest
}

// BenchmarkMLPEpoch times one epoch of the default MLP (784→256→10, Adam,
// batches of 128, cross-entropy) over the 60 000 MNIST training images on
// one thread: go test ./lab -run '^$' -bench MLPEpoch -benchtime 5x
func BenchmarkMLPEpoch(b *testing.B) {
	train, _ := benchData(b)
	c := DefaultTrainConfig()
	c.Epochs, c.Threads = 1, 1
	m, err := c.NewModel(train.Cols, 10)
	if err != nil {
		b.Fatal(err)
	}
	o, err := NewObjective("cross-entropy")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Train(context.Background(), m, train, o, c, Hooks{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/epoch")
}

// BenchmarkLinearEpoch times one epoch of softmax regression (784→10,
// Adam, batches of 128, cross-entropy) over the 60 000 MNIST training
// images on one thread.
func BenchmarkLinearEpoch(b *testing.B) {
	train, _ := benchData(b)
	c := DefaultTrainConfig()
	c.Model, c.Epochs, c.Threads = "linear", 1, 1
	m, err := c.NewModel(train.Cols, 10)
	if err != nil {
		b.Fatal(err)
	}
	o, err := NewObjective("cross-entropy")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Train(context.Background(), m, train, o, c, Hooks{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/epoch")
}
