package lab

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/xentlab/xent/data"
)

// syntheticSet returns rows examples of cols features in classes
// clusters (uniform noise around class centres that depend only on cols
// and classes, so sets drawn with different seeds share them).
func syntheticSet(rows, cols, classes int, seed uint64) data.Set {
	rc := newRNG(uint64(cols*1000 + classes))
	centres := make([]float32, classes*cols)
	for i := range centres {
		centres[i] = float32(6*rc.float64() - 3)
	}
	r := newRNG(seed)
	s := data.Set{X: make([]float32, rows*cols), Rows: rows, Cols: cols, Y: make([]int32, rows), Classes: classes}
	for i := 0; i < rows; i++ {
		y := r.intn(classes)
		s.Y[i] = int32(y)
		for j := 0; j < cols; j++ {
			s.X[i*cols+j] = centres[y*cols+j] + float32(2*r.float64()-1)
		}
	}
	return s
}

// mnistHead reads the first n examples of an MNIST idx pair from the
// repository's data/mnist files, scaled to [0, 1] and standardised with
// the lab's fixed MNIST statistics. Decoding only the head keeps the
// tests fast under the race detector, where inflating all of MNIST
// takes tens of seconds.
func mnistHead(t testing.TB, images, labels string, n int) data.Set {
	t.Helper()
	open := func(name string) *gzip.Reader {
		f, err := os.Open(filepath.Join("..", "..", "data", "mnist", name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		z, err := gzip.NewReader(bufio.NewReader(f))
		if err != nil {
			t.Fatal(err)
		}
		return z
	}
	zi, zl := open(images), open(labels)
	var hi [16]byte
	var hl [8]byte
	if _, err := io.ReadFull(zi, hi[:]); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(zl, hl[:]); err != nil {
		t.Fatal(err)
	}
	if binary.BigEndian.Uint32(hi[:]) != 0x803 || binary.BigEndian.Uint32(hl[:]) != 0x801 ||
		int(binary.BigEndian.Uint32(hi[4:])) < n || binary.BigEndian.Uint32(hi[8:]) != 28 {
		t.Fatalf("unexpected idx headers % x, % x", hi, hl)
	}
	px := make([]byte, n*784)
	y := make([]byte, n)
	if _, err := io.ReadFull(zi, px); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(zl, y); err != nil {
		t.Fatal(err)
	}
	s := data.Set{X: make([]float32, n*784), Rows: n, Cols: 784, Y: make([]int32, n), Classes: 10}
	for i, v := range px {
		s.X[i] = (float32(v)/255 - mnistMean) / mnistStd
	}
	for i, v := range y {
		s.Y[i] = int32(v)
	}
	return s
}

// The mean and standard deviation of all MNIST training pixels in [0, 1].
const mnistMean, mnistStd = 0.1307, 0.3081

func mnist(t testing.TB, train, test int) (data.Set, data.Set) {
	return mnistHead(t, "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", train),
		mnistHead(t, "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", test)
}

// TestTrainMNISTFloor trains the MLP on a slice of MNIST and requires a
// test accuracy floor well below what the run reaches, so that it only
// fails when training is broken.
func TestTrainMNISTFloor(t *testing.T) {
	n, nt, hidden, epochs, floor := 5000, 5000, 256, 5, 0.90
	if testing.Short() {
		n, nt, hidden, epochs, floor = 2000, 2000, 128, 4, 0.80
	}
	tr, te := mnist(t, n, nt)
	c := DefaultTrainConfig()
	c.Hidden, c.Batch, c.Epochs = hidden, 32, epochs
	m, err := c.NewModel(tr.Cols, 10)
	if err != nil {
		t.Fatal(err)
	}
	o, err := NewObjective("cross-entropy")
	if err != nil {
		t.Fatal(err)
	}
	stats, err := Train(context.Background(), m, tr, o, c, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != epochs || !(stats[epochs-1].TrainLoss < stats[0].TrainLoss) {
		t.Errorf("training loss did not fall: %+v", stats)
	}
	logits, err := m.Logits(te.X, te.Rows, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := score(logits, 10, te.Y, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d images, %d epochs: test accuracy %.4f", n, epochs, s.Accuracy)
	if s.Accuracy < floor {
		t.Errorf("test accuracy %.4f, want ≥ %.2f", s.Accuracy, floor)
	}
}

// TestTrainDeterministic trains the same model with 1 and 3 threads and
// requires the same bits, on shapes large enough for gemm to split its
// work between threads.
func TestTrainDeterministic(t *testing.T) {
	n := 1536
	if testing.Short() {
		n = 768
	}
	tr, _ := mnist(t, n, 0)
	for _, model := range []string{"mlp", "linear"} {
		var params [][]float32
		var losses []float64
		for _, threads := range []int{1, 3} {
			c := DefaultTrainConfig()
			c.Model, c.Hidden, c.Batch, c.Epochs, c.Threads = model, 200, 256, 1, threads
			c.Optimizer.WeightDecay = 1e-4
			m, err := c.NewModel(tr.Cols, 10)
			if err != nil {
				t.Fatal(err)
			}
			o, _ := NewObjective("cross-entropy")
			st, err := Train(context.Background(), m, tr, o, c, Hooks{})
			if err != nil {
				t.Fatal(err)
			}
			params = append(params, m.Params)
			losses = append(losses, st[0].TrainLoss)
		}
		if losses[0] != losses[1] {
			t.Errorf("%s: training loss %v with 1 thread, %v with 3", model, losses[0], losses[1])
		}
		for i := range params[0] {
			if math.Float32bits(params[0][i]) != math.Float32bits(params[1][i]) {
				t.Fatalf("%s: parameter %d is %v with 1 thread, %v with 3", model, i, params[0][i], params[1][i])
			}
		}
	}
}

func TestTrainSeeds(t *testing.T) {
	set := syntheticSet(200, 6, 3, 2)
	run := func(seed uint64) []float32 {
		c := DefaultTrainConfig()
		c.Hidden, c.Batch, c.Epochs, c.Seed = 8, 32, 2, seed
		m, _ := c.NewModel(6, 3)
		o, _ := NewObjective("cross-entropy")
		if _, err := Train(context.Background(), m, set, o, c, Hooks{}); err != nil {
			t.Fatal(err)
		}
		return m.Params
	}
	a, b, d := run(1), run(1), run(2)
	same := func(x, y []float32) bool {
		for i := range x {
			if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
				return false
			}
		}
		return true
	}
	if !same(a, b) {
		t.Error("same seed, different weights")
	}
	if same(a, d) {
		t.Error("different seeds, same weights")
	}
}

func TestTrainHooksAndErrors(t *testing.T) {
	set := syntheticSet(100, 5, 4, 3)
	c := DefaultTrainConfig()
	c.Hidden, c.Batch, c.Epochs = 8, 30, 2
	m, _ := c.NewModel(5, 4)
	o, _ := NewObjective("cross-entropy")
	var batches, epochs int
	stop := errors.New("stop")
	_, err := Train(context.Background(), m, set, o, c, Hooks{
		Batch: func(epoch, batch, n int) {
			batches++
			if n != 4 || batch > n || epoch > 2 {
				t.Errorf("batch hook (%d, %d, %d)", epoch, batch, n)
			}
		},
		Epoch: func(_ *Model, s *EpochStats) error {
			epochs++
			if s.Epoch == 2 {
				return stop
			}
			return nil
		},
	})
	if !errors.Is(err, stop) || batches != 8 || epochs != 2 {
		t.Errorf("err %v, %d batches, %d epochs", err, batches, epochs)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Train(ctx, m, set, o, c, Hooks{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	// A learning rate that overflows the logits is reported, not trained
	// through.
	c.Optimizer = OptimizerConfig{Name: "sgd", LR: 1e30}
	if _, err := Train(context.Background(), m, set, o, c, Hooks{}); err == nil {
		t.Error("divergent run: no error")
	}
	if _, err := Train(context.Background(), m, syntheticSet(10, 3, 4, 1), o, c, Hooks{}); err == nil {
		t.Error("wrong feature count: no error")
	}
}

func TestTrainConfigValidate(t *testing.T) {
	for _, f := range []func(*TrainConfig){
		func(c *TrainConfig) { c.Model = "cnn" },
		func(c *TrainConfig) { c.Hidden = 0 },
		func(c *TrainConfig) { c.Batch = 0 },
		func(c *TrainConfig) { c.Epochs = 0 },
		func(c *TrainConfig) { c.Optimizer.LR = -1 },
		func(c *TrainConfig) { c.Optimizer.Name = "lbfgs" },
	} {
		c := DefaultTrainConfig()
		f(&c)
		if c.Validate() == nil {
			t.Errorf("%+v: no error", c)
		}
	}
	if err := DefaultTrainConfig().Validate(); err != nil {
		t.Error(err)
	}
}
