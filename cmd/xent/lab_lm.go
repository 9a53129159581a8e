package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"

	"github.com/xentlab/xent/internal/lab"
)

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
	p := newProgress(stderr, f.quiet)
	res, err := lab.RunLM(ctx, c, corp, p.lmEvents())
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
	if err := lab.WriteLMReport(f.out, res, lab.ReportOptions{Force: f.force, Command: shellCommand("xent lab lm", args), Render: labRender}); err != nil {
		return err
	}
	return reportWritten(stdout, f.out, f.asJSON, res, res.Seconds)
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
		return c, labFlagError(err)
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
