package lab

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/xentlab/xent/data"
)

// TrainConfig holds the settings of one training run.
type TrainConfig struct {
	// Model is "mlp" (one ReLU hidden layer of Hidden units) or "linear"
	// (softmax regression).
	Model  string
	Hidden int
	// Optimizer selects and configures the optimizer.
	Optimizer OptimizerConfig
	// Schedule is "constant" (or "") or "cosine": the learning rate
	// follows lr·(1 + cos(π·t/T))/2 over the T steps of the run.
	Schedule string
	// Batch is the mini-batch size; the last batch of an epoch may be
	// smaller.
	Batch int
	// Epochs is the number of passes over the training set.
	Epochs int
	// Seed fixes the initial weights and the order of the examples in
	// every epoch.
	Seed uint64
	// Threads is the number of goroutines (≤ 0: GOMAXPROCS). Results are
	// the same bits for every value.
	Threads int
}

// DefaultTrainConfig returns the lab's defaults: an MLP with 256 hidden
// units trained by Adam (learning rate 1e-3) in batches of 128 for 10
// epochs, seed 1.
func DefaultTrainConfig() TrainConfig {
	return TrainConfig{
		Model:     "mlp",
		Hidden:    256,
		Optimizer: OptimizerConfig{Name: "adam", LR: DefaultLR("adam"), Momentum: 0.9},
		Batch:     128,
		Epochs:    10,
		Seed:      1,
	}
}

// Validate reports the first bad setting.
func (c TrainConfig) Validate() error {
	switch c.Model {
	case "mlp":
		if c.Hidden < 1 {
			return settingErr("Hidden", "hidden units", c.Hidden, "≥ 1")
		}
	case "linear":
	default:
		return fmt.Errorf("unknown model %q (linear, mlp)", c.Model)
	}
	switch c.Schedule {
	case "", "constant", "cosine":
	default:
		return fmt.Errorf("unknown schedule %q (constant, cosine)", c.Schedule)
	}
	if c.Batch < 1 {
		return settingErr("Batch", "batch size", c.Batch, "≥ 1")
	}
	if c.Epochs < 1 {
		return settingErr("Epochs", "epochs", c.Epochs, "≥ 1")
	}
	_, err := NewOptimizer(c.Optimizer, 0, nil, 1)
	return err
}

// NewModel builds the model c describes for in features and out classes.
func (c TrainConfig) NewModel(in, out int) (*Model, error) {
	var m *Model
	var err error
	if c.Model == "linear" {
		m, err = NewLinear(in, out)
	} else {
		m, err = NewMLP(in, c.Hidden, out, subSeed(c.Seed, seedInit))
	}
	if err != nil {
		return nil, err
	}
	m.Threads = c.Threads
	return m, nil
}

// Tags of the sub-seeds drawn from a seed.
const (
	seedInit uint64 = iota + 1
	seedOrder
	seedNoise
	seedSplit
)

// EpochStats describes one epoch of training.
type EpochStats struct {
	// Epoch counts from 1.
	Epoch int `json:"epoch"`
	// TrainLoss is the mean of the epoch's batch losses (each the mean
	// over its rows), on the (noisy) training labels.
	TrainLoss float64 `json:"train_loss"`
	// Seconds is the wall time of the epoch's training steps (batch
	// assembly, forward, loss, backward, update), without evaluation.
	Seconds float64 `json:"seconds"`
	// TestAccuracy and TestNLL are filled in by an evaluation hook (0
	// when none ran).
	TestAccuracy float64 `json:"test_accuracy"`
	TestNLL      float64 `json:"test_nll"`
}

// Hooks are the callbacks of a training run; nil fields are skipped.
type Hooks struct {
	// Batch is called after every update: batch counts from 1 to batches
	// in epoch (from 1).
	Batch func(epoch, batch, batches int)
	// Epoch is called after every epoch with its statistics, which it may
	// complete (the test metrics); an error stops the run.
	Epoch func(m *Model, s *EpochStats) error
}

// Train trains m on set with the objective o, as c says (the model is
// given, but c must be valid as a whole), and returns the statistics
// of every epoch. It stops with ctx's error when ctx is cancelled, and
// with an error naming the epoch and batch when the loss fails (a
// diverged model gives non-finite logits, which the losses reject).
func Train(ctx context.Context, m *Model, set data.Set, o *Objective, c TrainConfig, h Hooks) ([]EpochStats, error) {
	if set.Cols != m.In || set.Rows < 1 || len(set.Y) != set.Rows {
		return nil, fmt.Errorf("lab: training set of %d rows × %d features for a model of %d inputs", set.Rows, set.Cols, m.In)
	}
	if set.Classes > m.Out {
		return nil, fmt.Errorf("lab: %d classes for a model of %d outputs", set.Classes, m.Out)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	m.Threads = c.Threads
	oc := c.Optimizer
	if oc.OrthoGrad && oc.Tensors == nil {
		oc.Tensors = m.Tensors()
	}
	opt, err := NewOptimizer(oc, len(m.Params), m.Decayed(), c.Threads)
	if err != nil {
		return nil, err
	}
	o.reset(set.Rows)
	var (
		ws      Workspace
		bs      = min(c.Batch, set.Rows)
		xb      = make([]float32, bs*set.Cols)
		yb      = make([]int32, bs)
		dlogits = make([]float32, bs*m.Out)
		grad    = make([]float32, len(m.Params))
		batches = (set.Rows + bs - 1) / bs
		stats   []EpochStats
	)
	for epoch := 1; epoch <= c.Epochs; epoch++ {
		order := newRNG(subSeed(c.Seed, seedOrder, uint64(epoch))).perm(set.Rows)
		start := time.Now()
		sum := 0.0
		for b := 0; b < batches; b++ {
			if err := ctx.Err(); err != nil {
				return stats, err
			}
			if c.Schedule == "cosine" {
				t := float64((epoch-1)*batches + b)
				opt.SetLR(c.Optimizer.LR * (1 + math.Cos(math.Pi*t/float64(c.Epochs*batches))) / 2)
			}
			idx := order[b*bs : min(set.Rows, (b+1)*bs)]
			n := len(idx)
			for r, i := range idx {
				copy(xb[r*set.Cols:(r+1)*set.Cols], set.X[i*set.Cols:(i+1)*set.Cols])
				yb[r] = set.Y[i]
			}
			logits, err := m.Forward(&ws, xb[:n*set.Cols], n)
			if err != nil {
				return stats, err
			}
			v, err := o.eval(logits, m.Out, yb[:n], idx, dlogits[:n*m.Out])
			if err != nil {
				return stats, fmt.Errorf("epoch %d, batch %d: %w", epoch, b+1, err)
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return stats, fmt.Errorf("epoch %d, batch %d: loss is %g (diverged; lower the learning rate)", epoch, b+1, v)
			}
			sum += v
			if err := m.Backward(&ws, dlogits[:n*m.Out], grad); err != nil {
				return stats, err
			}
			opt.Step(m.Params, grad)
			if h.Batch != nil {
				h.Batch(epoch, b+1, batches)
			}
		}
		s := EpochStats{Epoch: epoch, TrainLoss: sum / float64(batches), Seconds: time.Since(start).Seconds()}
		if h.Epoch != nil {
			if err := h.Epoch(m, &s); err != nil {
				return stats, err
			}
		}
		stats = append(stats, s)
	}
	return stats, nil
}

// ParseList splits a comma-separated list, trimming spaces and dropping
// empty items.
func ParseList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
