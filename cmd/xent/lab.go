package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

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
	p := newLabProgress(stderr, f.quiet)
	res, err := lab.Run(ctx, c, train, test, p.events())
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
	cmd := "xent lab"
	for _, a := range args {
		cmd += " " + shellQuote(a)
	}
	if err := lab.WriteReport(f.out, res, lab.ReportOptions{Force: f.force, Command: cmd, Render: labRender}); err != nil {
		return err
	}
	if f.asJSON {
		return writeJSON(stdout, map[string]any{"report": filepath.Join(f.out, lab.ReportFile), "results": res})
	}
	fmt.Fprintf(stdout, "\nreport: %s (%.0f s)\n", f.out+string(os.PathSeparator)+lab.ReportFile, res.Seconds)
	return nil
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
		return c, usagef("%v", flagWords(err))
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

// flagWords turns a configuration error into the flag's words where the
// message names a setting.
func flagWords(err error) string {
	s := err.Error()
	for _, r := range [][2]string{
		{"epochs ", "--epochs "}, {"batch size ", "--batch "}, {"hidden units ", "--hidden "},
		{"learning rate ", "--lr "}, {"weight decay ", "--weight-decay "}, {"momentum ", "--momentum "},
	} {
		if strings.Contains(s, r[0]) {
			return strings.Replace(strings.TrimPrefix(s, "lab: "), r[0], r[1], 1)
		}
	}
	return strings.TrimPrefix(s, "lab: ")
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

// isTerminal reports whether w is a terminal (a character device).
var isTerminal = func(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// labProgress shows the lab's progress on stderr: one progress bar over
// all runs on a terminal (the runs training at the moment in its
// description); otherwise, and with --quiet, plain log lines.
type labProgress struct {
	w      io.Writer
	quiet  bool
	useBar bool
	bar    *progressbar.ProgressBar
	active map[int]string // runs in training, by index
}

func newLabProgress(w io.Writer, quiet bool) *labProgress {
	return &labProgress{w: w, quiet: quiet, useBar: !quiet && isTerminal(w), active: map[int]string{}}
}

func runTag(r lab.RunInfo) string {
	width := len(strconv.Itoa(r.Total))
	return fmt.Sprintf("[%*d/%d] %s, %s%% noise", width, r.Index, r.Total, r.Loss, strconv.FormatFloat(100*r.Noise, 'f', -1, 64))
}

// describe sets the bar's description to the runs in training.
func (p *labProgress) describe() {
	if p.bar == nil {
		return
	}
	idx := make([]int, 0, len(p.active))
	for i := range p.active {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	parts := make([]string, len(idx))
	for k, i := range idx {
		parts[k] = p.active[i]
	}
	p.bar.Describe(strings.Join(parts, "; "))
}

// println prints a line above the bar.
func (p *labProgress) println(line string) {
	if p.bar != nil {
		p.bar.Clear()
	}
	fmt.Fprintln(p.w, line)
	if p.bar != nil {
		p.bar.RenderBlank()
	}
}

func (p *labProgress) events() lab.Events {
	ev := lab.Events{
		Warn: func(msg string) { p.println("xent lab: " + msg) },
		Done: func(r lab.RunInfo, res lab.RunResult) {
			delete(p.active, r.Index)
			ts := ""
			if res.Scaled != nil {
				ts = fmt.Sprintf(" → %.2f%% after TS (T %.3f)", 100*res.Scaled.ECE, res.Temperature)
			}
			p.println(fmt.Sprintf("%s: test acc %.2f%%, NLL %.4f, ECE %.2f%%%s, %.2f s/epoch",
				runTag(r), 100*res.Test.Accuracy, res.Test.NLL, 100*res.Test.ECE, ts, res.EpochSeconds))
			p.describe()
		},
	}
	switch {
	case p.useBar:
		ev.Start = func(r lab.RunInfo) {
			p.active[r.Index] = fmt.Sprintf("%d/%d %s %s%%", r.Index, r.Total, r.Loss, strconv.FormatFloat(100*r.Noise, 'f', -1, 64))
			p.describe()
		}
		ev.Batch = func(r lab.RunInfo, epoch, batch, batches int) {
			if p.bar == nil {
				p.bar = progressbar.NewOptions(r.Total*r.Epochs*batches,
					progressbar.OptionSetWriter(p.w),
					progressbar.OptionSetWidth(30),
					progressbar.OptionThrottle(100*time.Millisecond),
					progressbar.OptionClearOnFinish(),
				)
				p.describe()
			}
			p.bar.Add(1)
		}
		ev.Epoch = func(r lab.RunInfo, s lab.EpochStats) {
			p.active[r.Index] = fmt.Sprintf("%d/%d %s %s%% epoch %d: %.2f%%", r.Index, r.Total, r.Loss,
				strconv.FormatFloat(100*r.Noise, 'f', -1, 64), s.Epoch, 100*s.TestAccuracy)
			p.describe()
		}
	case !p.quiet:
		ev.Epoch = func(r lab.RunInfo, s lab.EpochStats) {
			fmt.Fprintf(p.w, "%s: epoch %*d/%d, train loss %.4f, test acc %.2f%%, %.2f s\n",
				runTag(r), len(strconv.Itoa(r.Epochs)), s.Epoch, r.Epochs, s.TrainLoss, 100*s.TestAccuracy, s.Seconds)
		}
	}
	return ev
}

func (p *labProgress) close() {
	if p.bar != nil {
		p.bar.Finish()
		p.bar.Clear()
		p.bar = nil
	}
}

func init() {
	labWorkloads["lm"] = &command{
		name:    "lm",
		summary: "the fused classifier head on a large vocabulary: a next-token model of Go source, three heads compared",
		run:     runLabLM,
	}
}

const labLMUsage = `[flags]

Trains a small next-token model on the Go standard library's own source
(found through "go env GOROOT"), three times from the same initial weights
on the same batches: with the fused classifier head of package linear
(exact), with the fused head and gradient filtering at --filter-eps, and
with the materialized head (the whole [batch, vocab] logits, the
cross-entropy, two GEMMs). The three runs advance in lockstep, a step of
each in turn, so that the machine's load weighs on them alike. Prints and
reports for each head the median
time of a step and of the head, the head's scratch memory, the validation
cross-entropy and perplexity, and the tiles filtering skipped, with the
loss curves as plots; report.md, the plots' PNG and JSON files and
results.json go to --out.

Corpus: every .go file of GOROOT/src (or --corpus) except tests,
generated files, testdata and vendor directories, tokenized with
go/scanner (comments dropped, identifiers, keywords, operators and
literals as written, line-end semicolons as one newline token). The
vocabulary is <unk> and the --vocab − 1 most frequent training tokens
(ties in byte order). One package directory in 20 (by a hash of its path)
is held out for validation, so the model is scored on packages it never
saw.

Model: the embeddings (--embed each) of the previous --context tokens,
concatenated → --hidden ReLU units → the classifier head over the
vocabulary; Adam on every parameter. Each step draws --batch target tokens
at random from the training files. The same --seed gives the same losses
for any --threads.

At the end the exact fused head's model writes --generate pieces of Go
source from prompts of the validation packages, with package sample's
chain (penalties, top-k, top-p, min-p, temperature), shown in the report.`

type labLMFlags struct {
	vocab, context, embed, hidden int
	batch, steps, threads         int
	valTokens, generate           int
	lr, eps                       float64
	seed                          uint64
	corpus, out                   string
	quick, quiet, force, asJSON   bool
}

func runLabLM(args []string, stdout, stderr io.Writer) error {
	def := lab.DefaultLMConfig()
	quick := def
	quick.Quick()
	fs := newFlags("lab lm", labLMUsage, stdout)
	var f labLMFlags
	fs.IntVar(&f.vocab, "vocab", def.Corpus.Vocab, fmt.Sprintf("vocabulary size, <unk> included (--quick: %d)", quick.Corpus.Vocab))
	fs.IntVar(&f.context, "context", def.Context, "tokens of context the model reads")
	fs.IntVar(&f.embed, "embed", def.Embed, "embedding size of a token")
	fs.IntVar(&f.hidden, "hidden", def.Hidden, "hidden units (the head's input dimension)")
	fs.IntVar(&f.batch, "batch", def.Batch, fmt.Sprintf("target tokens per step (--quick: %d)", quick.Batch))
	fs.IntVar(&f.steps, "steps", def.Steps, fmt.Sprintf("training steps per head (--quick: %d)", quick.Steps))
	fs.Float64Var(&f.lr, "lr", def.LR, "Adam's learning rate")
	fs.Uint64Var(&f.seed, "seed", def.Seed, "random seed: initial weights and batches")
	fs.IntVar(&f.threads, "threads", 0, "goroutines (0: all cores); the losses do not depend on it")
	fs.Float64Var(&f.eps, "filter-eps", def.FilterEps, "gradient-filtering threshold of the filtered fused head (2^-12: what bf16 would round away)")
	fs.IntVar(&f.valTokens, "val-tokens", def.ValTokens, fmt.Sprintf("validation tokens scored, evenly spaced (0: all; --quick: %d)", quick.ValTokens))
	fs.StringVar(&f.corpus, "corpus", "", "directory of Go source to use instead of GOROOT/src")
	fs.IntVar(&f.generate, "generate", def.Generate, "pieces of Go source the trained model writes at the end (package sample's chain; 0: none)")
	fs.BoolVar(&f.quick, "quick", false, "a short run (under a minute on two cores): smaller vocabulary, batch and step count")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress bar or log lines: one line per head")
	fs.StringVar(&f.out, "out", "lab-report-lm", "report directory (written atomically)")
	fs.BoolVar(&f.force, "force", false, "replace an existing report in --out")
	fs.BoolVar(&f.asJSON, "json", false, "print one JSON object (the report's path and every number of results.json) instead of the table")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	c, err := labLMConfig(f, set)
	if err != nil {
		return err
	}
	if f.out == "" {
		return usagef("--out is empty")
	}
	if err := lab.CheckOutput(f.out, f.force); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	interrupted := func(err error) error {
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			return errors.New("interrupted; no report written")
		}
		return err
	}
	corp, err := lab.LoadCorpus(ctx, c.Corpus)
	if err != nil {
		return interrupted(err)
	}
	c.Corpus.Root = corp.Config.Root
	cs := corp.Stats()
	fmt.Fprintf(stderr, "corpus %s: %s training tokens (%s, %s), %s validation tokens (%s, %s), vocabulary %s (<unk>: %.1f%% of training, %.1f%% of validation tokens), %.1f s\n",
		cs.Root, thousandsSep(cs.TrainTokens), count(cs.TrainFiles, "file"), count(cs.TrainPackages, "package"),
		thousandsSep(cs.ValTokens), count(cs.ValFiles, "file"), count(cs.ValPackages, "package"),
		thousandsSep(cs.Vocab), pctOf(cs.TrainUnk, cs.TrainTokens), pctOf(cs.ValUnk, cs.ValTokens), cs.Seconds)
	p := newLabLMProgress(stderr, f.quiet)
	res, err := lab.RunLM(ctx, c, corp, p.events())
	p.close()
	if err != nil {
		return interrupted(err)
	}
	if !f.asJSON {
		fmt.Fprintf(stdout, "\nxent lab lm: vocabulary %s, batch %d, %d steps, %d threads\n\n", thousandsSep(cs.Vocab), c.Batch, c.Steps, res.Threads)
		if err := lab.WriteLMTable(stdout, res); err != nil {
			return err
		}
		if res.MaxRSSBytes > 0 {
			fmt.Fprintf(stdout, "peak resident memory of the process (all runs): %.1f MiB\n", float64(res.MaxRSSBytes)/(1<<20))
		}
		for i, g := range res.Samples {
			fmt.Fprintf(stdout, "\ngenerated %d (%s):\n%s%s\n", i+1, res.SampleChain, g.Prompt, g.Text)
		}
	}
	cmd := "xent lab lm"
	for _, a := range args {
		cmd += " " + shellQuote(a)
	}
	if err := lab.WriteLMReport(f.out, res, lab.ReportOptions{Force: f.force, Command: cmd, Render: labRender}); err != nil {
		return err
	}
	if f.asJSON {
		return writeJSON(stdout, map[string]any{"report": filepath.Join(f.out, lab.ReportFile), "results": res})
	}
	fmt.Fprintf(stdout, "\nreport: %s (%.0f s)\n", f.out+string(os.PathSeparator)+lab.ReportFile, res.Seconds)
	return nil
}

// labLMConfig turns the flags into the workload's configuration; set
// holds the flags given on the command line (they override --quick).
func labLMConfig(f labLMFlags, set map[string]bool) (lab.LMConfig, error) {
	c := lab.DefaultLMConfig()
	if f.quick {
		c.Quick()
	}
	pick := func(name string, v int, dst *int) {
		if set[name] || !f.quick {
			*dst = v
		}
	}
	pick("vocab", f.vocab, &c.Corpus.Vocab)
	pick("batch", f.batch, &c.Batch)
	pick("steps", f.steps, &c.Steps)
	pick("val-tokens", f.valTokens, &c.ValTokens)
	c.Context, c.Embed, c.Hidden = f.context, f.embed, f.hidden
	c.LR, c.Seed, c.FilterEps, c.Generate = f.lr, f.seed, f.eps, f.generate
	for _, r := range []struct {
		flag      string
		v, lo, hi int
	}{
		{"threads", f.threads, 0, maxThreads}, {"vocab", c.Corpus.Vocab, 2, maxVocab}, {"context", c.Context, 1, maxUnits},
		{"embed", c.Embed, 1, maxUnits}, {"hidden", c.Hidden, 1, maxUnits}, {"batch", c.Batch, 1, maxBatch},
		{"steps", c.Steps, 1, maxSteps}, {"val-tokens", c.ValTokens, 0, maxExamples},
	} {
		if err := checkRange(r.flag, r.v, r.lo, r.hi); err != nil {
			return c, err
		}
	}
	c.Threads = f.threads
	if set["corpus"] && f.corpus == "" {
		return c, usagef("--corpus is empty")
	}
	c.Corpus.Root = f.corpus
	if err := c.Validate(); err != nil {
		return c, usagef("%v", lmFlagWords(err))
	}
	// Three models (with gradients and Adam's moments) live at once, and
	// the materialized head holds a batch of logits and their gradient.
	v, e, h, k, b := float64(c.Corpus.Vocab), float64(c.Embed), float64(c.Hidden), float64(c.Context), float64(c.Batch)
	params := v*e + k*e*h + h + v*h + v
	if err := checkMemory("--vocab, --embed, --context, --hidden and --batch", 4*(3*4*params+2*b*v+4*b*(k*e+h))); err != nil {
		return c, err
	}
	return c, nil
}

// lmFlagWords turns a configuration error into the flag's words.
func lmFlagWords(err error) string {
	s := err.Error()
	for _, r := range [][2]string{
		{"vocabulary ", "--vocab "}, {"context ", "--context "}, {"embedding size ", "--embed "}, {"hidden units ", "--hidden "},
		{"batch size ", "--batch "}, {"steps ", "--steps "}, {"learning rate ", "--lr "}, {"filter threshold ", "--filter-eps "},
		{"validation tokens ", "--val-tokens "}, {"generated samples ", "--generate "},
	} {
		if strings.HasPrefix(s, r[0]) {
			return r[1] + strings.TrimPrefix(s, r[0])
		}
	}
	return s
}

func pctOf(a, n int) float64 {
	if n == 0 {
		return 0
	}
	return 100 * float64(a) / float64(n)
}

// count writes n and the noun, plural unless n is 1.
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return thousandsSep(n) + " " + noun + "s"
}

// thousandsSep writes n with a space between groups of three digits.
func thousandsSep(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + thousandsSep(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + " " + s[i:]
	}
	return s
}

// labLMProgress shows the workload's progress on stderr: a progress bar
// over all steps of the three runs on a terminal, log lines at every
// validation otherwise, and one line per finished run (also with --quiet).
type labLMProgress struct {
	w      io.Writer
	quiet  bool
	useBar bool
	bar    *progressbar.ProgressBar
	// sum and n accumulate each run's training losses since its last
	// log line, by run index.
	sum map[int]float64
	n   map[int]int
}

func newLabLMProgress(w io.Writer, quiet bool) *labLMProgress {
	return &labLMProgress{w: w, quiet: quiet, useBar: !quiet && isTerminal(w), sum: map[int]float64{}, n: map[int]int{}}
}

func lmTag(r lab.LMRunInfo) string {
	return fmt.Sprintf("[%d/%d] %s", r.Index, r.Total, r.Head.Name)
}

func (p *labLMProgress) println(line string) {
	if p.bar != nil {
		p.bar.Clear()
	}
	fmt.Fprintln(p.w, line)
	if p.bar != nil {
		p.bar.RenderBlank()
	}
}

func (p *labLMProgress) events() lab.LMEvents {
	ev := lab.LMEvents{
		Done: func(r lab.LMRunInfo, res lab.LMHeadResult) {
			skipped := ""
			if res.Head.FilterEps > 0 && res.Tiles > 0 {
				skipped = fmt.Sprintf(", %.1f%% of the gradient tiles skipped", 100*float64(res.SkippedTiles)/float64(res.Tiles))
			}
			p.println(fmt.Sprintf("%s: val loss %.4f (perplexity %.2f), %.1f ms/step (head %.1f ms), head scratch %.1f MiB%s",
				lmTag(r), res.ValLoss, res.ValPerplexity, 1e3*res.StepSeconds, 1e3*res.HeadSeconds, float64(res.ScratchBytes)/(1<<20), skipped))
		},
	}
	switch {
	case p.useBar:
		ev.Step = func(r lab.LMRunInfo, step int, loss float64) {
			if p.bar == nil {
				p.bar = progressbar.NewOptions(r.Total*r.Steps,
					progressbar.OptionSetWriter(p.w),
					progressbar.OptionSetWidth(30),
					progressbar.OptionThrottle(100*time.Millisecond),
					progressbar.OptionClearOnFinish(),
				)
			}
			p.bar.Describe(fmt.Sprintf("%d/%d %s: step %d, loss %.3f", r.Index, r.Total, r.Head.Name, step, loss))
			p.bar.Add(1)
		}
	case !p.quiet:
		ev.Step = func(r lab.LMRunInfo, step int, loss float64) {
			p.sum[r.Index] += loss
			p.n[r.Index]++
		}
		ev.Val = func(r lab.LMRunInfo, pt lab.LMPoint) {
			fmt.Fprintf(p.w, "%s: step %*d/%d, train loss %.4f, val loss %.4f (perplexity %.2f)\n",
				lmTag(r), len(strconv.Itoa(r.Steps)), pt.Step, r.Steps, p.sum[r.Index]/float64(max(p.n[r.Index], 1)), pt.Loss, math.Exp(pt.Loss))
			p.sum[r.Index], p.n[r.Index] = 0, 0
		}
	}
	return ev
}

func (p *labLMProgress) close() {
	if p.bar != nil {
		p.bar.Finish()
		p.bar.Clear()
		p.bar = nil
	}
}
