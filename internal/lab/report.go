package lab

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/xentlab/xent/internal/atomicfile"
)

// ErrExists is wrapped by the error for an output directory that exists
// and may not be replaced.
var ErrExists = errors.New("output exists")

// ReportFile is the name of the report's Markdown file, the mark by
// which a directory is recognised as a report that --force may replace.
const ReportFile = "report.md"

// ReportOptions configures WriteReport.
type ReportOptions struct {
	// Force replaces an existing report (a directory holding report.md)
	// or an empty directory. Any other existing path is never replaced.
	Force bool
	// Command is the command line that produced the results, quoted in
	// the report.
	Command string
	// Render draws a figure into a PNG file; nil means Figure.SavePNG.
	Render func(f *Figure, path string) error
}

// CheckOutput reports whether a report may be written to dir: dir must
// not exist or, with force, be an earlier report or an empty directory.
// Call it before a long run, so that it fails early; WriteReport checks
// again.
func CheckOutput(dir string, force bool) error {
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		parent := filepath.Dir(dir)
		if pst, err := os.Stat(parent); err != nil || !pst.IsDir() {
			return fmt.Errorf("output %s: parent directory %s does not exist", dir, parent)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("output %s: %w", dir, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("output %s: %w and is not a directory", dir, ErrExists)
	}
	if !force {
		return fmt.Errorf("output %s: %w (use --force to replace it)", dir, ErrExists)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("output %s: %w", dir, err)
	}
	if len(entries) == 0 {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, ReportFile)); err != nil {
		return fmt.Errorf("output %s: %w and holds no %s: not replacing a directory that is not a lab report", dir, ErrExists, ReportFile)
	}
	return nil
}

// WriteReport writes the report of res into the directory dir: report.md
// with the tables and the embedded figures, NAME.png and NAME.json for
// every figure, and results.json with every number of the run. The files
// are written into a temporary directory beside dir, which is renamed to
// dir only when all of them are complete, so dir is never a half-written
// report; an existing dir is replaced only as CheckOutput allows.
func WriteReport(dir string, res *Results, opt ReportOptions) error {
	return WriteDir(dir, opt.Force, func(tmp string) error {
		figs := Figures(res)
		if err := WriteFigures(tmp, figs, opt.Render); err != nil {
			return err
		}
		if err := writeFile(filepath.Join(tmp, "results.json"), jsonWriter(res)); err != nil {
			return err
		}
		return writeFile(filepath.Join(tmp, ReportFile), func(w io.Writer) error {
			return WriteMarkdown(w, res, figs, opt.Command)
		})
	})
}

// WriteDir writes a report directory atomically, for any workload: fill
// writes the files into a temporary directory beside dir (and must write
// ReportFile, the mark of a report), which is renamed to dir only when
// fill succeeds; otherwise it is removed and dir is untouched. An
// existing dir is replaced only as CheckOutput allows.
func WriteDir(dir string, force bool, fill func(tmp string) error) (err error) {
	dir = filepath.Clean(dir)
	if err := CheckOutput(dir, force); err != nil {
		return err
	}
	// Temporaries of writers that were killed go first.
	atomicfile.CleanStale(dir)
	tmp := atomicfile.TempName(dir)
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return fmt.Errorf("output %s: %w", dir, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := fill(tmp); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(tmp, ReportFile)); err != nil {
		return fmt.Errorf("output %s: the report has no %s", dir, ReportFile)
	}
	if err := beforeRename(tmp); err != nil {
		return err
	}
	return replaceDir(tmp, dir)
}

// WriteFigures writes every figure into dir as NAME.png, drawn by render
// (nil: Figure.SavePNG), and NAME.json, its data.
func WriteFigures(dir string, figs []Figure, render func(f *Figure, path string) error) error {
	if render == nil {
		render = (*Figure).SavePNG
	}
	for i := range figs {
		f := &figs[i]
		if err := render(f, filepath.Join(dir, f.Name+".png")); err != nil {
			return fmt.Errorf("figure %s: %w", f.Name, err)
		}
		if err := writeFile(filepath.Join(dir, f.Name+".json"), jsonWriter(f)); err != nil {
			return fmt.Errorf("figure %s: %w", f.Name, err)
		}
	}
	return nil
}

// beforeRename runs after the report is complete in its temporary
// directory, before it is renamed into place (a seam for tests).
var beforeRename = func(tmp string) error { return nil }

// replaceDir renames the complete directory tmp to dir, moving an
// existing dir aside first and removing it after.
func replaceDir(tmp, dir string) error {
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.Rename(tmp, dir); err != nil {
			return fmt.Errorf("output %s: %w", dir, err)
		}
		return nil
	}
	old := atomicfile.OldName(dir)
	if err := os.Rename(dir, old); err != nil {
		return fmt.Errorf("output %s: moving the old report aside: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if rerr := os.Rename(old, dir); rerr != nil {
			return fmt.Errorf("output %s: %w (and the old report could not be restored from %s: %v)", dir, err, old, rerr)
		}
		return fmt.Errorf("output %s: %w", dir, err)
	}
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("output %s: written, but the old report in %s could not be removed: %w", dir, old, err)
	}
	return nil
}

// writeFile creates path, fills it, and syncs it.
func writeFile(path string, fill func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	if err := fill(bw); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func jsonWriter(v any) func(io.Writer) error {
	return func(w io.Writer) error {
		e := json.NewEncoder(w)
		e.SetIndent("", "  ")
		return e.Encode(v)
	}
}

// padRange returns the range of the series' y values widened by the
// fractions below and above of its span (nil for no finite value).
func padRange(series []Series, below, above float64) *[2]float64 {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range series {
		for _, y := range s.Y {
			if !math.IsNaN(y) && !math.IsInf(y, 0) {
				lo, hi = math.Min(lo, y), math.Max(hi, y)
			}
		}
	}
	if lo > hi {
		return nil
	}
	span := hi - lo
	if span == 0 {
		span = math.Max(math.Abs(hi)*0.01, 1e-3)
	}
	return &[2]float64{lo - below*span, hi + above*span}
}

// fileTag makes a loss's text safe in a file name: "gce:q=0.7" →
// "gce_q-0.7".
func fileTag(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.':
			return r
		case r == '=':
			return '-'
		}
		return '_'
	}, s)
}

// rateTag formats a noise rate for file names: 0.2 → "20".
func rateTag(r float64) string {
	return strconv.FormatFloat(100*r, 'f', -1, 64)
}

// Figures returns the figures of a report on res: test accuracy and ECE
// against the noise rate, and for every rate the learning curves (test
// accuracy after each epoch) and the reliability diagrams of the losses.
func Figures(res *Results) []Figure {
	losses := res.Losses()
	noiseName := res.Noise + " label noise rate (%)"
	acc := Figure{Name: "accuracy-vs-noise", Title: "Test accuracy under " + res.Noise + " label noise",
		XLabel: noiseName, YLabel: "clean test accuracy (%)", Legend: "bottom-left"}
	ece := Figure{Name: "ece-vs-noise", Title: "Calibration error under " + res.Noise + " label noise",
		XLabel: noiseName, YLabel: fmt.Sprintf("ECE, %d bins (%%)", res.Config.Bins), Legend: "top-left"}
	for _, l := range losses {
		var a, e Series
		a.Name, e.Name = l, l
		for _, r := range res.Config.Noise {
			if run, ok := res.Find(l, r); ok {
				a.X, a.Y = append(a.X, 100*r), append(a.Y, 100*run.Test.Accuracy)
				e.X, e.Y = append(e.X, 100*r), append(e.Y, 100*run.Test.ECE)
			}
		}
		acc.Series, ece.Series = append(acc.Series, a), append(ece.Series, e)
	}
	acc.YRange = padRange(acc.Series, 0.7, 0.05) // room for the legend below
	figs := []Figure{acc, ece}
	unit := [2]float64{0, 1}
	for _, r := range res.Config.Noise {
		tag := rateTag(r)
		curves := Figure{Name: "learning-curves-noise-" + tag,
			Title:  fmt.Sprintf("Learning curves, %s%% %s noise", tag, res.Noise),
			XLabel: "epoch", YLabel: "clean test accuracy (%)", Legend: "bottom-right"}
		rel := Figure{Name: "reliability-noise-" + tag,
			Title:  fmt.Sprintf("Reliability diagram, %s%% %s noise (marker area: examples in the bin)", tag, res.Noise),
			XLabel: "confidence (mean of bin)", YLabel: "accuracy of bin", Diagonal: true, XRange: &unit, YRange: &unit,
			Legend: "bottom-right"}
		var recal []Figure
		for _, l := range losses {
			run, ok := res.Find(l, r)
			if !ok {
				continue
			}
			c := Series{Name: l}
			for _, s := range run.Curve {
				c.X, c.Y = append(c.X, float64(s.Epoch)), append(c.Y, 100*s.TestAccuracy)
			}
			curves.Series = append(curves.Series, c)
			d := Series{Name: l}
			for _, b := range run.Test.Reliability {
				if b.Count > 0 {
					d.X, d.Y, d.Counts = append(d.X, b.Conf), append(d.Y, b.Acc), append(d.Counts, b.Count)
				}
			}
			rel.Series = append(rel.Series, d)
			if run.Scaled != nil {
				recal = append(recal, Figure{Name: "recalibration-" + fileTag(l) + "-noise-" + tag, Kind: "recalibration",
					Title:   fmt.Sprintf("temperature scaling, T = %.3f", run.Temperature),
					Caption: fmt.Sprintf("%s, %s%% %s noise: reliability before and after temperature scaling", l, tag, res.Noise),
					Series:  []Series{{Name: "before", Bins: run.Test.Reliability}, {Name: "after", Bins: run.Scaled.Reliability}}})
			}
		}
		curves.YRange = padRange(curves.Series, 0.7, 0.05)
		figs = append(figs, curves, rel)
		figs = append(figs, recal...)
	}
	return figs
}

// WriteTable writes the results at one noise rate as a Markdown table:
// test accuracy, NLL, ECE, ECE after temperature scaling with T, and the
// wall time of an epoch.
func WriteTable(w io.Writer, res *Results, noise float64) error {
	head := []string{"loss", "test acc", "NLL", "ECE", "ECE after TS", "T", "s/epoch"}
	rows := [][]string{}
	for _, l := range res.Losses() {
		run, ok := res.Find(l, noise)
		if !ok {
			continue
		}
		ts, t := "–", "–"
		if run.Scaled != nil {
			ts, t = pct(run.Scaled.ECE), fmt.Sprintf("%.3f", run.Temperature)
		}
		rows = append(rows, []string{l, pct(run.Test.Accuracy), fmt.Sprintf("%.4f", run.Test.NLL), pct(run.Test.ECE),
			ts, t, fmt.Sprintf("%.2f", run.EpochSeconds)})
	}
	_, err := w.Write(markdownTable(head, rows))
	return err
}

func pct(x float64) string { return fmt.Sprintf("%.2f%%", 100*x) }

// thousands writes n with a space between groups of three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + " " + s[i:]
	}
	return s
}

// Best returns the loss with the highest test accuracy at a noise rate
// and its margin in points over cross-entropy (ok is false when
// cross-entropy or no other loss ran at that rate).
func Best(res *Results, noise float64) (name string, acc, gain float64, ok bool) {
	ce, haveCE := res.Find("cross-entropy", noise)
	acc = -1
	for _, l := range res.Losses() {
		if l == "cross-entropy" {
			continue
		}
		if run, found := res.Find(l, noise); found && run.Test.Accuracy > acc {
			name, acc = l, run.Test.Accuracy
		}
	}
	if !haveCE || name == "" {
		return name, acc, 0, false
	}
	return name, acc, 100 * (acc - ce.Test.Accuracy), true
}

// WriteMarkdown writes report.md: the set-up, a table per noise rate,
// and the figures (as PNG files of the same directory).
func WriteMarkdown(w io.Writer, res *Results, figs []Figure, command string) error {
	var b bytes.Buffer
	c := res.Config
	fmt.Fprintf(&b, "# xent lab: losses under label noise on %s\n\n", c.Dataset)
	if command != "" {
		fmt.Fprintf(&b, "Produced by `%s` in %.0f s.\n\n", command, res.Seconds)
	}
	fmt.Fprintf(&b, "## Set-up\n\n")
	t := c.Train
	model := fmt.Sprintf("softmax regression (%d→%d)", res.Features, res.Classes)
	if t.Model == "mlp" {
		model = fmt.Sprintf("MLP %d→%d→%d with ReLU", res.Features, t.Hidden, res.Classes)
	}
	opt := t.Optimizer.Name
	if opt == "sgd" {
		opt = fmt.Sprintf("SGD with momentum %g", t.Optimizer.Momentum)
	} else {
		opt = "Adam"
	}
	sched := ""
	if t.Schedule == "cosine" {
		sched = ", cosine schedule"
	}
	fmt.Fprintf(&b, "- Model: %s, trained with %s (learning rate %g%s, weight decay %g) in batches of %d for %d epochs, seed %d; %d threads, %d runs at once.\n",
		model, opt, t.Optimizer.LR, sched, t.Optimizer.WeightDecay, t.Batch, t.Epochs, t.Seed, res.Threads, res.Jobs)
	fmt.Fprintf(&b, "- Data: %s training images with noisy labels; %s more, with their noisy labels, held out to fit temperature scaling (TS); evaluation on %s clean test images.\n",
		thousands(res.TrainRows), thousands(res.HoldoutRows), thousands(res.TestRows))
	switch c.NoiseType {
	case Symmetric:
		fmt.Fprintf(&b, "- Noise: symmetric — at rate r, exactly r·n labels chosen at random are changed to one of the other classes, uniformly.\n")
	case Asymmetric:
		fmt.Fprintf(&b, "- Noise: asymmetric — at rate r, exactly r·n_c labels of each source class c are flipped to its pair (%s); other classes are clean.\n", pairsText(c.Pairs))
	}
	fmt.Fprintf(&b, "- Metrics: top-1 accuracy, mean negative log-likelihood (NLL), expected calibration error (ECE) with %d equal-width bins, before and after dividing the logits by the temperature T fitted on the held-out slice; s/epoch is the wall time of an epoch's training steps (with the other runs training at the same time).\n", c.Bins)
	fmt.Fprintf(&b, "- Losses: %s (registry names with parameters; defaults from `xent losses`).\n", strings.Join(quoteAll(res.Losses()), ", "))
	for _, l := range res.Losses() {
		if run, ok := res.Find(l, c.Noise[0]); ok && run.Effective != "" && run.Effective != l {
			fmt.Fprintf(&b, "- `%s` ran as `%s` (the lab's settings for training on labels).\n", l, run.Effective)
		}
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(&b, "- Skipped: `%s` — %s.\n", s.Loss, s.Reason)
	}
	fmt.Fprintf(&b, "- Environment: %s, %s, kernels: %s.\n\n", res.GoVersion, res.Platform, res.Kernels)

	b.WriteString("## Summary\n\n")
	for _, r := range c.Noise {
		fmt.Fprintf(&b, "- %s%% noise:", rateTag(r))
		if ce, ok := res.Find("cross-entropy", r); ok {
			fmt.Fprintf(&b, " cross-entropy %s;", pct(ce.Test.Accuracy))
		}
		if name, acc, gain, ok := Best(res, r); ok {
			fmt.Fprintf(&b, " best other loss `%s` %s (%+.2f points).\n", name, pct(acc), gain)
		} else if name != "" {
			fmt.Fprintf(&b, " best `%s` %s.\n", name, pct(acc))
		} else {
			b.WriteString("\n")
		}
	}
	b.WriteString("\n")
	for _, r := range c.Noise {
		fmt.Fprintf(&b, "## %s%% %s noise\n\n", rateTag(r), res.Noise)
		if err := WriteTable(&b, res, r); err != nil {
			return err
		}
		if name, acc, gain, ok := Best(res, r); ok {
			fmt.Fprintf(&b, "\nBest other than cross-entropy: `%s`, %s (%+.2f points over cross-entropy).\n", name, pct(acc), gain)
		}
		b.WriteString("\n")
	}
	b.WriteString("## Figures\n\n")
	b.WriteString("Each figure's numbers are in the JSON file of the same name.\n\n")
	for _, f := range figs {
		caption := f.Caption
		if caption == "" {
			caption = f.Title
		}
		fmt.Fprintf(&b, "### %s\n\n![%s](%s.png)\n\n[%s.json](%s.json)\n\n", caption, caption, f.Name, f.Name, f.Name)
	}
	b.WriteString(readingNotes)
	b.WriteString("\nEvery number of the run is in [results.json](results.json).\n")
	_, err := w.Write(b.Bytes())
	return err
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = "`" + x + "`"
	}
	return out
}

func pairsText(p map[int32]int32) string {
	if p == nil {
		p = MNISTPairs
	}
	src := make([]int, 0, len(p))
	for s := range p {
		src = append(src, int(s))
	}
	sort.Ints(src)
	parts := make([]string, len(src))
	for i, s := range src {
		parts[i] = fmt.Sprintf("%d→%d", s, p[int32(s)])
	}
	return strings.Join(parts, ", ")
}

// readingNotes explains what the calibration numbers mean under label
// noise.
const readingNotes = `## Reading the calibration numbers

ECE is measured on the clean test labels. A model trained with
cross-entropy on labels of which a fraction r is wrong learns the noisy
label distribution, so on clean data it is underconfident: its
confidence tracks the chance that a noisy label agrees with it, about
1 − r, while its accuracy on clean labels is higher. That shows as a
large ECE with the reliability curve above the diagonal. Temperature
scaling fitted on the held-out noisy labels calibrates the model to
those noisy labels (T rises for the robust losses, whose confident
predictions disagree with r of the held-out labels), which is the right
map for noisy test labels and the wrong one for clean ones: ECE after
TS is the calibration a practitioner would get without clean data.
`
