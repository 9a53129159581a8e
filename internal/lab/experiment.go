package lab

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xentlab/xent/data"
	"github.com/xentlab/xent/internal/par"
	"github.com/xentlab/xent/internal/vek"
)

// DefaultLosses are the losses of the default lab run: cross-entropy and
// five losses proposed for noisy labels or calibration.
var DefaultLosses = []string{"cross-entropy", "gce", "sce-labels", "ldr-kl", "poly1", "focal"}

// Config describes an experiment: every loss trained at every noise rate
// on the same data, initial weights and example order.
type Config struct {
	// Dataset names the data in the report ("MNIST").
	Dataset string `json:"dataset"`
	// Noise lists the label-noise rates, each in [0, 1].
	Noise []float64 `json:"noise"`
	// NoiseType is symmetric or asymmetric; Pairs is the asymmetric table
	// (nil: MNISTPairs).
	NoiseType NoiseType       `json:"-"`
	Pairs     map[int32]int32 `json:"-"`
	// Losses lists the losses by registry name, with optional parameters
	// ("gce:q=0.7").
	Losses []string `json:"losses"`
	// Train configures every run.
	Train TrainConfig `json:"train"`
	// Holdout is the number of training examples, with their noisy labels,
	// kept out of training to fit temperature scaling.
	Holdout int `json:"holdout"`
	// TrainSize limits the training examples (after the hold-out) to that
	// many; 0 uses them all. TestSize does the same for the test set.
	TrainSize int `json:"train_size"`
	TestSize  int `json:"test_size"`
	// Bins is the number of equal-width bins of the ECE and the
	// reliability diagrams.
	Bins int `json:"bins"`
	// Jobs is the number of runs trained at once, sharing Train.Threads
	// (0: one run per thread). Runs are independent, so the results do
	// not depend on it; the time of an epoch does.
	Jobs int `json:"jobs"`
}

// DefaultConfig returns the default lab run on MNIST: the MLP of
// DefaultTrainConfig with DefaultLosses at 0%, 20% and 40% symmetric
// noise, 5 000 training images held out for temperature scaling, 15 bins.
func DefaultConfig() Config {
	return Config{
		Dataset: "MNIST",
		Noise:   []float64{0, 0.2, 0.4},
		Losses:  append([]string(nil), DefaultLosses...),
		Train:   DefaultTrainConfig(),
		Holdout: 5000,
		Bins:    15,
	}
}

// Quick shrinks c to a run of well under a minute: 10 000 training
// images (2 000 held out), 4 epochs.
func (c *Config) Quick() {
	c.TrainSize = 10000
	c.Holdout = 2000
	c.Train.Epochs = 4
}

// Validate reports the first bad setting.
func (c Config) Validate() error {
	if len(c.Noise) == 0 {
		return errors.New("no noise rate")
	}
	for _, r := range c.Noise {
		if !(r >= 0 && r <= 1) {
			return settingErr("Noise", "noise rate", r, "[0, 1]")
		}
	}
	if c.NoiseType != Symmetric && c.NoiseType != Asymmetric {
		return fmt.Errorf("unknown noise type %d", int(c.NoiseType))
	}
	if len(c.Losses) == 0 {
		return errors.New("no loss")
	}
	for _, s := range []struct {
		field, words string
		v            int
	}{{"Holdout", "hold-out", c.Holdout}, {"TrainSize", "train size", c.TrainSize}, {"TestSize", "test size", c.TestSize}} {
		if s.v < 0 {
			return settingErr(s.field, s.words, s.v, "≥ 0")
		}
	}
	if c.Bins < 1 {
		return settingErr("Bins", "bins", c.Bins, "≥ 1")
	}
	if c.Jobs < 0 {
		return settingErr("Jobs", "jobs", c.Jobs, "≥ 0")
	}
	return c.Train.Validate()
}

// Skip records a loss that was not run and why.
type Skip struct {
	Loss   string `json:"loss"`
	Reason string `json:"reason"`
}

// RunResult is the outcome of one loss at one noise rate.
type RunResult struct {
	Loss string `json:"loss"`
	// Effective is the loss's text with the parameters the lab added
	// (see LabelDefaults).
	Effective string  `json:"effective"`
	Noise     float64 `json:"noise"`
	// Flipped is the number of training labels the noise changed.
	Flipped int `json:"flipped"`
	// Test holds the metrics on the clean test set after the last epoch.
	Test Scores `json:"test"`
	// Temperature is the temperature fitted on the held-out noisy
	// examples, and Scaled the test metrics after dividing the logits by
	// it (0 and nil when there is no hold-out).
	Temperature float64 `json:"temperature,omitempty"`
	Scaled      *Scores `json:"scaled,omitempty"`
	// EpochSeconds is the mean wall time of an epoch's training steps.
	EpochSeconds float64 `json:"epoch_seconds"`
	// Curve holds every epoch's statistics (the learning curve).
	Curve []EpochStats `json:"curve"`
}

// Results is the outcome of an experiment.
type Results struct {
	Config Config `json:"config"`
	Noise  string `json:"noise_type"`
	// Pairs is the asymmetric noise table ("2→7, 3→8, ...").
	Pairs   string      `json:"noise_pairs,omitempty"`
	Runs    []RunResult `json:"runs"`
	Skipped []Skip      `json:"skipped,omitempty"`
	// Features and Classes are the model's inputs and outputs.
	Features int `json:"features"`
	Classes  int `json:"classes"`
	// TrainRows, HoldoutRows and TestRows are the sizes actually used.
	TrainRows   int `json:"train_rows"`
	HoldoutRows int `json:"holdout_rows"`
	TestRows    int `json:"test_rows"`
	// Environment of the run: Threads goroutines in all, Jobs runs at
	// once.
	Threads   int       `json:"threads"`
	Jobs      int       `json:"jobs"`
	GoVersion string    `json:"go_version"`
	Platform  string    `json:"platform"`
	Kernels   string    `json:"kernels"`
	Started   time.Time `json:"started"`
	Seconds   float64   `json:"seconds"`
}

// Losses returns the names of the losses that ran, in the order given.
func (r *Results) Losses() []string {
	var out []string
	seen := map[string]bool{}
	for _, run := range r.Runs {
		if !seen[run.Loss] {
			seen[run.Loss] = true
			out = append(out, run.Loss)
		}
	}
	return out
}

// Find returns the run of a loss at a noise rate.
func (r *Results) Find(lossName string, noise float64) (RunResult, bool) {
	for _, run := range r.Runs {
		if run.Loss == lossName && run.Noise == noise {
			return run, true
		}
	}
	return RunResult{}, false
}

// RunInfo identifies a run in progress reports.
type RunInfo struct {
	// Index counts runs from 1 to Total.
	Index, Total int
	Loss         string
	Noise        float64
	Epochs       int
}

// Events are the progress callbacks of an experiment; nil fields are
// skipped. When several runs train at once (Config.Jobs), the callbacks
// come from their goroutines, one at a time (never concurrently), and
// the events of different runs interleave.
type Events struct {
	// Warn reports a loss that is skipped and other non-fatal problems.
	Warn func(msg string)
	// Start and Done bracket each run.
	Start func(r RunInfo)
	Done  func(r RunInfo, res RunResult)
	// Batch is called after every update, Epoch after every epoch.
	Batch func(r RunInfo, epoch, batch, batches int)
	Epoch func(r RunInfo, s EpochStats)
}

// CheckLosses builds every named loss once and sorts them into those that
// can run and those that are not registered yet. Any other problem (a bad
// parameter, a loss that does not take class labels) is an error.
func CheckLosses(names []string) (ok []string, skipped []Skip, err error) {
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			return nil, nil, fmt.Errorf("loss %s listed twice", n)
		}
		seen[n] = true
		_, err := NewObjective(n)
		switch {
		case errors.Is(err, ErrUnregistered):
			skipped = append(skipped, Skip{Loss: n, Reason: "not registered in package loss (yet)"})
		case err != nil:
			return nil, nil, err
		default:
			ok = append(ok, n)
		}
	}
	return ok, skipped, nil
}

// ParseLosses splits a comma-separated list of losses, where a loss may
// carry its own comma-separated parameters: "gce:q=0.7,cross-entropy" is
// two losses and "sce:alpha=0.1,beta=1,focal" is two as well (an item with
// "=" and no ":" continues the previous loss's parameters).
func ParseLosses(s string) []string {
	var out []string
	for _, f := range ParseList(s) {
		if strings.Contains(f, "=") && !strings.Contains(f, ":") && len(out) > 0 && strings.Contains(out[len(out)-1], ":") {
			out[len(out)-1] += "," + f
			continue
		}
		out = append(out, f)
	}
	return out
}

// Run trains every loss of c at every noise rate on train and evaluates
// on test. Features are standardised with one mean and one standard
// deviation computed on the training examples (the per-pixel form divides
// by the tiny deviation of border pixels). The examples are shuffled
// once (seeded), the first c.Holdout are held out; for each rate the
// noise is drawn once (seeded by the rate) and shared by every loss,
// which all start from the same weights and see the same batches.
//
// Runs are independent: c.Jobs of them train at once, each on its share
// of the threads (on two cores, two runs of one thread each make better
// use of the machine than one run whose matrix products are split in
// two). The results are the same for any Jobs and Threads.
func Run(ctx context.Context, c Config, train, test data.Set, ev Events) (*Results, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	if train.Rows == 0 || test.Rows == 0 || train.Cols != test.Cols || train.Cols == 0 {
		return nil, fmt.Errorf("lab: training set %d×%d and test set %d×%d", train.Rows, train.Cols, test.Rows, test.Cols)
	}
	classes := max(train.Classes, test.Classes)
	names, skipped, err := CheckLosses(c.Losses)
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	for _, s := range skipped {
		if ev.Warn != nil {
			ev.Warn(fmt.Sprintf("warning: skipping loss %s: %s", s.Loss, s.Reason))
		}
	}
	if len(names) == 0 {
		return nil, errors.New("lab: none of the losses is registered")
	}
	res := &Results{Config: c, Noise: c.NoiseType.String(), Skipped: skipped, Threads: par.Threads(c.Train.Threads),
		GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH, Kernels: vek.Accelerated(), Started: time.Now()}

	if c.NoiseType == Asymmetric {
		res.Pairs = pairsText(c.Pairs)
	}
	// Split: hold-out first, then the training examples.
	if c.Holdout >= train.Rows {
		return nil, fmt.Errorf("lab: hold-out of %d leaves no training example out of %d", c.Holdout, train.Rows)
	}
	perm := newRNG(subSeed(c.Train.Seed, seedSplit)).perm(train.Rows)
	n := train.Rows - c.Holdout
	if c.TrainSize > 0 {
		n = min(n, c.TrainSize)
	}
	pool, err := train.Select(perm[:c.Holdout+n])
	if err != nil {
		return nil, err
	}
	if c.TestSize > 0 && c.TestSize < test.Rows {
		test, _ = test.Split(c.TestSize)
	}
	test = test.Clone()
	mean, std := scalarStats(pool.X[c.Holdout*pool.Cols:])
	normalize(pool.X, mean, std)
	normalize(test.X, mean, std)
	res.TrainRows, res.HoldoutRows, res.TestRows = n, c.Holdout, test.Rows
	res.Features, res.Classes = train.Cols, classes

	// One job per (rate, loss), in report order; every loss at a rate
	// shares the rate's noisy labels.
	var jobs []job
	for _, rate := range c.Noise {
		noise := Noise{Type: c.NoiseType, Rate: rate, Pairs: c.Pairs}
		noisy, _, err := noise.Apply(pool.Y, classes, subSeed(c.Train.Seed, seedNoise, math.Float64bits(rate)))
		if err != nil {
			return nil, err
		}
		hold := pool
		hold.Y = noisy
		hold, tr := hold.Split(c.Holdout)
		flipped := 0
		for i, y := range tr.Y {
			if y != pool.Y[c.Holdout+i] {
				flipped++
			}
		}
		for _, name := range names {
			jobs = append(jobs, job{loss: name, rate: rate, train: tr, hold: hold, flipped: flipped})
		}
	}
	workers, threads := c.parallelism(len(jobs))
	res.Jobs = workers
	tc := c.Train
	tc.Threads = threads
	ev = ev.serialized()
	res.Runs = make([]RunResult, len(jobs))
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		errMu    sync.Mutex
		firstErr error
	)
	work := func() {
		defer wg.Done()
		for {
			i := int(next.Add(1) - 1)
			if i >= len(jobs) || ctx.Err() != nil {
				return
			}
			info := RunInfo{Index: i + 1, Total: len(jobs), Loss: jobs[i].loss, Noise: jobs[i].rate, Epochs: tc.Epochs}
			rr, err := runOne(ctx, tc, c.Bins, classes, test, jobs[i], info, ev)
			if err != nil {
				errMu.Lock()
				// The first failure cancels the others: report it, not
				// their cancellations.
				if firstErr == nil {
					firstErr = err
				}
				errMu.Unlock()
				cancel()
				return
			}
			res.Runs[i] = rr
		}
	}
	wg.Add(workers)
	for w := 0; w < workers; w++ {
		go work()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := parent.Err(); err != nil {
		return nil, err
	}
	res.Seconds = time.Since(res.Started).Seconds()
	return res, nil
}

// job is one run of an experiment: a loss at a noise rate.
type job struct {
	loss        string
	rate        float64
	train, hold data.Set
	flipped     int
}

// parallelism returns how many runs to train at once and the threads
// each gets: Jobs runs (0: as many as there are threads, at most one per
// run), sharing Train.Threads (≤ 0: GOMAXPROCS) between them.
func (c Config) parallelism(runs int) (workers, threads int) {
	total := par.Threads(c.Train.Threads)
	workers = c.Jobs
	if workers <= 0 {
		workers = total
	}
	workers = max(1, min(workers, runs))
	return workers, max(1, total/workers)
}

// serialized returns events whose callbacks never run concurrently.
func (ev Events) serialized() Events {
	var mu sync.Mutex
	out := Events{}
	if f := ev.Warn; f != nil {
		out.Warn = func(m string) { mu.Lock(); defer mu.Unlock(); f(m) }
	}
	if f := ev.Start; f != nil {
		out.Start = func(r RunInfo) { mu.Lock(); defer mu.Unlock(); f(r) }
	}
	if f := ev.Done; f != nil {
		out.Done = func(r RunInfo, res RunResult) { mu.Lock(); defer mu.Unlock(); f(r, res) }
	}
	if f := ev.Batch; f != nil {
		out.Batch = func(r RunInfo, e, b, n int) { mu.Lock(); defer mu.Unlock(); f(r, e, b, n) }
	}
	if f := ev.Epoch; f != nil {
		out.Epoch = func(r RunInfo, s EpochStats) { mu.Lock(); defer mu.Unlock(); f(r, s) }
	}
	return out
}

// runOne trains and evaluates one run.
func runOne(ctx context.Context, tc TrainConfig, bins, classes int, test data.Set, j job, info RunInfo, ev Events) (RunResult, error) {
	fail := func(what string, err error) (RunResult, error) {
		return RunResult{}, fmt.Errorf("lab: %s at noise %g: %s%w", j.loss, j.rate, what, err)
	}
	if ev.Start != nil {
		ev.Start(info)
	}
	obj, err := NewObjective(j.loss)
	if err != nil {
		return fail("", err)
	}
	m, err := tc.NewModel(test.Cols, classes)
	if err != nil {
		return fail("", err)
	}
	var testLogits []float32
	hooks := Hooks{
		Epoch: func(m *Model, s *EpochStats) error {
			var err error
			if testLogits, err = m.Logits(test.X, test.Rows, testLogits); err != nil {
				return err
			}
			sc, err := score(testLogits, classes, test.Y, 0, tc.Threads)
			if err != nil {
				return err
			}
			s.TestAccuracy, s.TestNLL = sc.Accuracy, sc.NLL
			if ev.Epoch != nil {
				ev.Epoch(info, *s)
			}
			return nil
		},
	}
	if ev.Batch != nil {
		hooks.Batch = func(epoch, batch, batches int) { ev.Batch(info, epoch, batch, batches) }
	}
	curve, err := Train(ctx, m, j.train, obj, tc, hooks)
	if err != nil {
		return fail("", err)
	}
	rr := RunResult{Loss: j.loss, Effective: obj.Effective, Noise: j.rate, Flipped: j.flipped, Curve: curve}
	for _, s := range curve {
		rr.EpochSeconds += s.Seconds / float64(len(curve))
	}
	if rr.Test, err = score(testLogits, classes, test.Y, bins, tc.Threads); err != nil {
		return fail("test metrics: ", err)
	}
	if j.hold.Rows > 0 {
		hl, err := m.Logits(j.hold.X, j.hold.Rows, nil)
		if err != nil {
			return fail("", err)
		}
		if rr.Temperature, err = fitTemperature(hl, classes, j.hold.Y, tc.Threads); err != nil {
			return fail("temperature scaling: ", err)
		}
		scaled := make([]float32, len(testLogits))
		if err := applyTemperature(scaled, testLogits, classes, rr.Temperature); err != nil {
			return fail("temperature scaling: ", err)
		}
		sc, err := score(scaled, classes, test.Y, bins, tc.Threads)
		if err != nil {
			return fail("scaled test metrics: ", err)
		}
		rr.Scaled = &sc
	}
	if ev.Done != nil {
		ev.Done(info, rr)
	}
	return rr, nil
}

// scalarStats returns the mean and standard deviation of all values of x,
// in float64 and in a fixed order (1 if the deviation is 0).
func scalarStats(x []float32) (mean, std float64) {
	if len(x) == 0 {
		return 0, 1
	}
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	mean = s / float64(len(x))
	var q float64
	for _, v := range x {
		d := float64(v) - mean
		q += d * d
	}
	std = math.Sqrt(q / float64(len(x)))
	if !(std > 0) {
		std = 1
	}
	return mean, std
}

// normalize maps x to (x − mean)/std in place.
func normalize(x []float32, mean, std float64) {
	m, inv := float32(mean), float32(1/std)
	for i, v := range x {
		x[i] = (v - m) * inv
	}
}
