package lab

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// WriteLMReport writes the report of the language-model workload into
// the directory dir, atomically as WriteReport does: report.md with the
// table and the loss curves, NAME.png and NAME.json for every figure, and
// results.json with every number of the run.
func WriteLMReport(dir string, res *LMResults, opt ReportOptions) error {
	if len(res.Heads) == 0 {
		return errNoHeads
	}
	return WriteDir(dir, opt.Force, func(tmp string) error {
		figs := LMFigures(res)
		if err := WriteFigures(tmp, figs, opt.Render); err != nil {
			return err
		}
		if err := writeFile(filepath.Join(tmp, "results.json"), jsonWriter(res)); err != nil {
			return err
		}
		return writeFile(filepath.Join(tmp, ReportFile), func(w io.Writer) error {
			return WriteLMMarkdown(w, res, figs, opt.Command)
		})
	})
}

// LMFigures returns the figures of a language-model report: the training
// loss of every head against the step, and the validation loss at the
// validation points, each with the unigram model's validation loss as a
// reference line.
func LMFigures(res *LMResults) []Figure {
	steps := float64(res.Config.Steps)
	uni := Series{Name: "unigram model (validation)", X: []float64{0, steps}, Y: []float64{res.UnigramLoss, res.UnigramLoss}}
	train := Figure{Name: "lm-train-loss", Title: "Training loss (mean of every " + fmt.Sprint(res.Config.LogEvery) + " batches)",
		XLabel: "step", YLabel: "cross-entropy (nats)", Legend: "top-right"}
	val := Figure{Name: "lm-val-loss", Title: fmt.Sprintf("Validation loss (%s tokens of unseen packages)", thousands(res.ValScored)),
		XLabel: "step", YLabel: "cross-entropy (nats)", Legend: "bottom-left"}
	for _, h := range res.Heads {
		t := Series{Name: h.Head.Name}
		for _, p := range h.Train {
			t.X, t.Y = append(t.X, float64(p.Step)), append(t.Y, p.Loss)
		}
		v := Series{Name: h.Head.Name}
		for _, p := range h.Val {
			v.X, v.Y = append(v.X, float64(p.Step)), append(v.Y, p.Loss)
		}
		train.Series, val.Series = append(train.Series, t), append(val.Series, v)
	}
	train.Series = append(train.Series, uni)
	val.Series = append(val.Series, uni)
	// Every point is shown; a log scale keeps the first ones (near
	// log V) from squeezing the rest of the curve.
	if r := padRange(train.Series, 0.02, 0.05); r != nil && r[0] > 0 {
		train.YRange, train.LogY = r, true
	}
	val.YRange = padRange(val.Series, 0.05, 0.1)
	figs := []Figure{train, val}
	skip := Figure{Name: "lm-skipped-tiles", Title: "Gradient tiles skipped by filtering (every " + fmt.Sprint(res.Config.LogEvery) + " batches)",
		XLabel: "step", YLabel: "tiles skipped (%)", Legend: "top-right"}
	for _, h := range res.Heads {
		if h.Head.FilterEps <= 0 || h.Tiles == 0 {
			continue
		}
		s := Series{Name: h.Head.Name}
		for _, p := range h.Train {
			s.X, s.Y = append(s.X, float64(p.Step)), append(s.Y, 100*p.Skipped)
		}
		skip.Series = append(skip.Series, s)
	}
	if len(skip.Series) > 0 {
		skip.YRange = &[2]float64{0, 100}
		figs = append(figs, skip)
	}
	return figs
}

// filterSummary compares each filtered head with the exact fused head:
// the tiles it skipped, early and late, its validation perplexity and the
// time of its steps.
func filterSummary(res *LMResults) string {
	var exact *LMHeadResult
	for i, h := range res.Heads {
		if !h.Head.Materialized && h.Head.FilterEps == 0 {
			exact = &res.Heads[i]
			break
		}
	}
	if exact == nil {
		return ""
	}
	var b strings.Builder
	for _, h := range res.Heads {
		if h.Head.FilterEps <= 0 || h.Tiles == 0 || len(h.Train) == 0 {
			continue
		}
		first, last := h.Train[0], h.Train[len(h.Train)-1]
		lastWindow := last.Step
		if n := len(h.Train); n >= 2 {
			lastWindow -= h.Train[n-2].Step
		}
		fmt.Fprintf(&b, "\n`%s` skipped %.1f%% of the gradient tiles (%.1f%% in the first %d steps, %.1f%% in the last %d); its validation perplexity is %.2f against %.2f for the exact fused head, and its median step took %.2f× as long. %s\n",
			h.Head.Name, pctOf(int(h.SkippedTiles), int(h.Tiles)), 100*first.Skipped, first.Step, 100*last.Skipped, lastWindow,
			h.ValPerplexity, exact.ValPerplexity, h.StepSeconds/exact.StepSeconds, filterVerdict(h, *exact))
	}
	return b.String()
}

// Thresholds of filterVerdict: a step at least 3% shorter counts as
// faster (the runs share the machine, so less is noise), and a
// validation loss within 0.01 nats of the exact head's as no loss.
const (
	filterFaster  = 0.97
	filterLossTol = 0.01
)

// filterVerdict says whether gradient filtering paid in this run: faster
// steps at no cost in validation loss.
func filterVerdict(h, exact LMHeadResult) string {
	speed := h.StepSeconds / exact.StepSeconds
	dloss := h.ValLoss - exact.ValLoss
	faster := speed <= filterFaster
	same := dloss <= filterLossTol
	switch {
	case faster && same:
		return fmt.Sprintf("**Filtering paid here**: %.0f%% less time per step at a validation loss within %.2f nats of the exact head's (%+.4f).", 100*(1-speed), filterLossTol, dloss)
	case faster:
		return fmt.Sprintf("**Filtering traded accuracy for time here**: %.0f%% less time per step, but %+.4f nats of validation loss.", 100*(1-speed), dloss)
	case same:
		return fmt.Sprintf("**Filtering did not pay here**: the loss is the same (%+.4f nats) but the step is not faster (%.2f×): the tiles it kept, multiplied as separate small products, cost what the skipped ones saved.", dloss, speed)
	}
	return fmt.Sprintf("**Filtering did not pay here**: no faster (%.2f×) and %+.4f nats of validation loss.", speed, dloss)
}

// memorySummary puts the heads' scratch memory side by side with the
// size of the logits the fused head never holds whole.
func memorySummary(res *LMResults) string {
	var fused, mat *LMHeadResult
	for i, h := range res.Heads {
		switch {
		case h.Head.Materialized:
			mat = &res.Heads[i]
		case h.Head.FilterEps == 0:
			fused = &res.Heads[i]
		}
	}
	if fused == nil || mat == nil || fused.ScratchBytes <= 0 {
		return ""
	}
	logits := int64(4) * int64(res.Config.Batch) * int64(res.Corpus.Vocab)
	return fmt.Sprintf("\nHead memory per step, side by side: the fused head %s, the materialized head %s (%.1f× as much; its [%d, %s] float32 logits alone are %s). The fused head's block of logits is bounded, so the gap grows with batch × vocabulary (here 2^%.1f).\n",
		mib(fused.ScratchBytes), mib(mat.ScratchBytes), float64(mat.ScratchBytes)/float64(fused.ScratchBytes),
		res.Config.Batch, thousands(res.Corpus.Vocab), mib(logits), math.Log2(float64(res.Config.Batch)*float64(res.Corpus.Vocab)))
}

// mib formats a byte count in MiB.
func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// WriteLMTable writes the comparison of the heads as a Markdown table:
// median time of a step and of its head, the head's scratch memory,
// the validation loss and perplexity, and the tiles gradient filtering
// skipped.
func WriteLMTable(w io.Writer, res *LMResults) error {
	if len(res.Heads) == 0 {
		return errNoHeads
	}
	var ref *LMHeadResult
	for i := range res.Heads {
		if res.Heads[i].Head.Materialized {
			ref = &res.Heads[i]
		}
	}
	head := []string{"head", "ms/step", "head ms/step", "vs materialized", "head scratch", "val loss", "val ppl", "skipped tiles"}
	var rows [][]string
	for _, h := range res.Heads {
		vs, skipped := "–", "–"
		if ref != nil && h.StepSeconds > 0 {
			vs = fmt.Sprintf("%.2f×", ref.StepSeconds/h.StepSeconds)
		}
		if h.Head.FilterEps > 0 && h.Tiles > 0 {
			skipped = fmt.Sprintf("%.1f%%", 100*float64(h.SkippedTiles)/float64(h.Tiles))
		}
		rows = append(rows, []string{h.Head.Name, fmt.Sprintf("%.1f", 1e3*h.StepSeconds), fmt.Sprintf("%.1f", 1e3*h.HeadSeconds), vs,
			mib(h.ScratchBytes), fmt.Sprintf("%.4f", h.ValLoss), fmt.Sprintf("%.2f", h.ValPerplexity), skipped})
	}
	rows = append(rows, []string{"unigram model", "", "", "", "", fmt.Sprintf("%.4f", res.UnigramLoss), fmt.Sprintf("%.2f", math.Exp(res.UnigramLoss)), ""})
	_, err := w.Write(markdownTable(head, rows))
	return err
}

// markdownTable lays out a table with the first column left-aligned and
// the others right-aligned.
func markdownTable(head []string, rows [][]string) []byte {
	width := make([]int, len(head))
	for _, r := range append([][]string{head}, rows...) {
		for i, c := range r {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	var b bytes.Buffer
	line := func(cells []string) {
		b.WriteString("|")
		for i, c := range cells {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i == 0 {
				b.WriteString(" " + c + pad + " |")
			} else {
				b.WriteString(" " + pad + c + " |")
			}
		}
		b.WriteString("\n")
	}
	line(head)
	b.WriteString("|")
	for i := range head {
		if i == 0 {
			b.WriteString(":" + strings.Repeat("-", width[i]+1) + "|")
		} else {
			b.WriteString(strings.Repeat("-", width[i]+1) + ":|")
		}
	}
	b.WriteString("\n")
	for _, r := range rows {
		line(r)
	}
	return b.Bytes()
}

// WriteLMMarkdown writes the report.md of the language-model workload:
// the set-up, the table of the heads, notes on reading it, and the
// figures (PNG files of the same directory).
func WriteLMMarkdown(w io.Writer, res *LMResults, figs []Figure, command string) error {
	var b bytes.Buffer
	c, cs := res.Config, res.Corpus
	b.WriteString("# xent lab lm: the fused classifier head on a large vocabulary\n\n")
	if command != "" {
		fmt.Fprintf(&b, "Produced by `%s` in %.0f s.\n\n", command, res.Seconds)
	}
	b.WriteString("## Set-up\n\n")
	fmt.Fprintf(&b, "- Corpus: the Go source under `%s` (no tests, no generated files, no testdata or vendor directories), tokenized with go/scanner (comments dropped, literals as written, line-end semicolons as a newline token): %s training tokens in %s files of %s packages, %s validation tokens in %s files of %s other packages; read and tokenized in %.1f s.\n",
		cs.Root, thousands(cs.TrainTokens), thousands(cs.TrainFiles), thousands(cs.TrainPackages),
		thousands(cs.ValTokens), thousands(cs.ValFiles), thousands(cs.ValPackages), cs.Seconds)
	fmt.Fprintf(&b, "- Vocabulary: %s tokens, `<unk>` and the most frequent of the %s distinct training tokens; `<unk>` is %.1f%% of the training and %.1f%% of the validation tokens.\n",
		thousands(cs.Vocab), thousands(cs.Distinct), pctOf(cs.TrainUnk, cs.TrainTokens), pctOf(cs.ValUnk, cs.ValTokens))
	fmt.Fprintf(&b, "- Model: the embeddings (%d each) of the previous %d tokens → %d ReLU units → the classifier head over the vocabulary; %s parameters. Adam, learning rate %g, %d steps of %d target tokens drawn at random from the training split, seed %d; %d threads.\n",
		c.Embed, c.Context, c.Hidden, thousands(res.Params), c.LR, c.Steps, c.Batch, c.Seed, res.Threads)
	b.WriteString("- Heads, trained from the same initial weights on the same batches, in lockstep (step s of each head in turn, then step s+1):")
	for i, h := range res.Heads {
		sep := ";"
		if i == len(res.Heads)-1 {
			sep = "."
		}
		switch {
		case h.Head.Materialized:
			fmt.Fprintf(&b, " `%s` computes the whole [%d, %s] logits matrix with the same GEMM, the cross-entropy and its gradient with package loss, then two GEMMs%s",
				h.Head.Name, c.Batch, thousands(cs.Vocab), sep)
		case h.Head.FilterEps > 0:
			fmt.Fprintf(&b, " `%s` is the fused head with gradient filtering at %g (tiles of %d tokens × %d classes whose gradient entries are all below it are skipped in the backward products)%s",
				h.Head.Name, h.Head.FilterEps, LMTileRows, LMTileCols, sep)
		default:
			fmt.Fprintf(&b, " `%s` is linear.Head, exact (the logits of a block of tokens at a time, never all of them)%s", h.Head.Name, sep)
		}
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "- Validation: the cross-entropy of %s evenly spaced tokens of the validation packages, computed with the fused head's forward pass, after steps %s; perplexity is its exponential. The unigram model of the training tokens (add-one smoothing) gives the floor for a model that ignores its context.\n",
		thousands(res.ValScored), valSteps(res))
	fmt.Fprintf(&b, "- Environment: %s, %s, kernels: %s.\n\n", res.GoVersion, res.Platform, res.Kernels)

	b.WriteString("## Heads\n\n")
	if err := WriteLMTable(&b, res); err != nil {
		return err
	}
	if res.MaxRSSBytes > 0 {
		fmt.Fprintf(&b, "\nPeak resident memory of the whole process (corpus, three runs, validation): %s.\n", mib(res.MaxRSSBytes))
	}
	b.WriteString(memorySummary(res))
	b.WriteString(filterSummary(res))
	b.WriteString(lmNotes)
	writeLMSamples(&b, res)
	b.WriteString("\n## Figures\n\nEach figure's numbers are in the JSON file of the same name.\n\n")
	for _, f := range figs {
		caption := f.Caption
		if caption == "" {
			caption = f.Title
		}
		fmt.Fprintf(&b, "### %s\n\n![%s](%s.png)\n\n[%s.json](%s.json)\n\n", caption, caption, f.Name, f.Name, f.Name)
	}
	b.WriteString("Every number of the run is in [results.json](results.json).\n")
	_, err := w.Write(b.Bytes())
	return err
}

func pctOf(a, n int) float64 {
	if n == 0 {
		return 0
	}
	return 100 * float64(a) / float64(n)
}

func valSteps(res *LMResults) string {
	if len(res.Heads) == 0 {
		return ""
	}
	var s []string
	for _, p := range res.Heads[0].Val {
		s = append(s, fmt.Sprint(p.Step))
	}
	return strings.Join(s, ", ")
}

const lmNotes = `
## Reading the table

- ms/step is the median wall time of a training step (batch, forward,
  head, backward, Adam on every parameter); head ms/step the median of
  the head's part (logits, loss, gradients of the hidden states and of
  the head's weights and bias). "vs materialized" is the materialized
  head's ms/step divided by the row's (above 1: faster). The runs share
  the machine with whatever else runs on it: compare them within one
  report, and repeat before trusting a difference of a few percent.
- head scratch is the memory the head needs besides its inputs and
  outputs: linear.Stats.ExtraBytes for the fused heads (one block of
  logits, the labels, the bias-gradient accumulators), the [batch, V]
  logits matrix (the gradient is written over it) and the bias-gradient
  accumulator for the materialized head. Both also use the GEMM's
  packing buffers, not counted. The fused head's block holds at most
  about 32 MiB of logits (the whole batch when that is less), so its
  advantage grows with the batch.
- The exact fused head and the materialized head compute the same
  function with the same kernels, in a different order of float32
  additions: their curves agree to rounding. Gradient filtering changes
  the update (the skipped entries count as zero), which shows in its
  curve; it saves time only when most tiles are skipped, because the
  tiles it keeps are multiplied as small separate products. When it
  pays: a large vocabulary (most classes improbable for most tokens), a
  head that dominates the step, and a model whose predictions are
  peaked. When it does not: a small vocabulary or batch (few tiles, the
  head a small part of the step), and predictions spread over many
  classes; the verdict above is this run's.
- Filtering from scratch: at the initial weights every probability is
  near 1/V, below 2⁻¹² for V > 4096, so every tile without a target is
  skipped and the head's weights get no push away from the classes a
  token is not; later the predictions of a trained model spread over
  many classes, and a tile of 32 tokens × 512 classes is skipped only
  when all of them are below the threshold. What filtering costs in
  accuracy and saves in time depends on the model and the stage of
  training; this run starts from random weights.
`

// writeLMSamples writes the generated pieces of Go source, if any.
func writeLMSamples(b *bytes.Buffer, res *LMResults) {
	if len(res.Samples) == 0 {
		return
	}
	fmt.Fprintf(b, "\n## Generated Go\n\nThe exact fused head's model, continuing prompts taken from the validation packages, with package sample's chain `%s` (seed %d; each row of the batch draws from its own stream). The model reads %d tokens of context, so expect local fluency only.\n",
		res.SampleChain, res.Config.Seed, res.Config.Context)
	for i, s := range res.Samples {
		fmt.Fprintf(b, "\n%d. prompt `%s`, %d tokens:\n\n```go\n%s%s\n```\n", i+1, strings.ReplaceAll(s.Prompt, "\n", "⏎"), s.Tokens, s.Prompt, s.Text)
	}
	var sec float64
	var n int
	for _, s := range res.Samples {
		sec += s.SampleSeconds
		n += s.Tokens
	}
	if n > 0 {
		fmt.Fprintf(b, "\nSampling took %.1f µs per token (the chain on the %s logits of each step).\n", 1e6*sec/float64(n), thousands(res.Corpus.Vocab))
	}
}
