package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/xentlab/xent/internal/lab"
)

// isTerminal reports whether w is a terminal (a character device).
var isTerminal = func(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progress shows a lab workload's progress on stderr, the same way for
// every workload: on a terminal one progress bar over all the work (the
// runs in training in its description) with a line above it for every
// finished run; otherwise log lines (per epoch, or per validation); with
// --quiet only the line of every finished run.
type progress struct {
	w      io.Writer
	quiet  bool
	useBar bool
	bar    *progressbar.ProgressBar
	active map[int]string // runs in training, by index: the bar's description
	// sum and n accumulate each run's training losses since its last
	// log line, by run index (xent lab lm).
	sum map[int]float64
	n   map[int]int
}

func newProgress(w io.Writer, quiet bool) *progress {
	return &progress{w: w, quiet: quiet, useBar: !quiet && isTerminal(w),
		active: map[int]string{}, sum: map[int]float64{}, n: map[int]int{}}
}

// start creates the bar over total units of work, once.
func (p *progress) start(total int) {
	if p.bar != nil {
		return
	}
	p.bar = progressbar.NewOptions(total,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	p.describe()
}

// set records what run i is doing and shows it in the bar.
func (p *progress) set(i int, what string) {
	p.active[i] = what
	p.describe()
}

// finish forgets run i and prints its line above the bar.
func (p *progress) finish(i int, line string) {
	delete(p.active, i)
	p.println(line)
	p.describe()
}

// describe sets the bar's description to the runs in training.
func (p *progress) describe() {
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
func (p *progress) println(line string) {
	if p.bar != nil {
		p.bar.Clear()
	}
	fmt.Fprintln(p.w, line)
	if p.bar != nil {
		p.bar.RenderBlank()
	}
}

func (p *progress) close() {
	if p.bar != nil {
		p.bar.Finish()
		p.bar.Clear()
		p.bar = nil
	}
}

func pctText(r float64) string { return strconv.FormatFloat(100*r, 'f', -1, 64) }

func runTag(r lab.RunInfo) string {
	width := len(strconv.Itoa(r.Total))
	return fmt.Sprintf("[%*d/%d] %s, %s%% noise", width, r.Index, r.Total, r.Loss, pctText(r.Noise))
}

// labEvents adapts the progress to the default workload's events.
func (p *progress) labEvents() lab.Events {
	ev := lab.Events{
		Warn: func(msg string) { p.println("xent lab: " + msg) },
		Done: func(r lab.RunInfo, res lab.RunResult) {
			ts := ""
			if res.Scaled != nil {
				ts = fmt.Sprintf(" → %.2f%% after TS (T %.3f)", 100*res.Scaled.ECE, res.Temperature)
			}
			p.finish(r.Index, fmt.Sprintf("%s: test acc %.2f%%, NLL %.4f, ECE %.2f%%%s, %.2f s/epoch",
				runTag(r), 100*res.Test.Accuracy, res.Test.NLL, 100*res.Test.ECE, ts, res.EpochSeconds))
		},
	}
	switch {
	case p.useBar:
		ev.Start = func(r lab.RunInfo) {
			p.set(r.Index, fmt.Sprintf("%d/%d %s %s%%", r.Index, r.Total, r.Loss, pctText(r.Noise)))
		}
		ev.Batch = func(r lab.RunInfo, epoch, batch, batches int) {
			p.start(r.Total * r.Epochs * batches)
			p.bar.Add(1)
		}
		ev.Epoch = func(r lab.RunInfo, s lab.EpochStats) {
			p.set(r.Index, fmt.Sprintf("%d/%d %s %s%% epoch %d: %.2f%%", r.Index, r.Total, r.Loss, pctText(r.Noise), s.Epoch, 100*s.TestAccuracy))
		}
	case !p.quiet:
		ev.Epoch = func(r lab.RunInfo, s lab.EpochStats) {
			fmt.Fprintf(p.w, "%s: epoch %*d/%d, train loss %.4f, test acc %.2f%%, %.2f s\n",
				runTag(r), len(strconv.Itoa(r.Epochs)), s.Epoch, r.Epochs, s.TrainLoss, 100*s.TestAccuracy, s.Seconds)
		}
	}
	return ev
}

func lmTag(r lab.LMRunInfo) string {
	return fmt.Sprintf("[%d/%d] %s", r.Index, r.Total, r.Head.Name)
}

// lmEvents adapts the progress to xent lab lm's events.
func (p *progress) lmEvents() lab.LMEvents {
	ev := lab.LMEvents{
		Done: func(r lab.LMRunInfo, res lab.LMHeadResult) {
			skipped := ""
			if res.Head.FilterEps > 0 && res.Tiles > 0 {
				skipped = fmt.Sprintf(", %.1f%% of the gradient tiles skipped", 100*float64(res.SkippedTiles)/float64(res.Tiles))
			}
			p.finish(r.Index, fmt.Sprintf("%s: val loss %.4f (perplexity %.2f), %.1f ms/step (head %.1f ms), head scratch %.1f MiB%s",
				lmTag(r), res.ValLoss, res.ValPerplexity, 1e3*res.StepSeconds, 1e3*res.HeadSeconds, float64(res.ScratchBytes)/(1<<20), skipped))
		},
	}
	switch {
	case p.useBar:
		ev.Step = func(r lab.LMRunInfo, step int, loss float64) {
			p.start(r.Total * r.Steps)
			p.set(r.Index, fmt.Sprintf("%d/%d %s: step %d, loss %.3f", r.Index, r.Total, r.Head.Name, step, loss))
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
