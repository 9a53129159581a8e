package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xentlab/xent/data"
	"github.com/xentlab/xent/internal/lab"
)

// tinyLabData replaces MNIST with a small synthetic set of 10 classes
// in 20 features for the duration of a test.
func tinyLabData(t *testing.T) {
	t.Helper()
	gen := func(rows int, seed uint64) data.Set {
		s := data.Set{X: make([]float32, rows*20), Rows: rows, Cols: 20, Y: make([]int32, rows), Classes: 10}
		x := seed
		next := func() float32 { // a small LCG is enough here
			x = x*6364136223846793005 + 1442695040888963407
			return float32(x>>40) / (1 << 24)
		}
		for i := 0; i < rows; i++ {
			y := i % 10
			s.Y[i] = int32(y)
			for j := 0; j < 20; j++ {
				c := float32(0)
				if j%10 == y {
					c = 3
				}
				s.X[i*20+j] = c + next()
			}
		}
		return s
	}
	oldData, oldRender := labData, labRender
	labData = func() (data.Set, data.Set, error) { return gen(600, 1), gen(200, 2), nil }
	if testing.Short() {
		// Drawing the figures takes seconds each under the race
		// detector; package lab tests the drawing.
		labRender = func(f *lab.Figure, path string) error {
			return os.WriteFile(path, []byte("\x89PNG\r\n\x1a\n"), 0o644)
		}
	}
	t.Cleanup(func() { labData, labRender = oldData, oldRender })
}

func tinyLabArgs(out string, extra ...string) []string {
	return append([]string{"lab", "--quiet", "--epochs", "2", "--hidden", "16", "--holdout", "100",
		"--noise", "0,0.4", "--losses", "cross-entropy,not-a-loss-yet", "--out", out}, extra...)
}

func TestLabRun(t *testing.T) {
	tinyLabData(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "rep")
	code, stdout, stderr := runCLI(t, tinyLabArgs(out)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"0% symmetric noise", "40% symmetric noise", "| cross-entropy", "report: " + out} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "warning: skipping loss not-a-loss-yet") || !strings.Contains(stderr, "[1/2] cross-entropy, 0% noise: test acc") {
		t.Errorf("stderr:\n%s", stderr)
	}
	if strings.Contains(stderr, "epoch 1/2") {
		t.Errorf("--quiet printed epoch lines:\n%s", stderr)
	}
	for _, f := range []string{"report.md", "results.json", "accuracy-vs-noise.png", "accuracy-vs-noise.json", "reliability-noise-40.png"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	// The report is not overwritten without --force.
	code, _, stderr = runCLI(t, tinyLabArgs(out)...)
	if code != 1 || !strings.Contains(stderr, "exists") || !strings.Contains(stderr, "--force") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("second run: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = runCLI(t, tinyLabArgs(out, "--force")...)
	if code != 0 {
		t.Errorf("--force: exit %d: %s", code, stderr)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("%d entries beside the report (temporary directories left?)", len(entries))
	}
}

func TestLabLogLines(t *testing.T) {
	tinyLabData(t)
	out := filepath.Join(t.TempDir(), "rep")
	args := tinyLabArgs(out)[2:] // drop "lab", "--quiet"
	code, _, stderr := runCLI(t, append([]string{"lab"}, args...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "[1/2] cross-entropy, 0% noise: epoch 1/2, train loss") {
		t.Errorf("no epoch lines on a non-terminal:\n%s", stderr)
	}
}

func TestLabProgressBar(t *testing.T) {
	tinyLabData(t)
	old := isTerminal
	isTerminal = func(io.Writer) bool { return true }
	defer func() { isTerminal = old }()
	out := filepath.Join(t.TempDir(), "rep")
	args := tinyLabArgs(out)[2:]
	code, _, stderr := runCLI(t, append([]string{"lab"}, args...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Contains(stderr, "epoch 1/2, train loss") || !strings.Contains(stderr, "[2/2] cross-entropy, 40% noise: test acc") {
		t.Errorf("stderr with a progress bar:\n%s", stderr)
	}
}

func TestLabBadFlags(t *testing.T) {
	tinyLabData(t)
	out := filepath.Join(t.TempDir(), "rep")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--noise", "0,1.5"}, "--noise"},
		{[]string{"--noise", "abc"}, "--noise"},
		{[]string{"--noise", ""}, "--noise"},
		{[]string{"--noise", "0.2,0.2"}, "twice"},
		{[]string{"--noise-type", "pairs"}, "--noise-type"},
		{[]string{"--model", "cnn"}, "--model"},
		{[]string{"--optimizer", "lbfgs"}, "--optimizer"},
		{[]string{"--losses", "cross-entropy:q=1"}, "--losses"},
		{[]string{"--losses", ","}, "--losses"},
		{[]string{"--losses", "nope,nada"}, "none of the losses"},
		{[]string{"--epochs", "0"}, "--epochs"},
		{[]string{"--batch", "0"}, "--batch"},
		{[]string{"--hidden", "0"}, "--hidden"},
		{[]string{"--lr", "-1"}, "--lr"},
		{[]string{"--lr", "0"}, "--lr"},
		{[]string{"--weight-decay", "-1"}, "--weight-decay"},
		{[]string{"--optimizer", "sgd", "--momentum", "1"}, "--momentum"},
		{[]string{"--optimizer", "adam", "--momentum", "0.5"}, "--momentum"},
		{[]string{"--threads", "-1"}, "--threads"},
		{[]string{"--jobs", "-1"}, "--jobs"},
		{[]string{"--schedule", "step"}, "--schedule"},
		{[]string{"--holdout", "-1"}, "--holdout"},
		{[]string{"--seed", "x"}, "seed"},
		{[]string{"--epochs"}, "epochs"},
		{[]string{"--bogus"}, "bogus"},
		{[]string{"--out", ""}, "--out"},
	} {
		args := append([]string{"lab", "--out", out}, c.args...)
		code, stdout, stderr := runCLI(t, args...)
		if code != 2 || !strings.Contains(stderr, c.want) || strings.Count(stderr, "\n") != 1 || stdout != "" {
			t.Errorf("%q: exit %d, stderr %q, stdout %q", c.args, code, stderr, stdout)
		}
	}
	// A workload that does not exist.
	code, _, stderr := runCLI(t, "lab", "nope")
	if code != 2 || !strings.Contains(stderr, `unknown lab workload "nope" (workloads: lm)`) || strings.Count(stderr, "\n") != 1 {
		t.Errorf("lab nope: exit %d, %q", code, stderr)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Error("a rejected command line wrote a report")
	}
}

func TestLabHelp(t *testing.T) {
	code, stdout, _ := runCLI(t, "lab", "-h")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, f := range []string{"-seed", "-threads", "-epochs", "-noise", "-noise-type", "-losses", "-model", "-hidden",
		"-optimizer", "-lr", "-batch", "-weight-decay", "-quick", "-quiet", "-out", "-force", "-schedule", "-holdout", "-jobs"} {
		if !strings.Contains(stdout, "\n  -"+f+" ") && !strings.Contains(stdout, "\n  -"+f+"\n") {
			t.Errorf("help lacks %s", f)
		}
	}
}

// lmFixture writes a small corpus of Go packages for "xent lab lm
// --corpus" and stubs the figure renderer under -short.
func lmFixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for p := range 6 {
		var b strings.Builder
		fmt.Fprintf(&b, "package p%d\n\n", p)
		for k := range 8 {
			fmt.Fprintf(&b, "func f%d(a int, b int) int {\n\tx := a + b*%d\n\tif x > %d {\n\t\treturn x - a\n\t}\n\treturn x\n}\n\n", k, k, p)
		}
		sub := filepath.Join(dir, fmt.Sprintf("p%d", p))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sub, "f.go"), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if testing.Short() {
		old := labRender
		labRender = func(f *lab.Figure, path string) error {
			return os.WriteFile(path, []byte("\x89PNG\r\n\x1a\n"), 0o644)
		}
		t.Cleanup(func() { labRender = old })
	}
	return dir
}

func tinyLMArgs(corpus, out string, extra ...string) []string {
	return append([]string{"lab", "lm", "--corpus", corpus, "--vocab", "40", "--context", "3", "--embed", "4", "--hidden", "8",
		"--batch", "16", "--steps", "12", "--val-tokens", "100", "--out", out}, extra...)
}

func TestLabLMRun(t *testing.T) {
	corpus := lmFixture(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "rep")
	code, stdout, stderr := runCLI(t, tinyLMArgs(corpus, out, "--quiet")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"vocabulary 40, batch 16, 12 steps", "| fused ", "| fused, filter 2^-12 ", "| materialized ", "| unigram model ", "report: " + out} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	for _, want := range []string{"corpus " + corpus + ":", "[1/3] fused: val loss", "[2/3] fused, filter 2^-12: val loss", "tiles skipped", "[3/3] materialized: val loss"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "step  3/12") {
		t.Errorf("--quiet printed validation lines:\n%s", stderr)
	}
	for _, f := range []string{"report.md", "results.json", "lm-train-loss.png", "lm-train-loss.json", "lm-val-loss.png", "lm-val-loss.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	code, _, stderr = runCLI(t, tinyLMArgs(corpus, out)...)
	if code != 1 || !strings.Contains(stderr, "--force") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("second run: exit %d, stderr %q", code, stderr)
	}
	// Without --quiet, on a file: a line per validation.
	code, _, stderr = runCLI(t, tinyLMArgs(corpus, out, "--force")...)
	if code != 0 || !strings.Contains(stderr, "[1/3] fused: step  3/12, train loss") {
		t.Errorf("--force: exit %d: %s", code, stderr)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("%d entries beside the report (temporary directories left?)", len(entries))
	}
}

func TestLabLMProgressBar(t *testing.T) {
	corpus := lmFixture(t)
	old := isTerminal
	isTerminal = func(io.Writer) bool { return true }
	defer func() { isTerminal = old }()
	code, _, stderr := runCLI(t, tinyLMArgs(corpus, filepath.Join(t.TempDir(), "rep"))...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Contains(stderr, "step  3/12, train loss") || !strings.Contains(stderr, "[3/3] materialized: val loss") {
		t.Errorf("stderr with a progress bar:\n%s", stderr)
	}
}

func TestLabLMBadFlags(t *testing.T) {
	corpus := lmFixture(t)
	out := filepath.Join(t.TempDir(), "rep")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--vocab", "1"}, "--vocab"},
		{[]string{"--context", "0"}, "--context"},
		{[]string{"--embed", "0"}, "--embed"},
		{[]string{"--hidden", "-3"}, "--hidden"},
		{[]string{"--batch", "0"}, "--batch"},
		{[]string{"--steps", "0"}, "--steps"},
		{[]string{"--lr", "0"}, "--lr"},
		{[]string{"--lr", "-1"}, "--lr"},
		{[]string{"--lr", "NaN"}, "--lr"},
		{[]string{"--filter-eps", "0"}, "--filter-eps"},
		{[]string{"--filter-eps", "-1"}, "--filter-eps"},
		{[]string{"--val-tokens", "-1"}, "--val-tokens"},
		{[]string{"--threads", "-1"}, "--threads"},
		{[]string{"--corpus", ""}, "--corpus"},
		{[]string{"--out", ""}, "--out"},
		{[]string{"--seed", "x"}, "seed"},
		{[]string{"--steps"}, "steps"},
		{[]string{"--bogus"}, "bogus"},
		{[]string{"extra"}, "extra"},
	} {
		args := append([]string{"lab", "lm", "--corpus", corpus, "--out", out}, c.args...)
		code, stdout, stderr := runCLI(t, args...)
		if code != 2 || !strings.Contains(stderr, c.want) || strings.Count(stderr, "\n") != 1 || stdout != "" {
			t.Errorf("%q: exit %d, stderr %q, stdout %q", c.args, code, stderr, stdout)
		}
	}
	// A corpus that is not there fails (exit 1) with one line.
	code, _, stderr := runCLI(t, "lab", "lm", "--corpus", filepath.Join(corpus, "missing"), "--out", out)
	if code != 1 || !strings.Contains(stderr, "missing") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("missing corpus: exit %d, %q", code, stderr)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Error("a rejected command line wrote a report")
	}
}

func TestLabLMHelp(t *testing.T) {
	code, stdout, _ := runCLI(t, "lab", "lm", "-h")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, f := range []string{"-vocab", "-context", "-embed", "-hidden", "-batch", "-steps", "-lr", "-seed", "-threads",
		"-filter-eps", "-val-tokens", "-corpus", "-quick", "-quiet", "-out", "-force"} {
		if !strings.Contains(stdout, "\n  -"+f+" ") && !strings.Contains(stdout, "\n  -"+f+"\n") {
			t.Errorf("help lacks %s", f)
		}
	}
	if !strings.Contains(stdout, "Usage: xent lab lm") {
		t.Errorf("help: %s", stdout)
	}
}

// TestLabOrthoGrad: --orthograd reaches the optimizer (recorded in the
// configuration) and changes the training (the test NLL differs from a
// run without it, same seed).
func TestLabOrthoGrad(t *testing.T) {
	tinyLabData(t)
	dir := t.TempDir()
	run := func(out string, extra ...string) (nll float64, ortho bool) {
		code, _, stderr := runCLI(t, tinyLabArgs(filepath.Join(dir, out), append([]string{"--noise", "0"}, extra...)...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		b, err := os.ReadFile(filepath.Join(dir, out, "results.json"))
		if err != nil {
			t.Fatal(err)
		}
		var res lab.Results
		if err := json.Unmarshal(b, &res); err != nil || len(res.Runs) != 1 {
			t.Fatalf("results: %v, %d runs", err, len(res.Runs))
		}
		return res.Runs[0].Test.NLL, res.Config.Train.Optimizer.OrthoGrad
	}
	nllPlain, o1 := run("plain")
	nllOrtho, o2 := run("ortho", "--orthograd")
	if o1 || !o2 {
		t.Errorf("OrthoGrad recorded as %v without the flag, %v with it", o1, o2)
	}
	if nllPlain == nllOrtho {
		t.Errorf("--orthograd changed nothing (test NLL %v)", nllPlain)
	}
}

// TestLabSettingFlags: every configuration field the lab reports in a
// SettingError maps to a flag that exists, and the error names the flag.
func TestLabSettingFlags(t *testing.T) {
	_, help, _ := runCLI(t, "lab", "-h")
	_, lmHelp, _ := runCLI(t, "lab", "lm", "-h")
	for field, name := range settingFlags {
		if !strings.Contains(help, "\n  --"+name+" ") && !strings.Contains(lmHelp, "\n  --"+name+" ") {
			t.Errorf("%s maps to --%s, which neither workload has", field, name)
		}
		err := labFlagError(fmt.Errorf("wrapped: %w", &lab.SettingError{Field: field, Words: "w", Value: -3, Want: "≥ 0"}))
		if got, want := err.Error(), "--"+name+" -3, want ≥ 0"; got != want {
			t.Errorf("%s: %q, want %q", field, got, want)
		}
	}
	for _, args := range [][]string{{"lab", "--optimizer", "sgd", "--momentum", "1"}, {"lab", "lm", "--filter-eps", "-1"}, {"lab", "--weight-decay", "-1"}} {
		code, _, errs := runCLI(t, args...)
		flag := args[len(args)-2]
		if code != 2 || !strings.Contains(errs, flag+" ") {
			t.Errorf("%v: exit %d, %q; want 2 naming %s", args, code, errs, flag)
		}
	}
}
