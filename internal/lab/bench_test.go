package lab

import (
	"context"
	"sync"
	"testing"

	"github.com/xentlab/xent/data"
	mnistdata "github.com/xentlab/xent/data/mnist"
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
		benchTrain, benchTest, benchErr = mnistdata.Load()
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
	cpu := cpuSeconds()
	for b.Loop() {
		if _, err := Train(context.Background(), m, train, o, c, Hooks{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/epoch")
	b.ReportMetric((cpuSeconds()-cpu)/float64(b.N), "cpu-s/epoch")
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
	cpu := cpuSeconds()
	for b.Loop() {
		if _, err := Train(context.Background(), m, train, o, c, Hooks{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/epoch")
	b.ReportMetric((cpuSeconds()-cpu)/float64(b.N), "cpu-s/epoch")
}

// BenchmarkSoftmaxRegression times a softmax-regression run on the
// 60 000 MNIST training images on one thread: Adam at learning rate
// 0.005 with a cosine schedule, batches of 128, 3 epochs (training
// only; the data is decoded and standardised beforehand, the test set
// evaluated after the clock stops). It reports the test accuracy
// reached and fails below 92.5%:
//
//	go test ./lab -run '^$' -bench SoftmaxRegression -benchtime 5x
func BenchmarkSoftmaxRegression(b *testing.B) {
	train, test := benchData(b)
	c := DefaultTrainConfig()
	c.Model, c.Threads, c.Epochs, c.Schedule = "linear", 1, 3, "cosine"
	c.Optimizer.LR = 0.005
	var m *Model
	cpu := cpuSeconds()
	for b.Loop() {
		var err error
		if m, err = c.NewModel(train.Cols, 10); err != nil {
			b.Fatal(err)
		}
		o, err := NewObjective("cross-entropy")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Train(context.Background(), m, train, o, c, Hooks{}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cpu = (cpuSeconds() - cpu) / float64(b.N)
	logits, err := m.Logits(test.X, test.Rows, nil)
	if err != nil {
		b.Fatal(err)
	}
	s, err := score(logits, 10, test.Y, 0, 1)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(100*s.Accuracy, "test-acc-%")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/run")
	b.ReportMetric(cpu, "cpu-s/run")
	if s.Accuracy < 0.925 {
		b.Fatalf("test accuracy %.4f, want ≥ 0.925", s.Accuracy)
	}
}

// BenchmarkAdamStep times one Adam update of the default MLP's 203 530
// parameters on one thread.
func BenchmarkAdamStep(b *testing.B) {
	const n = 784*256 + 256 + 256*10 + 10
	o, err := NewOptimizer(OptimizerConfig{Name: "adam", LR: 1e-3}, n, []Span{{0, 784 * 256}}, 1)
	if err != nil {
		b.Fatal(err)
	}
	p, g := make([]float32, n), make([]float32, n)
	for i := range g {
		g[i] = float32(i%13) * 1e-3
	}
	for b.Loop() {
		o.Step(p, g)
	}
}
