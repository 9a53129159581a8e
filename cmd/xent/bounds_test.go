package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runCLIWithin runs a command line and fails the test if it does not
// return within d.
func runCLIWithin(t *testing.T, d time.Duration, args ...string) (int, string, string) {
	t.Helper()
	type result struct {
		code      int
		out, errs string
	}
	done := make(chan result, 1)
	go func() {
		code, out, errs := runCLI(t, args...)
		done <- result{code, out, errs}
	}()
	select {
	case r := <-done:
		return r.code, r.out, r.errs
	case <-time.After(d):
		t.Fatalf("%v did not return within %v", args, d)
	}
	return 0, "", ""
}

// TestEvalShiftBounds: --shift is checked against the rows, so that no
// value (the largest int included) can index past the targets.
func TestEvalShiftBounds(t *testing.T) {
	dir := t.TempDir()
	h := writeNPY(t, dir, "h.npy", []float32{1, 0, 0, 1, 1, 1}, 3, 2)
	w := writeNPY(t, dir, "w.npy", []float32{1, 0, 0, 1}, 2, 2)
	y := writeNPY(t, dir, "y.npy", []int64{0, 1, 0}, 3)
	base := []string{"eval", "--hidden", h, "--classifier", w, "--targets", y, "--shift"}
	checkErrors(t, []errorCase{
		{append(base, "9223372036854775807"), 2, "--shift"},
		{append(base, "3"), 2, "--shift"},
		{append(base, "-1"), 2, "--shift"},
	})
	if code, _, errs := runCLI(t, append(base, "2")...); code != 0 {
		t.Fatalf("--shift 2: %s", errs)
	}
}

// TestPassKHugeN: the largest --n-samples returns at once.
func TestPassKHugeN(t *testing.T) {
	dir := t.TempDir()
	c := writeNPY(t, dir, "c.npy", []int64{0, 4}, 2)
	code, out, errs := runCLIWithin(t, 20*time.Second, "passk", "--n-samples", "9223372036854775807", "--correct", c, "--k", "1", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	res := decodeJSON(t, out)
	// pass@1 = c/n: (0 + 4/(2⁶³−1))/2.
	if got, want := res["pass@1"].(float64), 2/float64(1<<63-1); math.Abs(got-want) > 1e-12*want {
		t.Errorf("pass@1 = %v, want %v", got, want)
	}
}

// TestSizeFlagsBounded: sizes that would exhaust the memory (or never
// end) are refused at once with one line naming the flag, before any
// allocation.
func TestSizeFlagsBounded(t *testing.T) {
	tinyLabData(t)
	dir := t.TempDir()
	logits := writeNPY(t, dir, "l.npy", []float32{1, 2, 3, 0, 0, 0}, 2, 3)
	labels := writeNPY(t, dir, "y.npy", []int64{2, 0}, 2)
	curve := writeText(t, dir, "c.csv", "n,loss\n1,3\n2,2.5\n4,2.2\n8,2.1\n")
	out := filepath.Join(dir, "rep")
	old := memLimit
	memLimit = 1 << 30 // the same on every machine
	t.Cleanup(func() { memLimit = old })
	cases := []errorCase{
		{[]string{"calibrate", "--logits", logits, "--targets", labels, "--bins", "1000000000"}, 2, "--bins"},
		{[]string{"fit", "--law", "power", "--data", curve, "--bootstrap", "1000000000"}, 2, "--bootstrap"},
		{[]string{"lab", "--quick", "--hidden", "1000000000", "--out", out}, 2, "--hidden"},
		{[]string{"lab", "--quick", "--hidden", "1000000", "--jobs", "4", "--out", out}, 2, "memory"},
		{[]string{"lab", "--quick", "--batch", "1000000000", "--out", out}, 2, "--batch"},
		{[]string{"lab", "--quick", "--threads", "1000000000", "--out", out}, 2, "--threads"},
		{[]string{"lab", "lm", "--quick", "--vocab", "1000000000", "--out", out}, 2, "--vocab"},
		{[]string{"lab", "lm", "--quick", "--vocab", "4000000", "--hidden", "100000", "--out", out}, 2, "memory"},
		{[]string{"eval", "--logits", logits, "--targets", labels, "--threads", "1000000000"}, 2, "--threads"},
		{[]string{"bench", "softmax", "--rows", "100000", "--cols", "10000"}, 2, "memory"},
		{[]string{"bench", "softmax", "--reps", "1000000000"}, 2, "--reps"},
		{[]string{"bench", "linear-ce", "--tokens", "1000000000", "--vocab", "1000000000"}, 2, "memory"},
		{[]string{"bench", "gemm", "--m", "100000", "--n", "10000"}, 2, "memory"},
		{[]string{"bench", "ctc", "--frames", "1000", "--batch", "100"}, 2, "memory"},
		{[]string{"bench", "ce", "--threads", "100000000"}, 2, "--threads"},
	}
	for _, c := range cases {
		code, stdout, stderr := runCLIWithin(t, 30*time.Second, c.args...)
		if code != c.code || !strings.Contains(stderr, c.mention) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || stdout != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d mentioning %q in one line", c.args, code, stdout, stderr, c.code, c.mention)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a refused lab run wrote a report")
	}
}

// TestFitEndlessInput: --data /dev/zero (or any endless stream) is
// refused after a bounded read.
func TestFitEndlessInput(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	code, _, stderr := runCLIWithin(t, 60*time.Second, "fit", "--law", "power", "--data", "/dev/zero")
	if code != 1 || !strings.Contains(stderr, "more than 64 MiB") {
		t.Errorf("exit %d, %q", code, stderr)
	}
}

// TestArrayLargerThanMemory: an .npy input that a command reads whole and
// whose data would not fit in memory is refused from its header, before
// its data is read; xent eval streams its logits, and the fused head its
// hidden states, a block of rows at a time, and evaluates the same file
// within the limit.
func TestArrayLargerThanMemory(t *testing.T) {
	dir := t.TempDir()
	logits := writeNPY(t, dir, "l.npy", make([]float32, 2000*100), 2000, 100)
	labels := writeNPY(t, dir, "y.npy", make([]int64, 2000), 2000)
	classifier := writeNPY(t, dir, "w.npy", make([]float32, 10*100), 10, 100)
	old := memLimit
	memLimit = 512 << 10 // the 800 kB of float32 [2000, 100] do not fit
	t.Cleanup(func() { memLimit = old })
	// The classifier is read whole: [2000, 100] is refused.
	checkErrors(t, []errorCase{{[]string{"eval", "--hidden", logits, "--classifier", logits, "--targets", labels}, 1, "memory"}})
	if code, _, errs := runCLI(t, "eval", "--logits", logits, "--targets", labels); code != 0 {
		t.Errorf("logits streamed under the limit: exit %d, %s", code, errs)
	}
	if code, _, errs := runCLI(t, "eval", "--hidden", logits, "--classifier", classifier, "--targets", labels); code != 0 {
		t.Errorf("hidden states streamed under the limit: exit %d, %s", code, errs)
	}
}

// TestNothingToEvaluate: zero rows, or rows that all carry the ignore
// index, are an error with the same message in every command (a mean
// over no rows is undefined; printing 0 would be a made-up number).
func TestNothingToEvaluate(t *testing.T) {
	dir := t.TempDir()
	logits := writeNPY(t, dir, "l.npy", []float32{1, 2, 3, 0, 0, 0}, 2, 3)
	ignored := writeNPY(t, dir, "y.npy", []int64{-100, -100}, 2)
	empty := writeNPY(t, dir, "e.npy", []float32{}, 0, 3)
	noLabels := writeNPY(t, dir, "e-y.npy", []int64{}, 0)
	h := writeNPY(t, dir, "h.npy", []float32{1, 0, 0, 1}, 2, 2)
	w := writeNPY(t, dir, "w.npy", []float32{1, 0, 0, 1, 1, 1}, 3, 2)
	shifted := writeNPY(t, dir, "ys.npy", []int64{1, -100}, 2)
	checkErrors(t, []errorCase{
		{[]string{"eval", "--logits", logits, "--targets", ignored}, 1, "every row has the ignore index -100"},
		{[]string{"eval", "--logits", logits, "--targets", ignored, "--reduction", "sum"}, 1, "every row has the ignore index -100"},
		{[]string{"calibrate", "--logits", logits, "--targets", ignored}, 1, "every row has the ignore index -100"},
		{[]string{"eval", "--hidden", h, "--classifier", w, "--targets", ignored}, 1, "every row has the ignore index -100"},
		{[]string{"eval", "--hidden", h, "--classifier", w, "--targets", shifted, "--shift", "1"}, 1, "every row has the ignore index -100"},
		{[]string{"eval", "--logits", empty, "--targets", noLabels}, 1, "no rows"},
		{[]string{"eval", "--logits", empty, "--targets", noLabels, "--loss", "bce"}, 1, "no rows"},
		{[]string{"calibrate", "--logits", empty, "--targets", noLabels}, 1, "empty"},
	})
}

// TestFitByteOrderMark: a CSV saved with a UTF-8 byte-order mark (as
// some spreadsheets write it) is read like one without, for every law.
func TestFitByteOrderMark(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ law, text string }{
		{"power", "n,loss\n1,3\n2,2.5\n4,2.2\n8,2.1\n16,2.05\n"},
		{"nmt", "ne,nd,loss\n1,1,3\n2,1,2.6\n1,2,2.5\n2,2,2.2\n4,4,2\n"},
	} {
		plain := writeText(t, dir, c.law+".csv", c.text)
		bom := writeText(t, dir, c.law+"-bom.csv", "\ufeff"+c.text)
		code1, out1, errs1 := runCLI(t, "fit", "--law", c.law, "--data", plain, "--bootstrap", "0", "--json")
		code2, out2, errs2 := runCLI(t, "fit", "--law", c.law, "--data", bom, "--bootstrap", "0", "--json")
		if code1 != 0 || code2 != 0 || out1 != out2 {
			t.Errorf("%s: without the mark exit %d %q %s; with it exit %d %q %s", c.law, code1, out1, errs1, code2, out2, errs2)
		}
	}
}
