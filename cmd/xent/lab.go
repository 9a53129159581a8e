package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/xentlab/xent/data/mnist"
	"github.com/xentlab/xent/internal/lab"
	"github.com/xentlab/xent/internal/par"
	"github.com/xentlab/xent/loss"
)

func init() {
	register(&command{
		name:    "lab",
		summary: "train several losses side by side on MNIST under label noise; tables and a report with plots (xent lab lm: the fused head on a large vocabulary)",
		run:     runLab,
	})
}

// labData loads the default workload's data, and labRender draws the
// report's figures (nil: the lab's renderer); both are seams for tests.
var (
	labData   = mnist.Load
	labRender func(f *lab.Figure, path string) error
)

// labWorkloads holds the lab's other workloads, run as "xent lab NAME
// [flags]"; each registers itself from its own file. The default
// workload (no name) is the noisy-label comparison on MNIST.
var labWorkloads = map[string]*command{}

const labUsage = `[flags]

Trains every loss of --losses at every rate of --noise on MNIST (60 000
training images, 10 000 test images, embedded in xent), all from the same
initial weights and batches, and evaluates on the clean test set: accuracy,
NLL, ECE (15 equal-width bins) and ECE after temperature scaling fitted on a
held-out slice of the noisy training set, and the wall time of an epoch.
Prints a table per noise rate and writes a report (report.md with PNG plots,
the JSON of every plot, results.json) to --out.

Symmetric noise changes exactly rate·n labels, chosen at random, to another
class chosen uniformly. Asymmetric noise flips rate·n_c labels of each of the
digits 2→7, 3→8, 5→6, 6→5, 7→1 (after Patrini et al. 2017).

A loss of --losses that is not registered yet is skipped with a warning.
Runs train --jobs at a time, sharing --threads. The same --seed gives the
same numbers for any --threads and --jobs.

Other workloads run as "xent lab NAME [flags]": "xent lab lm" trains a
next-token model on the Go standard library's source with the fused
classifier head over a large vocabulary (xent lab lm -h).`

type labFlags struct {
	seed                    uint64
	threads, epochs         int
	noise, noiseType        string
	losses, model, opt, out string
	schedule                string
	hidden, batch, jobs     int
	lr, momentum, wd        float64
	holdout, trainN, testN  int
	quick, quiet, force     bool
	orthograd, asJSON       bool
}

func runLab(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		if w, ok := labWorkloads[args[0]]; ok {
			return w.run(args[1:], stdout, stderr)
		}
		var names []string
		for n := range labWorkloads {
			names = append(names, n)
		}
		sort.Strings(names)
		avail := "none yet besides the default"
		if len(names) > 0 {
			avail = strings.Join(names, ", ")
		}
		return usagef("unknown lab workload %q (workloads: %s)", args[0], avail)
	}
	def := lab.DefaultConfig()
	fs := newFlags("lab", labUsage, stdout)
	var f labFlags
	fs.Uint64Var(&f.seed, "seed", def.Train.Seed, "random seed: initial weights, batch order, hold-out split and label noise")
	fs.IntVar(&f.threads, "threads", 0, "goroutines in all (0: all cores); results do not depend on it")
	fs.IntVar(&f.jobs, "jobs", 0, "runs trained at once, sharing --threads (0: one per thread); results do not depend on it")
	fs.IntVar(&f.epochs, "epochs", def.Train.Epochs, "passes over the training set (--quick: 4)")
	fs.StringVar(&f.noise, "noise", "0,0.2,0.4", "comma-separated label-noise rates in [0, 1]")
	fs.StringVar(&f.noiseType, "noise-type", "symmetric", "symmetric or asymmetric")
	fs.StringVar(&f.losses, "losses", strings.Join(lab.DefaultLosses, ","), "comma-separated registered losses, each NAME or NAME:key=value,... (see xent losses)")
	fs.StringVar(&f.model, "model", def.Train.Model, "mlp (one ReLU hidden layer) or linear (softmax regression)")
	fs.IntVar(&f.hidden, "hidden", def.Train.Hidden, "hidden units of the mlp")
	fs.StringVar(&f.opt, "optimizer", def.Train.Optimizer.Name, "adam or sgd (with momentum)")
	fs.Float64Var(&f.lr, "lr", 0, "learning rate (0: 0.001 for adam, 0.05 for sgd)")
	fs.Float64Var(&f.momentum, "momentum", def.Train.Optimizer.Momentum, "sgd momentum in [0, 1)")
	fs.StringVar(&f.schedule, "schedule", "constant", "learning-rate schedule: constant or cosine (decays to 0 over the run)")
	fs.IntVar(&f.batch, "batch", def.Train.Batch, "mini-batch size")
	fs.Float64Var(&f.wd, "weight-decay", 0, "weight decay of the weight matrices (adam: decoupled, AdamW; sgd: L2)")
	fs.BoolVar(&f.orthograd, "orthograd", false, "⊥Grad: step with each tensor's gradient made orthogonal to its weights, at the same norm (catalog B16)")
	fs.IntVar(&f.holdout, "holdout", def.Holdout, "noisy training images held out to fit temperature scaling (--quick: 2000)")
	fs.IntVar(&f.trainN, "train-size", 0, "use at most this many training images besides the hold-out (0: all; --quick: 10000)")
	fs.IntVar(&f.testN, "test-size", 0, "use the first this many test images (0: all 10 000)")
	fs.BoolVar(&f.quick, "quick", false, "a short run (under a minute): 10 000 training images, 4 epochs")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress bar or per-epoch lines: one line per run")
	fs.StringVar(&f.out, "out", "lab-report", "report directory (written atomically)")
	fs.BoolVar(&f.force, "force", false, "replace an existing report in --out")
	fs.BoolVar(&f.asJSON, "json", false, "print one JSON object (the report's path and every number of results.json) instead of the tables")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	c, err := labConfig(f, set)
	if err != nil {
		return err
	}
	if f.out == "" {
		return usagef("--out is empty")
	}
	// Fail now, not after minutes of training.
	if err := lab.CheckOutput(f.out, f.force); err != nil {
		return err
	}
	train, test, err := labData()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	p := newProgress(stderr, f.quiet)
	res, err := lab.Run(ctx, c, train, test, p.labEvents())
	p.close()
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return errors.New("interrupted; no report written")
	}
	if err != nil {
		return err
	}
	for _, r := range c.Noise {
		if f.asJSON {
			break
		}
		fmt.Fprintf(stdout, "\n%s%% %s noise (%s, %d epochs):\n\n", strconv.FormatFloat(100*r, 'f', -1, 64), res.Noise, c.Train.Model, c.Train.Epochs)
		if err := lab.WriteTable(stdout, res, r); err != nil {
			return err
		}
		if name, acc, gain, ok := lab.Best(res, r); ok {
			fmt.Fprintf(stdout, "best other than cross-entropy: %s %.2f%% (%+.2f points)\n", name, 100*acc, gain)
		}
	}
	if err := lab.WriteReport(f.out, res, lab.ReportOptions{Force: f.force, Command: shellCommand("xent lab", args), Render: labRender}); err != nil {
		return err
	}
	return reportWritten(stdout, f.out, f.asJSON, res, res.Seconds)
}

// labConfig turns the flags into an experiment; set holds the flags given
// on the command line (they override --quick).
func labConfig(f labFlags, set map[string]bool) (lab.Config, error) {
	c := lab.DefaultConfig()
	if f.quick {
		c.Quick()
	}
	var err error
	if c.Noise, err = parseRates(f.noise); err != nil {
		return c, err
	}
	if c.NoiseType, err = lab.ParseNoiseType(f.noiseType); err != nil {
		return c, usagef("--noise-type: %v", err)
	}
	c.Losses = lab.ParseLosses(f.losses)
	if len(c.Losses) == 0 {
		return c, usagef("--losses is empty")
	}
	ok, _, err := lab.CheckLosses(c.Losses)
	if err != nil {
		return c, usagef("--losses: %v", err)
	}
	if len(ok) == 0 {
		var names []string
		for _, s := range loss.Specs() {
			names = append(names, s.Name)
		}
		return c, usagef("--losses: none of the losses is registered (registered: %s)", strings.Join(names, ", "))
	}
	t := &c.Train
	t.Seed, t.Threads = f.seed, f.threads
	for _, r := range []struct {
		flag      string
		v, lo, hi int
	}{
		{"threads", f.threads, 0, maxThreads}, {"jobs", f.jobs, 0, maxThreads}, {"epochs", f.epochs, 1, maxEpochs},
		{"hidden", f.hidden, 1, maxUnits}, {"batch", f.batch, 1, maxBatch}, {"holdout", f.holdout, 0, maxExamples},
		{"train-size", f.trainN, 0, maxExamples}, {"test-size", f.testN, 0, maxExamples},
	} {
		if err := checkRange(r.flag, r.v, r.lo, r.hi); err != nil {
			return c, err
		}
	}
	if set["epochs"] || !f.quick {
		t.Epochs = f.epochs
	}
	switch f.model {
	case "mlp", "linear":
		t.Model = f.model
	default:
		return c, usagef("--model %q: want mlp or linear", f.model)
	}
	t.Hidden, t.Batch = f.hidden, f.batch
	switch f.schedule {
	case "constant", "cosine":
		t.Schedule = f.schedule
	default:
		return c, usagef("--schedule %q: want constant or cosine", f.schedule)
	}
	switch strings.ToLower(f.opt) {
	case "adam", "sgd":
		t.Optimizer.Name = strings.ToLower(f.opt)
	default:
		return c, usagef("--optimizer %q: want adam or sgd", f.opt)
	}
	t.Optimizer.LR = f.lr
	if !set["lr"] {
		t.Optimizer.LR = lab.DefaultLR(t.Optimizer.Name)
	}
	if set["momentum"] && t.Optimizer.Name != "sgd" {
		return c, usagef("--momentum applies to --optimizer sgd only (adam keeps its own moment estimates)")
	}
	t.Optimizer.Momentum, t.Optimizer.WeightDecay = f.momentum, f.wd
	t.Optimizer.OrthoGrad = f.orthograd
	if set["holdout"] || !f.quick {
		c.Holdout = f.holdout
	}
	if set["train-size"] || !f.quick {
		c.TrainSize = f.trainN
	}
	c.TestSize = f.testN
	if f.jobs < 0 {
		return c, usagef("--jobs %d, want ≥ 0", f.jobs)
	}
	c.Jobs = f.jobs
	if err := c.Validate(); err != nil {
		return c, labFlagError(err)
	}
	if err := checkMemory("--hidden, --batch and --jobs", labBytes(c)); err != nil {
		return c, err
	}
	return c, nil
}

// labBytes estimates the memory of the default workload's runs (MNIST:
// 784 inputs, 10 classes, 10 000 test images): per run training at once,
// the parameters with their gradient and Adam's two moments, the
// activations of a batch and the test set's forward pass, in float32.
func labBytes(c lab.Config) float64 {
	const in, out, test = 28 * 28, 10, 10000
	h := float64(c.Train.Hidden)
	params := float64(in*out + out)
	if c.Train.Model == "mlp" {
		params = in*h + h + h*out + out
	}
	jobs := c.Jobs
	if jobs == 0 {
		jobs = par.Threads(c.Train.Threads)
	}
	perRun := 5*params + float64(c.Train.Batch)*(in+2*h+2*out) + test*(h+out)
	return 4 * float64(jobs) * perRun
}

// labFlagError turns a configuration error of the lab into a usage error
// that names the flag (lab.SettingError says which setting failed).
func labFlagError(err error) error {
	var se *lab.SettingError
	if errors.As(err, &se) {
		if name, ok := settingFlags[se.Field]; ok {
			return usagef("--%s %v, want %s", name, se.Value, se.Want)
		}
	}
	return usagef("%v", err)
}

// settingFlags maps the lab's configuration fields to the flags that set
// them, in both workloads.
var settingFlags = map[string]string{
	"Epochs": "epochs", "Batch": "batch", "Hidden": "hidden", "LR": "lr", "WeightDecay": "weight-decay",
	"Momentum": "momentum", "Holdout": "holdout", "TrainSize": "train-size", "TestSize": "test-size",
	"Jobs": "jobs", "Noise": "noise", "Vocab": "vocab", "Context": "context", "Embed": "embed",
	"Steps": "steps", "FilterEps": "filter-eps", "ValTokens": "val-tokens", "Generate": "generate",
}

// parseRates reads a comma-separated list of noise rates in [0, 1].
func parseRates(s string) ([]float64, error) {
	var out []float64
	seen := map[float64]bool{}
	for _, f := range lab.ParseList(s) {
		r, err := strconv.ParseFloat(f, 64)
		if err != nil || !(r >= 0 && r <= 1) {
			return nil, usagef("--noise: %q is not a rate in [0, 1]", f)
		}
		if seen[r] {
			return nil, usagef("--noise: rate %g listed twice", r)
		}
		seen[r] = true
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, usagef("--noise is empty")
	}
	return out, nil
}

func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`*?[]{}()<>|&;#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// shellCommand is the command line prefix args, quoted for a shell: what
// a report says made it.
func shellCommand(prefix string, args []string) string {
	for _, a := range args {
		prefix += " " + shellQuote(a)
	}
	return prefix
}

// reportWritten tells where a lab report went: one JSON object with the
// results, or a line with the path and the run's time.
func reportWritten(stdout io.Writer, out string, asJSON bool, res any, seconds float64) error {
	if asJSON {
		return writeJSON(stdout, map[string]any{"report": filepath.Join(out, lab.ReportFile), "results": res})
	}
	fmt.Fprintf(stdout, "\nreport: %s (%.0f s)\n", out+string(os.PathSeparator)+lab.ReportFile, seconds)
	return nil
}
