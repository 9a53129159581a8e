package main

import (
	"math"
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
